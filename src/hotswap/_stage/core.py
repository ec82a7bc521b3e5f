"""What staging produces, and the `Stage` that runs statements in a staging namespace.

The staging namespace is a shallow copy of the module's globals: changed statements see
the live values of everything that did not change, and their results land in the copy.
Definitions are compiled with their decorators swapped for a *taker*: a hook that records
the plain function compiled from the new source and hands the decorators (if they are
re-run) the live function that will receive its code, so that whatever the decorators
build wraps the one canonical function object. Nothing live is modified here but the
functions handed to decorators (`Handed`, given back on failure); the result (`Staged`)
is plain data for the planner.
"""

from __future__ import annotations

import ast
import builtins
import copy
import types
import weakref
from collections.abc import Callable
from typing import Any

from .._plain import dataclass, field
from .. import _derive
from .._inputs import Inputs
from .._diff import Change, Definition, Kind, Stmt, annotated, dump
from .._names import reads
from .._patch.functions import clone, find_raw, incompatibility, lambdas_in, role_of
from .._patch.lines import at_current_lines
from .._patch.slots import SlotChange
from .._registries import Delta, Removed, Watch, Withdraw, may_register

FunctionType = types.FunctionType
Def = ast.FunctionDef | ast.AsyncFunctionDef
_ABSENT: Any = object()  # an attribute a function did not have
# The stagings still alive: the one running, and earlier ones the collector has not freed
# yet (a staging namespace is a cycle: its takers close over their `Stage`). See `records`.
_ALIVE: list[weakref.ref[Stage]] = []


@dataclass
class FunctionPatch:
    """A live function that takes the code (and defaults) of a freshly compiled one."""

    live: FunctionType
    new: FunctionType
    name: str
    holder: Any = None  # what the name is bound to, when decorated (to clear caches)
    layout: bool = False  # same code at other lines: only line numbers move


@dataclass
class ClassEdit:
    """Entries to set and delete in one live class, which keeps its identity."""

    cls: type
    name: str
    set: dict[str, Any] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)
    bases: tuple[type, ...] | None = None
    cells: list[types.CellType] = field(default_factory=list)  # __class__ cells to aim at cls
    rebuilt: bool = False
    enum_source: type | None = None  # a rebuilt enum whose members move into cls
    fill: dict[str, Any] = field(default_factory=dict)  # new dataclass fields: default or factory
    drop: list[str] = field(default_factory=list)  # fields removed (hotswap._derive)
    slots: SlotChange | None = None  # slots removed or given back, in the live layout


@dataclass
class Replacement:
    """A class that cannot take its new version in place: the new class takes over."""

    live: type
    new: type
    name: str
    reason: str
    movable: bool = True  # False: old instances must stay with the old class


@dataclass
class ForReport:
    """What staging has to say in the report: it changes nothing by itself."""

    rerun: list[str] = field(default_factory=list)  # statements run again, by line
    redecorated: list[str] = field(default_factory=list)  # defs whose decorators ran again
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, why left old)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # derived statements not run again
    refreshed: int = 0  # unchanged statements run again: they read a rebound name
    # unchanged statements the whole-module fallback ran again, only to compute the others
    again: list[str] = field(default_factory=list)


@dataclass
class Handed:
    """Live functions handed to decorators that ran again, with their state before: the
    one thing staging changes on live objects, given back if the update fails or is
    undone (a decorator may set attributes on them, or fail half-way through doing so)."""

    # each function with its attributes before (after `settle`: only those changed)
    functions: list[tuple[FunctionType, dict[str, Any]]] = field(default_factory=list)
    # their annotations before: decorators read the new ones (singledispatch's register)
    annotations: list[tuple[FunctionType, dict[str, Any]]] = field(default_factory=list)

    def settle(self) -> None:
        """Staging is over: keep, of each handed function's attributes, only those the
        decorators set or removed, so that undoing later leaves the program's own later
        changes (``f.calls = 3``) alone."""
        self.functions = [(fn, {k: before.get(k, _ABSENT) for k in {*before, *fn.__dict__}
                                if fn.__dict__.get(k, _ABSENT) is not before.get(k, _ABSENT)})
                          for fn, before in self.functions]

    def restore(self) -> None:
        """Give the live functions handed to decorators their attributes back: the update
        failed (or is undone), and a failed update leaves every object as it was."""
        for fn, attrs in reversed(self.functions):
            for key, value in attrs.items():
                if value is _ABSENT:
                    fn.__dict__.pop(key, None)
                else:
                    fn.__dict__[key] = value
        for fn, annots in reversed(self.annotations):
            fn.__annotations__ = annots


@dataclass
class Staged:
    """Everything the new source produced, ready to be planned: the changes to plan, what
    the report is to say (`for_report`) and the state staging lent out (`handed`)."""

    # the staging namespace, and the live object (by id) each staged one stands for
    namespace: dict[str, Any]
    canonical: dict[int, Any] = field(default_factory=dict)
    keep: list[Any] = field(default_factory=list)  # keeps ids in `canonical` meaningful
    made: list[type] = field(default_factory=list)  # new classes staging created
    # the changes to plan
    patches: list[FunctionPatch] = field(default_factory=list)
    classes: list[ClassEdit] = field(default_factory=list)
    replacements: list[Replacement] = field(default_factory=list)
    moved: list[tuple[int, int, int]] = field(default_factory=list)  # live lines, delta
    bound: list[str] = field(default_factory=list)  # module names to bind, in order
    # registrations and derived state
    # what re-run definitions registered in live containers (put back; see _registries)
    registrations: list[Delta] = field(default_factory=list)
    withdrawals: list[Withdraw] = field(default_factory=list)  # of removed definitions
    clear_caches: list[Callable[[], Any]] = field(default_factory=list)
    # unchanged statements deriving from a definition whose shape changed (see _readers):
    # (code to run again once it applies, the statement's label, the name it reads, the
    # names it binds that a later statement deletes)
    derived: list[tuple[types.CodeType, str, str, frozenset[str]]] = field(
        default_factory=list)
    # defs whose decorators ran again (hotswap._derive: their registrations are remade)
    rederived: list[_derive.Rederived] = field(default_factory=list)
    for_report: ForReport = field(default_factory=ForReport)
    handed: Handed = field(default_factory=Handed)

    def restore(self) -> None:
        """Give back what staging lent out (see `Handed.restore`)."""
        self.handed.restore()


def records() -> list[Any]:
    """The containers in which stagings still alive keep what they made: their namespaces,
    the lists and tables of their `Staged`, the attributes of their class edits and
    replacements. They hold the classes an update replaces, and the heap walk finds them,
    but they are hotswap's and never holders to rewrite: rewritten, one would join the
    update's undo log, which keeps what it rewrote alive, to be found and rewritten by the
    next update in turn (repeated class replacements made each update slower and kept
    every old class alive). Never a module's own globals (`Stage.live`)."""
    out: list[Any] = []
    for ref in list(_ALIVE):
        stage = ref()
        if stage is None:
            continue
        staged = stage.out
        out += [stage.ns, stage.rebuilt, *vars(staged).values()]
        out += (vars(r) for r in [*staged.replacements, *staged.classes])
    return [r for r in out if type(r) in (list, dict, set)]


def is_docstring(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def same_header(old: ast.ClassDef, new: ast.ClassDef) -> bool:
    return (dump(old.bases) == dump(new.bases) and dump(old.keywords) == dump(new.keywords)
            and dump(old.decorator_list) == dump(new.decorator_list))


def _with_location(node: ast.expr, at: ast.AST) -> ast.expr:
    for attr in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
        setattr(node, attr, getattr(at, attr))
    return node


class Stage:
    """One update's staging: the namespace copy and the takers that compile definitions."""

    def __init__(self, module: types.ModuleType, filename: str, flags: int,
                 reannotated: bool = False) -> None:
        self.module = module
        self.modname = module.__name__
        self.live: dict[str, Any] = module.__dict__
        self.ns: dict[str, Any] = dict(self.live)
        if isinstance(self.ns.get("__annotations__"), dict):
            self.ns["__annotations__"] = dict(self.ns["__annotations__"])
        self.filename = filename
        self.flags = flags
        # the ``annotations`` future import came or went: class bodies are paired so that
        # their annotated statements changed too (see `_diff.pair`)
        self.reannotated = reannotated
        self.out = Staged(self.ns)
        self._slots = 0
        self.dirty: set[str] = set()  # names rebound by this update (they refresh readers)
        self.rebuilt: dict[str, type] = {}  # module-level classes rebuilt: their new version
        self.watch = Watch(self.live)
        self.removed: list[Removed] = []  # registering definitions gone from the source
        # what makes the module names a statement reads right (see _inputs), and the
        # module-level statement being staged
        self.inputs: Inputs | None = None
        self.current: Stmt | None = None
        self.lent: list[Callable[[], None]] = []  # give live functions their shape back
        _ALIVE[:] = [ref for ref in _ALIVE if ref() is not None]
        _ALIVE.append(weakref.ref(self))

    def give_back(self) -> None:
        """The decorators have run: the live functions lent the new shape (signature,
        docstring) to read lose it until the update applies (see _derive.lend_shape)."""
        while self.lent:
            self.lent.pop()()

    # -- compiling and running -----------------------------------------------------------

    def compile(self, nodes: list[ast.stmt]) -> types.CodeType:
        tree = ast.Module(body=nodes, type_ignores=[])
        ast.fix_missing_locations(tree)
        return compile(tree, self.filename, "exec", flags=self.flags, dont_inherit=True)

    def run(self, nodes: list[ast.stmt]) -> None:
        self.watch.before_running(nodes)
        exec(self.compile(nodes), self.ns)

    def taker(self, handle: Callable[[FunctionType], Any]) -> str:
        """A unique decorator name whose call hands the plain function to `handle`."""
        self._slots += 1
        name = f"__hotswap_take_{self._slots}__"
        self.ns[name] = handle
        return name

    def decorate(self, node: ast.FunctionDef | ast.AsyncFunctionDef,
                 handle: Callable[[FunctionType], Any], keep: bool) -> ast.stmt:
        """`node` with a taker innermost; its own decorators kept only if `keep`.

        Without its decorators a def still compiles to the same code: the taker sits on
        the first decorator's line, so even ``co_firstlineno`` matches a fresh import.
        """
        new = copy.copy(node)
        decos = list(node.decorator_list)
        at = (decos[-1] if keep else decos[0]) if decos else node
        taker = _with_location(ast.Name(id=self.taker(handle), ctx=ast.Load()), at)
        new.decorator_list = (decos if keep else []) + [taker]
        return new

    # -- bookkeeping --------------------------------------------------------------------

    def patch(self, live: FunctionType, new: FunctionType, name: str, holder: Any = None,
              layout: bool = False) -> None:
        self.out.patches.append(FunctionPatch(live, new, name, holder, layout))
        self.out.canonical[id(new)] = live
        self.out.keep.append(new)

    def own(self, fn: Any) -> bool:
        return isinstance(fn, FunctionType) and fn.__globals__ is self.live

    def live_raw(self, holder: Any, qualname: str, role: str | None) -> FunctionType | None:
        if holder is None:
            return None
        fn = find_raw(holder, qualname, role)
        return fn if self.own(fn) else None

    def substitute(self, raw_live: FunctionType | None, name: str
                   ) -> Callable[[FunctionType], Any]:
        """Taker for re-run decorators: they get the canonical function, over live globals."""
        def handle(fn: FunctionType) -> Any:
            if raw_live is not None and incompatibility(raw_live, fn.__code__) is None:
                self.patch(raw_live, fn, name)
                self.out.handed.functions.append((raw_live, dict(raw_live.__dict__)))
                # The mark abc.abstractmethod left: the new decorators set it again if
                # they still include it (a method made concrete must not stay abstract).
                raw_live.__dict__.pop("__isabstractmethod__", None)
                if raw_live.__annotations__ != fn.__annotations__:
                    self.out.handed.annotations.append((raw_live, raw_live.__annotations__))
                    raw_live.__annotations__ = fn.__annotations__
                self.lent.append(_derive.lend_shape(raw_live, fn))  # until it has run
                return raw_live
            moved = clone(fn, self.live)
            self.out.canonical[id(fn)] = moved
            self.out.keep.append(fn)
            return moved
        return handle

    def pair_lambdas(self, change: Change) -> None:
        """Old lambdas of a rewritten statement take the code of the new ones."""
        assert change.old is not None
        names = sorted(change.new.names)
        olds = [f for n in names if n in self.live for f in lambdas_in(self.live[n], self.live)]
        news = [f for n in names if n in self.ns for f in lambdas_in(self.ns[n], self.ns)]
        if len(olds) != len(news):
            return
        for old, new in zip(olds, news, strict=True):
            if incompatibility(old, new.__code__) is None:
                self.patch(old, new, f"{names[0]}.<lambda>")

    def note_removed(self, removed: list[Stmt], changes: list[Change], final: set[str],
                     shared: set[str], bound: Callable[[str], Any], prefix: str = "",
                     offset: int = 0) -> None:
        """Note the registering definitions (classes, decorated defs) of a body that are gone
        from the source: removed, or turned into another kind of statement. `bound` gives
        what a name is bound to now; `prefix` makes qualified names; the statements' live
        code stands `offset` lines from their old source."""
        olds = removed + [c.old for c in changes if c.old is not None
                          and c.old.definition not in (None, c.new.definition)]
        for stmt in olds:
            definition = stmt.definition
            if definition is None or (definition.name in final
                                      and definition.name not in shared) \
                    or not may_register(stmt.nodes):
                continue
            qualname = prefix + definition.name
            value = None if definition.name in shared else bound(definition.name)
            objects: list[Any] = []
            node = stmt.nodes[0]
            if isinstance(node, ast.ClassDef):
                if getattr(value, "__qualname__", None) == qualname and \
                        getattr(value, "__module__", None) == self.modname:
                    objects.append(value)
            elif value is not None and isinstance(node, (ast.FunctionDef,
                                                         ast.AsyncFunctionDef)):
                raw = self.live_raw(value, qualname, role_of(node.decorator_list))
                objects.extend(o for o in (value, raw) if o is not None)
            self.removed.append(Removed(node, objects, qualname, stmt.start + 1 + offset,
                                        stmt.end + offset, self.live))

    # -- definitions ----------------------------------------------------------------------

    def function(self, change: Change, node: Def, holder: Any, qualname: str,
                 body: list[ast.stmt], code_of: Callable[[ast.stmt], types.CodeType | None],
                 line: int | None = None) -> None:
        """Stage a def (module level or in a class body being staged): append to `body` the
        form to run. Running it leaves under the def's name either the live object (its
        function patched) or a new one to bind (re-decorated, or not patchable).

        `line`, given when several defs share the name (``@f.register def _``), is where
        the old def started: the name is bound to the last of them only, so the live
        function found through it must also come from that line to be this def's.
        """
        node = at_current_lines(node, change.new)  # run again unchanged: compile it where it is
        raw_live = self._live_function(change, node, holder, qualname, line)
        old = change.old.nodes[0] if change.old is not None else None
        old = old if isinstance(old, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
        same = self._same_decoration(change, node, old, holder, raw_live, qualname)
        same_args = old is not None and dump(old.args) == dump(node.args)
        if raw_live is not None and same and not change.refresh and old is not None \
                and same_args and dump(old.returns) == dump(node.returns) \
                and not recompiled(self, node):
            if self._body_only(change, node, holder, raw_live, qualname, code_of):
                return
        if change.layout:
            return  # same code at other lines, and no live function of ours to re-line
        if raw_live is not None and same:
            if self._take(change, node, holder, raw_live, qualname, body, code_of,
                          same_args and recompiled(self, node)):
                return
            raw_live = None  # re-decorated: its free variables changed
        self._redecorate(node, old, holder, raw_live, qualname, body)

    def _live_function(self, change: Change, node: Def, holder: Any, qualname: str,
                       line: int | None) -> FunctionType | None:
        """The live plain function this def is a new version of (None: it has none)."""
        raw_live = self.live_raw(holder, qualname, role_of(node.decorator_list))
        if line is not None and raw_live is not None and raw_live.__code__.co_firstlineno != line:
            raw_live = None
        if line is not None and raw_live is None and change.old is not None:
            # The name binds another def's function: this one's is known only by its code,
            # where it was registered (``@f.register(int) def _``). The def makes a new
            # function; the old one is withdrawn from the registries, as if removed.
            self.note_removed([change.old], [], set(), {node.name}, lambda name: None,
                              qualname[:len(qualname) - len(node.name)],
                              line - change.old.start - 1)
        return raw_live

    def _same_decoration(self, change: Change, node: Def, old: Def | None, holder: Any,
                         raw_live: FunctionType | None, qualname: str) -> bool:
        """Whether the def's decorators would build what they built before, so that the
        live function can simply take the new code (else they run again)."""
        if old is None:
            return not node.decorator_list and holder is raw_live
        same = dump(old.decorator_list) == dump(node.decorator_list)
        if same and dump(old.args) != dump(node.args) and _registers_by_annotation(node):
            same = False  # ``@f.register`` reads the annotations: register anew
        if same and node.decorator_list and _derive.shape_changed(old, node) and \
                _derive.derives(holder, raw_live):
            same = False  # the decorators derive from the shape (hotswap._derive)
            _derive.check_kind(old, node, self.filename, f"{self.modname}.{qualname}")
        if change.refresh and (any(reads(d) & self.dirty for d in node.decorator_list)
                               or _registers_by_annotation(node)
                               and reads(node) & self.dirty):
            same = False  # a decorator's arguments (or the annotation ``@f.register``
            # reads) changed value: decorate anew
        return same

    def _body_only(self, change: Change, node: Def, holder: Any, raw_live: FunctionType,
                   qualname: str, code_of: Callable[[ast.stmt], types.CodeType | None]
                   ) -> bool:
        """Only the body changed: the new code is compiled, not run, and the live function
        keeps its defaults (state like any other: a `cache={}` default is not reset, and
        default expressions naming since-deleted temporaries are not evaluated again).
        False when the new code cannot go into the live function."""
        code = code_of(self.decorate(node, _unused_taker, keep=False))
        if code is None or incompatibility(raw_live, code) is not None:
            return False
        new = FunctionType(code, self.ns, raw_live.__name__, raw_live.__defaults__,
                           raw_live.__closure__)
        new.__kwdefaults__ = raw_live.__kwdefaults__
        new.__annotations__ = raw_live.__annotations__
        self.patch(raw_live, new, qualname, holder, change.layout)
        if self.live.get(node.name) is raw_live:
            self.ns[node.name] = new  # statements staged after this one call it
        return True

    def _take(self, change: Change, node: Def, holder: Any, raw_live: FunctionType,
              qualname: str, body: list[ast.stmt],
              code_of: Callable[[ast.stmt], types.CodeType | None],
              keep_defaults: bool = False) -> bool:
        """The def runs with its decorators left out and a taker that patches the live
        function with what it compiled. False when it must be decorated anew instead (a
        decorated def whose free variables changed: known only once compiled).
        `keep_defaults`: its parameters did not change, the live defaults stay (state)."""
        def take(fn: FunctionType) -> Any:
            reason = incompatibility(raw_live, fn.__code__)
            if reason is None:
                if keep_defaults:
                    fn.__defaults__ = raw_live.__defaults__
                    fn.__kwdefaults__ = raw_live.__kwdefaults__
                self.patch(raw_live, fn, qualname, holder, change.layout)
                return holder if holder is not raw_live else fn
            self.out.for_report.skipped.append((f"{self.modname}.{qualname}",
                                     f"{reason}: the new function replaces it; "
                                     "references to the old one keep its old body"))
            return fn
        if holder is raw_live or not node.decorator_list:
            body.append(self.decorate(node, take, keep=False))
            return True
        code = code_of(self.decorate(node, lambda fn: fn, keep=False))
        if code is None or incompatibility(raw_live, code) is None:
            body.append(self.decorate(node, take, keep=False))
            return True
        self.out.for_report.skipped.append((f"{self.modname}.{qualname}",
                                 f"{incompatibility(raw_live, code)}: re-decorated; "
                                 "references to the old function keep its old body"))
        return False

    def _redecorate(self, node: Def, old: Def | None, holder: Any,
                    raw_live: FunctionType | None, qualname: str, body: list[ast.stmt]
                    ) -> None:
        """The def runs with its decorators, handed the live function (if any) to wrap."""
        if node.decorator_list:
            if raw_live is not None or holder is not None:
                self.out.for_report.redecorated.append(f"{self.modname}.{qualname}")
                if qualname == node.name:  # module level: its registrations are remade
                    self.out.rederived.append(_derive.Rederived(raw_live, node.name, holder))
            if raw_live is not None and old is not None:
                self.watch.unregister(old.decorator_list,
                                      [o for o in (raw_live, holder) if o is not None])
            body.append(self.decorate(node, self.substitute(raw_live, qualname), keep=True))
        elif raw_live is not None:
            # Its decorators were removed: the live function itself takes the new code and
            # the name, so references to it (and the old wrapper) follow.
            body.append(self.decorate(node, self.substitute(raw_live, qualname), keep=True))
        else:
            body.append(node)


def recompiled(st: Stage, node: Def) -> bool:
    """Whether the ``annotations`` future import came or went and `node`'s signature is
    annotated: its annotations compile anew, so the def must run (its code alone is not
    enough, see `Stage._body_only`)."""
    return st.reannotated and (node.returns is not None or annotated([node.args]))


def _registers_by_annotation(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """``@f.register`` without arguments: singledispatch registers by the annotation."""
    return any(isinstance(d, ast.Attribute) and d.attr == "register"
               for d in node.decorator_list)


def _unused_taker(fn: FunctionType) -> FunctionType:
    return fn


def last_binders(stmts: list[Stmt]) -> dict[str, Stmt]:
    """For each name, the last statement binding it: the one its final value comes from."""
    return {name: s for s in stmts for name in s.names}


def shared_def_names(stmts: list[Stmt]) -> set[str]:
    """Names defined by more than one def in the same body."""
    seen: set[str] = set()
    shared: set[str] = set()
    for s in stmts:
        definition = s.definition
        if definition is not None and definition.kind is Kind.DEF:
            (shared if definition.name in seen else seen).add(definition.name)
    return shared


def code_named(code: types.CodeType, name: str) -> types.CodeType | None:
    """The code object compiled for definition `name` directly inside `code`."""
    for const in code.co_consts:
        if isinstance(const, types.CodeType) and const.co_name == name:
            return const
    return None


def with_new_last_defs(old: list[Stmt], removed: list[Stmt], changes: list[Change],
                       last: dict[str, Stmt]) -> list[Change]:
    """`changes` (of a module or class body), plus the unchanged def that now binds a name
    last because the one that did is gone (``@f.register(str) def _`` removed below
    ``@f.register(float) def _``): the name must be bound to its function, which only its
    registry holds, so it runs again (and its old function, known by its lines, is
    withdrawn). `last` is the new body's `last_binders`."""
    old_last = last_binders(old)
    gone = {id(s) for s in removed} | {id(c.old) for c in changes
                                       if c.old is not None and not c.refresh}
    running = {id(c.new) for c in changes}
    extra = {id(s): Change(s, s, refresh=True) for name, s in last.items()
             if name in old_last and id(old_last[name]) in gone and id(s) not in running
             and s.definition == Definition(Kind.DEF, name)}
    if not extra:
        return changes
    return sorted(changes + list(extra.values()), key=lambda c: c.new.start)


def temporaries(stmts: list[Stmt], stmt: Stmt, have: Callable[[str], bool],
                running: set[int]) -> list[Stmt]:
    """The statements to run again before `stmt` (of `stmts`): for each name it reads that is
    gone (`have` says no), the last statement above binding it, when that one is not
    running anyway (`running`: ids). A temporary bound by an unchanged statement and
    deleted by a later one (``import operator`` ... ``del operator``) exists only while
    the body first runs; a changed statement reading it needs its binder run again, as a
    fresh import runs it (and that binder's own temporaries, in turn). Source order."""
    missing = [n for n in stmt.reads | stmt.deleted if not have(n)]
    if not missing:
        return []  # the common case, decided without looking at the other statements
    index = next(i for i, s in enumerate(stmts) if s is stmt)
    out: dict[int, tuple[int, Stmt]] = {}
    todo = [(index, frozenset(missing))]
    while todo:
        at, names = todo.pop()
        for name in names:
            if have(name):
                continue
            for i in range(at - 1, -1, -1):
                s = stmts[i]
                if name in s.names:
                    if id(s) not in running and id(s) not in out:
                        out[id(s)] = (i, s)
                        todo.append((i, s.reads))
                    break
    return [s for _, s in sorted(out.values(), key=lambda pair: pair[0])]


def builtin(name: str) -> bool:
    return hasattr(builtins, name)


