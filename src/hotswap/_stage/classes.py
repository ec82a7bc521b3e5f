"""Classes: bringing a live class to its new body while it keeps its identity.

When only the body changed, the changed statements are compiled inside a *shell*: a class
statement of the same name (and the same nesting), so private names mangle as before and
zero-argument ``super()`` gets a ``__class__`` cell, which is then aimed at the live class.
The shell's body code runs over a copy of the live class namespace, so class-level names
resolve, and no metaclass, ``__init_subclass__`` or class decorator runs again.

When the header changed (bases, metaclass keywords, class decorators) the whole class
statement runs in staging and the new class is migrated into the live one: its entries
move over, its bases are assigned where CPython allows, and the report says it was rebuilt
(the header's side effects ran once more).
"""

from __future__ import annotations

import ast
import copy
import sys
import types
from typing import Any, NamedTuple

from .. import _derive
from .._diff import (Change, Definition, Kind, Stmt, dump, group, mangle, pair)
from .._patch import docs
from .._gil import hold_afresh, other_threads
from .._names import bound_names, reads
from .._ops import MISSING, Plan
from .._safe import class_has, functions_in, is_a
from .body import BodyStager, Def, annotation_only, gone_names, made_by_class
from .core import (ClassEdit, Replacement, Stage, builtin, code_named, is_docstring,
                   same_header, temporaries)
from .._patch.enums import INTERNALS as ENUM_INTERNALS
from .._patch.enums import is_enum
from .._patch.functions import clone, role_of
from .._patch.lines import at_current_lines, first_line
from .._patch.rebind import Rebinder
from .._patch.slots import HIDDEN, reslot

# Entries of the live class never taken from its new version: its dict and weakref
# descriptors, its names, and what .slots keeps for its layout (the descriptors of hidden
# slots, the count of slots copy and pickle check).
_NEVER_MOVED = frozenset({"__dict__", "__weakref__", "__module__", "__qualname__", HIDDEN,
                          "__slotnames__"})


def own_class(st: Stage, obj: Any, qualname: str) -> bool:
    return (is_a(obj, type) and obj.__module__ == st.modname
            and obj.__qualname__ == qualname)


def stage_class(st: Stage, change: Change, node: ast.ClassDef) -> None:
    """Stage a module-level class statement (at the lines it stands on now: one run again
    unchanged may have been parsed higher or lower, see `at_current_lines`)."""
    node = at_current_lines(node, change.new)
    live: Any = st.live.get(node.name)  # a class when own_class says so
    old = change.old.nodes[0] if change.old is not None else None
    old = old if isinstance(old, ast.ClassDef) else None
    if own_class(st, live, node.name):
        if rebuild_reason(live, old, node, st.reannotated) is None \
                and not _regenerate(node, live, st.dirty):
            offset = 0
            texts = None
            if change.old is not None and old is not None:
                offset = change.old.start + 1 - first_line(old)
                if change.old.text is not None and change.new.text is not None:
                    texts = _Texts(change.old.text.splitlines(keepends=True),
                                   first_line(old) - 1,
                                   change.new.text.splitlines(keepends=True),
                                   first_line(node) - 1)
            inplace(st, live, old, node, [node], offset, texts)
            return
        _derive.refuse_rebuild(st, live, node)  # a framework's class (hotswap._derive)
        since = len(st.out.patches)
        new = _run_seeing_rebuilt(st, canonical_class(st, node, live))
        _keep_state(st, old, node, new, live)
        if migrate(st, new, live, since):
            st.ns[node.name] = live
            if layout_change(new, live) is None:  # else: the live layout serves (.slots),
                st.rebuilt[node.name] = new  # and classes built later are built on it
        return
    made = _run_seeing_rebuilt(st, canonical_class(st, node, None))
    if is_a(made, type):
        st.out.made.append(made)


def _run_seeing_rebuilt(st: Stage, node: ast.ClassDef) -> Any:
    """Run a class statement with the classes rebuilt earlier in this update seen as their
    new versions (a subclass subscripting a generic base needs its new parameters; the
    staged bases are swapped for the live ones when planning); return what it bound."""
    rebuilt_before = {n: st.ns[n] for n in st.rebuilt}
    st.ns.update(st.rebuilt)
    try:
        st.run([node])
        return st.ns[node.name]
    finally:
        st.ns.update(rebuilt_before)


def _keep_state(st: Stage, old: ast.ClassDef | None, node: ast.ClassDef, new: type,
                live: type) -> None:
    """A class statement run again whole still keeps its state, as module globals do: a
    data attribute whose assignment did not change (and reads nothing that did) keeps its
    live value, such as a registry its subclasses filled or a counter, in the new class
    (which moves into the live one or replaces it); so do the defaults of a method whose
    def did not change (a cache dict, an object made once)."""
    if old is None or is_enum(live) or is_enum(new):
        return
    def binders(body: list[ast.stmt]) -> dict[str, list[ast.stmt]]:
        out: dict[str, list[ast.stmt]] = {}
        for stmt in body:
            for name in bound_names(stmt):
                out.setdefault(name, []).append(stmt)
        return out
    before, after = binders(old.body), binders(node.body)
    old_dumps = {dump(s) for s in old.body}
    changed = set(st.dirty).union(*(bound_names(s) for s in node.body
                                    if dump(s) not in old_dumps))
    for name, stmts in after.items():
        stmt = stmts[0]
        is_def = isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef))
        if len(stmts) != 1 or len(before.get(name, ())) != 1 or not (is_def or (
                isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None
                and not (name.startswith("__") and name.endswith("__")))) or \
                dump(stmt) != dump(before[name][0]) or reads(stmt) & changed:
            continue
        key = mangle(node.name, name)
        mine, theirs = type.__getattribute__(live, "__dict__"), new.__dict__
        if key not in mine or key not in theirs:
            continue
        if is_def:
            _keep_defaults(st, mine[key])
            continue
        value = mine[key]
        if class_has(type(value), "__get__") or class_has(type(theirs[key]), "__get__"):
            continue  # methods, properties, slots: code, not state
        type.__setattr__(new, key, value)


def _keep_defaults(st: Stage, method: Any) -> None:
    """The live `method` (plain, static or class), which the class statement run again
    holds, keeps its defaults, objects and all: its patch takes them (a decorator's
    wrapper has no patch of its own and is left alone)."""
    fn = method.__func__ if type(method) in (staticmethod, classmethod) else method
    for p in st.out.patches:
        if p.live is fn:
            p.new.__defaults__, p.new.__kwdefaults__ = fn.__defaults__, fn.__kwdefaults__


def rebuilding(st: Stage, stmts: list[Any], changes: list[Change],
               stale: frozenset[str] = frozenset()) -> set[str]:
    """Module-level classes whose class statement will run again whole: those whose own
    statement needs it, and, in source order, every class generating code from one of
    them (a dataclass subclass of a rebuilt dataclass, and its subclasses in turn), even
    when its own statement did not change or changed only in its methods. `stale` are
    names rebound from outside before this update (see `stage`)."""
    by_stmt = {id(c.new): c for c in changes if not c.layout}
    out: set[str] = set()
    for s in stmts:
        node = s.nodes[0] if s.definition is not None \
            and s.definition.kind is Kind.CLASS else None
        if not isinstance(node, ast.ClassDef):
            continue
        live: Any = st.live.get(node.name)  # a class when own_class says so
        if not own_class(st, live, node.name):
            continue
        c = by_stmt.get(id(s))
        if c is not None:
            old = c.old.nodes[0] if c.old is not None else None
            if rebuild_reason(live, old if isinstance(old, ast.ClassDef) else None,
                              node, st.reannotated) is not None:
                out.add(node.name)
                continue
        if _regenerate(node, live, out | stale):
            out.add(node.name)
    return out


def _regenerate(node: ast.ClassDef, live: type, dirty: set[str]) -> bool:
    """Whether a class that generates code from its header (a dataclass, an enum, a named
    tuple) must run again because its header reads a name rebound by this update (a base
    rebuilt, a decorator argument changed)."""
    header = set().union(*(reads(n) for n in (*node.bases, *node.decorator_list,
                                             *(k.value for k in node.keywords))))
    generated = bool(node.decorator_list) or is_enum(live) or _derive.generated(live) or \
        (issubclass(live, tuple) and class_has(live, "_fields"))
    return generated and bool(header & dirty)


def rebuild_reason(live: type, old: ast.ClassDef | None, node: ast.ClassDef,
                   reannotated: bool = False) -> str | None:
    """Why the class statement must run again as a whole (None: patch its body in place).

    Only the header (bases, metaclass, decorators) needs that, or a class whose decorator
    or metaclass generates code from its fields: a dataclass's ``__init__``, an enum's
    members, a ``__slots__`` layout. `reannotated`: see `_diff.pair` (a dataclass's fields
    are its annotations).
    """
    if old is not None and not same_header(old, node):
        return "its header changed"
    fields_changed = options_changed = True
    if old is not None:
        changes, removed, _ = pair(group(old.body), group(node.body), reannotated)
        stmts = [c.new for c in changes] + [c.old for c in changes if c.old] + removed
        fields_changed = any(s.definition is None and not is_docstring(s.nodes[0])
                             for s in stmts)
        # a framework also reads nested classes (a model's Meta, a schema's Config)
        options_changed = any(s.kind is Kind.CLASS
                              for s in [c.new for c in changes if not c.layout] + removed)
        if any("__slots__" in s.names for s in stmts):
            return "its __slots__ changed"
        if is_enum(live) and any(s.definition == Definition(Kind.DEF, "__new__") for s in stmts
                                 if not (s in removed or any(c.new is s and c.layout
                                                             for c in changes))):
            return "its members' constructor changed"  # EnumType keeps it aside
    if (fields_changed or options_changed) and _derive.generated(live):  # hotswap._derive
        return "its fields changed, and its framework generates code from them"
    if fields_changed and node.decorator_list:
        return "a class-level statement of a decorated class changed"
    if fields_changed and is_enum(live):
        return "its members changed"
    if fields_changed and issubclass(live, tuple) and class_has(live, "_fields"):
        return "its named tuple fields may have changed"
    return None


def canonical_class(st: Stage, node: ast.ClassDef, live: type | None) -> ast.ClassDef:
    """`node` with a taker on every method, so that what the class statement builds holds
    the live methods (or, for new ones, functions over the live globals)."""
    new = copy.copy(node)
    qual = live.__qualname__ if live is not None else None
    body: list[ast.stmt] = []
    # Of several defs of one name (``@h.register(int) def _``) the name binds the last:
    # the live function found through it is that one's; the others are new functions.
    last = {s.name: s for s in node.body if isinstance(s, (ast.FunctionDef,
                                                           ast.AsyncFunctionDef))}
    for stmt in node.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            raw = None
            if live is not None and last[stmt.name] is stmt:
                raw = st.live_raw(live.__dict__.get(stmt.name), f"{qual}.{stmt.name}",
                                  role_of(stmt.decorator_list))
            name = f"{qual or node.name}.{stmt.name}"
            body.append(st.decorate(stmt, st.substitute(raw, name), keep=True))
        elif isinstance(stmt, ast.ClassDef):
            inner = live.__dict__.get(stmt.name) if live is not None else None
            inner_live = inner if own_class(st, inner, f"{qual}.{stmt.name}") else None
            body.append(canonical_class(st, stmt, inner_live))
        else:
            body.append(stmt)
    new.body = body
    return new


def _shell(chain: list[ast.ClassDef], body: list[ast.stmt]) -> ast.ClassDef:
    inner: ast.stmt | None = None
    for node in reversed(chain):
        shell = ast.ClassDef(name=node.name, bases=[], keywords=[],
                             body=[inner] if inner is not None else (body or [ast.Pass()]),
                             decorator_list=[])
        if "type_params" in ast.ClassDef._fields:
            shell.type_params = []  # type: ignore[attr-defined]  # a 3.12+ field
        ast.copy_location(shell, node)
        inner = shell
    assert isinstance(inner, ast.ClassDef)
    return inner


def shell_code(st: Stage, chain: list[ast.ClassDef], body: list[ast.stmt]) -> types.CodeType:
    """The body code of `body` compiled as the innermost class of `chain`."""
    code = st.compile([_shell(chain, body)])
    for node in chain:
        found = code_named(code, node.name)
        assert found is not None
        code = found
    return code


class _Texts(NamedTuple):
    """The exact source of a class statement, old and new, so that its body statements can
    be compared as text first (equal text: not even recompiled) and by syntax second."""

    old: list[str]
    old_base: int
    new: list[str]
    new_base: int


def inplace(st: Stage, cls: type, old: ast.ClassDef | None, node: ast.ClassDef,
            chain: list[ast.ClassDef], offset: int = 0, texts: _Texts | None = None) -> None:
    """Stage a changed class body whose header did not change (or is unknown).

    `offset` is how far the old class statement moved since its syntax was parsed: old
    line numbers plus `offset` are where its live methods were compiled.
    """
    ClassBodyStager(st, cls, old, node, chain, offset, texts).stage()


def _body_stmts(body: list[ast.stmt], texts: _Texts | None, old: bool, private: str
                ) -> list[Stmt]:
    """The statements of a class body (old or new), with their text when it is known."""
    if texts is None:
        return group(body, private=private)
    if old:
        return group(body, texts.old, texts.old_base, private)
    return group(body, texts.new, texts.new_base, private)


class ClassBodyStager(BodyStager):
    """A class body staged in place: its changed statements run in a *shell* over a copy
    of the class namespace, and what they bind becomes a `ClassEdit` of the live class."""

    def __init__(self, st: Stage, cls: type, old: ast.ClassDef | None, node: ast.ClassDef,
                 chain: list[ast.ClassDef], offset: int, texts: _Texts | None) -> None:
        self.cls, self.node, self.old_node = cls, node, old
        self.chain, self.offset, self.texts = chain, offset, texts
        self.qual = cls.__qualname__
        self.private = cls.__name__
        super().__init__(st, _body_stmts(old.body, texts, True, self.private)
                         if old is not None else None,
                         _body_stmts(node.body, texts, False, self.private))
        if old is not None:
            changes, self.removed, moved = pair(self.old, self.new, st.reannotated)
            for prev, delta in moved:  # unchanged methods: where are they now?
                if delta != offset:
                    st.out.moved.append((prev.start + 1 + offset, prev.end + offset,
                                         delta - offset))
        else:
            changes, self.removed = [Change(s) for s in self.new], []
        self.new_doc = ast.get_docstring(node, clean=False)
        self.old_doc = ast.get_docstring(old, clean=False) if old is not None else cls.__doc__
        # statements reading `__doc__` while it is the docstring run again with its new text
        self.doc_read = self.new_doc != self.old_doc and bool(docs.readers(self.new))
        if self.doc_read:
            changes = docs.with_readers(changes, self.new)
        # A definition run again unchanged is paired with the old one `pair` matches it
        # with (same kind and name, in order): the old syntax is the one whose lines
        # `offset` maps to the live code (a def sharing its name is looked up on its live
        # line), and a nested class is compared with its own old body.
        old_versions = _old_versions(self.old, self.new)
        self.changes = self.to_run(changes, self.removed, set(cls.__dict__), st.dirty,
                                   old_version=lambda s: old_versions.get(id(s)))
        self.edit = ClassEdit(cls, f"{st.modname}.{self.qual}")
        self.patches_before = len(st.out.patches)
        self.body: list[ast.stmt] = []  # what runs in the shell
        self.rebind: list[str] = []  # names the body binds anew: candidates for the edit
        self.rebuilt: list[tuple[str, type]] = []  # nested classes whose statement runs
        self.running = {id(c.new) for c in self.changes}
        self.body_names = set().union(*(s.names for s in self.new))

    def stage(self) -> None:
        st, cls, edit = self.st, self.cls, self.edit
        self.run(self.changes)
        if self.new_doc != self.old_doc and docs.rebinder(self.new) is None:
            edit.set["__doc__"] = docs.compiled(self.new_doc)  # else the last binder's say
        since = len(st.out.patches)
        ns = self.run_shell()
        self.set_entries(ns, since)
        _annotations(cls, self.node, self.changes, self.removed, ns, edit)
        for name in gone_names(self.removed, self.changes, self.final,
                               None if self.old_node is not None else cls.__dict__,
                               lambda value: made_by_class(value, self.qual)):
            if name == "__doc__":  # its binder is gone: the docstring (or None) is left
                edit.set["__doc__"] = docs.compiled(self.new_doc)
            elif name in cls.__dict__ and name not in _NEVER_MOVED:
                edit.delete.append(name)
        self.note_removed(self.removed, self.changes, self.entry, self.qual + ".",
                          self.offset)
        if edit.set or edit.delete or any(not p.layout
                                          for p in st.out.patches[self.patches_before:]):
            st.out.classes.append(edit)

    def entry(self, name: str) -> Any:
        """What the live class holds under a name of its body (private names mangled)."""
        return self.cls.__dict__.get(mangle(self.private, name))

    def have(self, name: str) -> bool:
        """Whether the body, run again, finds `name`. A name the body binds and the class
        lacks is a deleted temporary: its binder runs again even when a module global or
        builtin of that name exists, since the class body reads its own first, as a fresh
        import does."""
        return name in self.cls.__dict__ or name not in self.body_names and (
            name in self.st.ns or builtin(name))

    # -- each statement -----------------------------------------------------------------

    def before(self, change: Change) -> None:
        for temporary in temporaries(self.new, change.new, self.have, self.running):
            self.body.extend(temporary.nodes)  # its names stay in the class body's staging
            self.running.add(id(temporary))

    def on_class(self, change: Change, node: ast.ClassDef) -> None:
        inner: Any = self.entry(node.name)  # a class when own_class says so
        old = change.old.nodes[0] if change.old is not None else None
        old = old if isinstance(old, ast.ClassDef) else None
        if own_class(self.st, inner, f"{self.qual}.{node.name}"):
            if rebuild_reason(inner, old, node, self.st.reannotated) is None:
                inplace(self.st, inner, old, node, self.chain + [node], self.offset,
                        self.texts)
                return
            self.body.append(canonical_class(self.st, node, inner))
            self.rebuilt.append((node.name, inner))
            return
        self.body.append(canonical_class(self.st, node, None))
        self.rebind.extend(sorted(change.new.names))

    def on_def(self, change: Change, node: Def) -> None:
        st, chain, name = self.st, self.chain, node.name

        def code_of(probe: ast.stmt) -> types.CodeType | None:
            return code_named(shell_code(st, chain, [probe]), name)

        dirty = st.dirty
        if self.doc_read and "__doc__" in change.new.reads:  # its decorators read the text
            st.dirty = dirty | {"__doc__"}
        try:
            self.stage_def(change, node, f"{self.qual}.{name}", self.entry, self.body,
                           code_of, self.offset)
        finally:
            st.dirty = dirty
        self.rebind.append(mangle(self.private, name))

    def on_text(self, change: Change) -> None:
        pass  # a docstring (or a lone string anywhere in the body): compared below

    def on_other(self, change: Change) -> None:
        self.body.extend(annotation_only(change))
        if not change.annotations:
            self.rebind.extend(sorted(change.new.names))

    # -- the body run, and its results --------------------------------------------------

    def run_shell(self) -> dict[str, Any]:
        """Run the body gathered in the shell, over a copy of the class namespace."""
        st, cls = self.st, self.cls
        if not self.body:
            return {}
        ns = dict(cls.__dict__)
        if self.doc_read:
            ns["__doc__"] = docs.compiled(self.new_doc)  # what the statements reading it see
        if isinstance(ns.get("__annotations__"), dict):
            ns["__annotations__"] = dict(ns["__annotations__"])
        if st.inputs is not None and st.current is not None:
            st.inputs.for_class_body(st.current, [c.new for c in self.changes],
                                     set(ns) | set(self.final))
        st.watch.before_running(self.body)
        exec(shell_code(st, self.chain, self.body), st.ns, ns)
        cell = ns.get("__classcell__")
        if isinstance(cell, types.CellType):
            cell.cell_contents = cls  # a fresh cell of the shell: not live yet
        return ns

    def set_entries(self, ns: dict[str, Any], since: int) -> None:
        """The entries the body bound anew go into the edit (nested classes rebuilt are
        migrated into the live ones, or replace them)."""
        executed = {id(c.new) for c in self.changes}
        for name in self.rebind:
            if id(self.last[name]) not in executed:
                continue  # an unchanged later statement has the last word on this name
            if name in self.final and name in ns and \
                    ns[name] is not self.cls.__dict__.get(name, MISSING):
                self.edit.set[name] = ns[name]
        for name, inner in self.rebuilt:
            if migrate(self.st, ns[name], inner, since):
                self.edit.set.pop(name, None)
            else:
                self.edit.set[name] = ns[name]


def _old_versions(old_stmts: list[Stmt], new_stmts: list[Stmt]) -> dict[int, Stmt]:
    """For each definition of the new body (by id), the old one `pair` matches it with:
    the same kind and name, in order."""
    olds: dict[Definition, list[Stmt]] = {}
    for s in old_stmts:
        if s.definition is not None:
            olds.setdefault(s.definition, []).append(s)
    found: dict[int, Stmt] = {}
    for s in new_stmts:
        if s.definition is not None and olds.get(s.definition):
            found[id(s)] = olds[s.definition].pop(0)
    return found


def _annotations(cls: type, node: ast.ClassDef, changes: list[Change], removed: list[Any],
                 ns: dict[str, Any], edit: ClassEdit) -> None:
    touched = any(isinstance(n, ast.AnnAssign) for c in changes for n in c.new.nodes) or any(
        isinstance(n, ast.AnnAssign) for s in removed for n in s.nodes) or any(
        c.old is not None and any(isinstance(n, ast.AnnAssign) for n in c.old.nodes)
        for c in changes)
    if not touched:
        return
    current = cls.__dict__.get("__annotations__", {})
    staged = ns.get("__annotations__", current)
    result: dict[str, Any] = {}
    for stmt in node.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            name = stmt.target.id
            if name in staged:
                result[name] = staged[name]
            elif name in current:
                result[name] = current[name]
    # compared by identity: annotation values may be objects whose == misbehaves
    if list(result) != list(current) or any(result[k] is not current[k] for k in result):
        edit.set["__annotations__"] = result


def _class_cells(new: type) -> list[types.CellType]:
    cells: list[types.CellType] = []
    for value in new.__dict__.values():
        for fn in functions_in(value):
            if "__class__" in fn.__code__.co_freevars:  # so __closure__ is a tuple
                cell = fn.__closure__[fn.__code__.co_freevars.index("__class__")]  # type: ignore[index]
                try:
                    if cell.cell_contents is new and all(cell is not c for c in cells):
                        cells.append(cell)
                except ValueError:
                    pass
    return cells


def layout_change(new: type, live: type) -> str | None:
    """Why instances of `live` could not become instances of `new` (None: they can)."""
    if type(new) is not type(live):
        return f"its metaclass changed ({type(live).__name__} -> {type(new).__name__})"
    if (new.__basicsize__, new.__itemsize__, new.__dict__.get("__slots__")) != (
            live.__basicsize__, live.__itemsize__, live.__dict__.get("__slots__")):
        return "its memory layout changed (__slots__ or a base with another layout)"
    return None


def bases_refused(cls: type, bases: tuple[type, ...],
                  planned: list[tuple[type, tuple[type, ...]]] | None = None) -> str | None:
    """Why CPython would refuse ``cls.__bases__ = bases`` (None: it accepts).

    Its layout rules are subtle (deallocators, slots, dict and weakref offsets: see
    ``type_set_bases`` and ``compatible_for_assignment`` in Objects/typeobject.c), so they are
    asked of CPython itself: assign and restore at once, right after taking the interpreter
    lock afresh (see _gil), so that no other thread runs in between.

    `planned` are the bases that classes edited earlier in this update take first (the plan
    assigns them in that order): a hierarchy turned around (``B(A)``, ``C(B)`` become
    ``C(A)``, ``B(C)``) is an inheritance cycle only while C still derives from B, so the
    question is asked with them in place, then they are undone too.
    """
    old = cls.__bases__
    if bases == old:
        return None
    if other_threads():
        hold_afresh()
    undo: list[tuple[type, tuple[type, ...]]] = []
    try:
        for other, other_bases in planned or ():
            before = other.__bases__
            try:
                other.__bases__ = other_bases
            except TypeError:
                continue  # not in place when cls's are assigned either
            undo.append((other, before))
        try:
            cls.__bases__ = bases
        except TypeError as exc:
            return f"its bases cannot change in place ({exc})"
        cls.__bases__ = old
        return None
    finally:
        for other, before in reversed(undo):
            other.__bases__ = before


def _canonical_bases(st: Stage, new: type) -> tuple[type, ...]:
    """`new`'s bases, with classes rebuilt in this update read as the live ones."""
    return tuple(st.out.canonical.get(id(b), b) for b in new.__bases__)


def migrate(st: Stage, new: type, live: type, since: int) -> bool:
    """Move a class rebuilt in staging into the live class, which keeps its identity.

    Returns False when that is impossible (another metaclass, a memory layout the live
    one cannot serve: a slot added, see .slots): the new class then replaces the live
    one, whose instances and references are retargeted.
    `since` is where the patches planned while building `new` start.
    """
    name = f"{st.modname}.{live.__qualname__}"
    slots = reslot(new, live)  # slots removed: the live layout still serves
    reason = (layout_change(new, live) if slots is None else None) or \
        bases_refused(live, _canonical_bases(st, new),
                      [(e.cls, e.bases) for e in st.out.classes if e.bases is not None])
    movable = True
    if reason is None and getattr(new, "_fields", None) != getattr(live, "_fields", None):
        reason, movable = "its named tuple fields changed (old instances are shorter "\
            "or longer tuples)", False
    if reason is not None:
        _detach(st, new, live, since)
        st.out.replacements.append(Replacement(live, new, name, reason, movable))
        st.out.made.append(new)  # built against classes rebuilt earlier: based on the live
        return False
    edit = ClassEdit(live, name, rebuilt=True, cells=_class_cells(new),
                     slots=slots if slots is not None and (slots.hide or slots.show) else None)
    bases = _canonical_bases(st, new)
    if bases != live.__bases__:
        edit.bases = bases
    members = new._member_map_ if is_enum(new) else {}  # type: ignore[attr-defined]  # an enum
    if members:
        edit.enum_source = new
    skip = _NEVER_MOVED | (ENUM_INTERNALS if is_enum(new) else frozenset())
    if "_abc_impl" in live.__dict__:
        skip |= {"_abc_impl"}  # the live ABC's state: its virtual subclasses (register())
    for key, value in new.__dict__.items():
        if key in skip or key in members:
            continue
        if type(value) in (types.MemberDescriptorType, types.GetSetDescriptorType):
            continue  # a slot of the new class: the live class's own (same layout) stays
        current = live.__dict__.get(key, MISSING)
        if isinstance(value, type) and own_class(st, current, f"{live.__qualname__}.{key}") \
                and value.__qualname__ == current.__qualname__:
            if migrate(st, value, current, since):
                continue
        if value is not current:
            edit.set[key] = value
    for key, value in live.__dict__.items():
        if key not in new.__dict__ and key not in skip and type(value) not in (
                types.MemberDescriptorType, types.GetSetDescriptorType):
            edit.delete.append(key)
    edit.fill = _new_field_defaults(new, live)
    if not edit.fill:  # a class a framework generates from its body (hotswap._derive)
        edit.fill, edit.drop = _derive.fill(new, live)
    st.out.classes.append(edit)
    st.out.canonical[id(new)] = live
    st.out.keep.append(new)
    return True


def _detach(st: Stage, new: type, live: type, since: int) -> None:
    """A replacing class gets functions of its own: the old class keeps its old methods
    untouched, for the instances that cannot move to the new layout. So do the classes
    nested in it that staging built with it: their methods were planned as patches of the
    old nested classes' functions too."""
    prefix = live.__qualname__ + "."
    recent = st.out.patches[since:]
    mine = [p for p in recent if p.live.__qualname__.startswith(prefix)]
    st.out.patches[since:] = [p for p in recent if p not in mine]
    fresh: dict[int, Any] = {}
    for p in mine:
        st.out.canonical.pop(id(p.new), None)
        own = clone(p.new, st.live)
        # what the decorators just set on the live function they were handed (the mark of
        # abc.abstractmethod), and the function's own state, go with the new function
        own.__dict__.update(p.live.__dict__)
        fresh[id(p.live)] = own
    scratch = Plan()
    rebind = Rebinder(st.ns, st.live, fresh, scratch)
    for cls in _built_with(new, live):
        for key, value in list(cls.__dict__.items()):
            fixed = rebind.fix(value)
            if fixed is not value:
                type.__setattr__(cls, key, fixed)
    for op in scratch.ops:  # edits inside objects staging just made: nothing live
        op.apply()


def _built_with(new: type, live: type) -> list[type]:
    """`new` and the classes nested in it (at any depth) that its class statement built,
    as opposed to ones it took over from `live`."""
    out = [new]
    for key, value in new.__dict__.items():
        current = live.__dict__.get(key, MISSING)
        if is_a(value, type) and value is not current \
                and value.__qualname__ == f"{new.__qualname__}.{key}":
            out.extend(_built_with(value, current if is_a(current, type) else value))
    return out


def _new_field_defaults(new: type, live: type) -> dict[str, Any]:
    """Fields a rebuilt dataclass gained, with how to fill them on old instances."""
    dataclasses = sys.modules.get("dataclasses")  # not loaded: no class is a dataclass
    if dataclasses is None or not (dataclasses.is_dataclass(new)
                                   and dataclasses.is_dataclass(live)):
        return {}
    old = {f.name for f in dataclasses.fields(live)}
    fill: dict[str, Any] = {}
    for f in dataclasses.fields(new):
        if f.name in old:
            continue
        if f.default is not dataclasses.MISSING:
            fill[f.name] = lambda value=f.default: value
        elif f.default_factory is not dataclasses.MISSING:
            fill[f.name] = f.default_factory
    return fill
