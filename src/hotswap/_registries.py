"""Registrations: what running a definition again adds to containers that outlive it.

A metaclass, an ``__init_subclass__`` or a registering decorator records the class or
function it is given in a registry (a list, dict or set) that lives on: in the module's
globals, on a base class, in a decorator's closure or module. Staging runs such definitions
again, so the registry would end up holding the staged object beside the live one (the
class registered twice, under its old key and its new one), and it would be changed before
the update is applied, and even if the update then fails.

So the containers a re-run definition can reach are copied before it runs, and when
staging ends every one of them is put back as it was. What staging did to them becomes
operations of the plan instead, applied with the rest of the update and undone with it:
the new entry names the live object (where the class or function kept its identity) and
takes the place of the earlier registration of the same definition, which is withdrawn.

A definition removed from the source is withdrawn too, from the same containers (those
its decorators, bases and metaclass reach, and the module's own): a fresh import would
not register it, and a dispatcher would otherwise still run a deleted overload.
"""

from __future__ import annotations

import ast
import collections
import types
from collections.abc import Callable, Iterable
from typing import Any

from ._plain import dataclass
from ._names import reads
from ._ops import MISSING, Op, SetItem
from ._patch.dispatch import is_dispatcher
from ._safe import instance_dict, is_a

_CONTAINERS = (dict, list, set, collections.defaultdict, collections.OrderedDict)
_MAX_SCAN = 1000  # a container bigger than this is data, not a registry of registries
_MAX_COPY = 10_000  # nor is one bigger than this a registry: it is not copied (a cache)


def may_register(nodes: Iterable[ast.stmt], taker: str = "__hotswap_take_") -> bool:
    """Whether running `nodes` can call code that registers something: a class statement,
    a def with decorators of its own, any other statement with a call in it."""
    for node in nodes:
        if isinstance(node, ast.ClassDef):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if any(not (isinstance(deco, ast.Name) and deco.id.startswith(taker))
                   for deco in node.decorator_list):
                return True
            continue
        if any(isinstance(n, ast.Call) for n in ast.walk(node)):
            return True
    return False


@dataclass
class Delta:
    """One container that staging changed: its contents before and after."""

    container: Any
    label: str
    before: Any
    after: Any


@dataclass
class Removed:
    """A registering definition (a class, a decorated def) removed from the source, and how
    to recognise what it made: the live objects it bound, and, for a def sharing its name
    with others (``@f.register def _``), whose name is bound to another one, its code's
    qualified name and the live lines the statement stood on."""

    node: ast.stmt
    objects: list[Any]
    qualname: str
    first: int
    last: int
    globals_: dict[str, Any]

    def made(self, value: Any) -> bool:
        if any(value is o for o in self.objects):
            return True
        if type(value) is not types.FunctionType or value.__globals__ is not self.globals_:
            return False
        code = value.__code__
        return code.co_qualname == self.qualname and \
            self.first <= code.co_firstlineno <= self.last


class Watch:
    """The containers staging could register into, with their contents before it ran."""

    def __init__(self, live: dict[str, Any]) -> None:
        self._live = live
        self._seen: dict[int, tuple[Any, str, Any]] = {}  # id -> (container, label, copy)
        self._started = False
        self.clear_caches: list[Callable[[], Any]] = []  # singledispatch dispatch caches

    def before_running(self, nodes: list[ast.stmt]) -> None:
        """Copy what running `nodes` may register into, unless copied already."""
        if not may_register(nodes):
            return
        if not self._started:
            self._started = True
            for name, value in list(self._live.items()):
                # a class reaches further: its singledispatchmethods keep their registry
                # in the closure of their dispatcher
                self._reach(value, name, 4 if is_a(value, type) else 2)
        self._reach_read(nodes)

    def _reach_read(self, nodes: list[Any]) -> None:
        """Follow each module name that `nodes` (statements, expressions) read."""
        for node in nodes:
            for name in sorted(reads(node)):
                value = self._live.get(name, MISSING)
                if value is not MISSING:
                    self._reach_far(value, name)

    def _add(self, container: Any, label: str) -> None:
        if id(container) not in self._seen and len(container) <= _MAX_COPY:
            self._seen[id(container)] = (container, label, _copy(container))

    def _reach(self, value: Any, label: str, depth: int) -> None:
        kind = type(value)
        if kind in _CONTAINERS:
            self._add(value, label)
            if depth > 0 and len(value) <= _MAX_SCAN:
                items = value.values() if isinstance(value, dict) else value
                for item in list(items):
                    if type(item) in _CONTAINERS:
                        self._reach(item, f"{label}[...]", depth - 1)
            return
        if depth <= 0:
            return
        if kind is types.FunctionType:
            cells = zip(value.__code__.co_freevars, value.__closure__ or (), strict=True)
            for name, cell in cells:
                try:
                    inner = cell.cell_contents
                except ValueError:
                    continue
                self._reach(inner, f"{label}.<{name}>", depth - 1)
            attrs = value.__dict__
            if is_dispatcher(value):
                self.clear_caches.append(attrs["_clear_cache"])
            for name, inner in list(attrs.items()):
                self._reach(inner, f"{label}.{name}", depth - 1)
        elif is_a(value, type):
            for name, inner in list(type.__getattribute__(value, "__dict__").items()):
                if not (name.startswith("__") and name.endswith("__")):
                    self._reach(inner, f"{label}.{name}", depth - 1)
        elif not is_a(value, types.ModuleType):
            attrs = instance_dict(value)
            for name, inner in list((attrs or {}).items()):
                self._reach(inner, f"{label}.{name}", depth - 1)

    def _reach_far(self, value: Any, label: str) -> None:
        """A name the statement reads: follow it to where the code it runs keeps things, in
        other modules too (a decorator's module, a base class's ``__init_subclass__``, the
        metaclass's methods)."""
        self._reach(value, label, 3)
        functions: list[types.FunctionType] = []
        if type(value) is types.FunctionType:
            functions.append(value)
        elif is_a(value, type):
            for klass in [*type.__getattribute__(value, "__mro__"), type(value)]:
                if type.__getattribute__(klass, "__module__") == "builtins":
                    continue
                for name, inner in type.__getattribute__(klass, "__dict__").items():
                    inner = getattr(inner, "__func__", inner) if is_a(
                        inner, (classmethod, staticmethod)) else inner
                    if type(inner) is types.FunctionType:
                        functions.append(inner)
                        self._reach(inner, f"{klass.__qualname__}.{name}", 2)
                    elif type(inner) in _CONTAINERS:
                        self._reach(inner, f"{klass.__qualname__}.{name}", 2)
        for fn in functions:
            globals_ = fn.__globals__
            if globals_ is self._live:
                continue
            module = globals_.get("__name__", "?")
            for name, inner in list(globals_.items()):
                if type(inner) in _CONTAINERS:
                    self._reach(inner, f"{module}.{name}", 1)

    def unregister(self, decorators: list[ast.expr], objects: list[Any]) -> None:
        """A def is about to be decorated anew: take what its old `decorators` registered
        (`objects`) out of the containers they reach, copied first like any other. If the
        new decorators register it there again it comes back; if not (``@a.register(float)``
        become ``@b.register(str)``), what staging did to the container says to withdraw
        it, and the plan does."""
        probe = Watch(self._live)  # only what these decorators reach
        probe._reach_read(decorators)
        for key, (container, label, _) in probe._seen.items():
            self._seen.setdefault(key, probe._seen[key])
            Withdraw(container, label, objects).apply()  # put back by `take`, not undone

    def withdrawals(self, removed: list[Removed]) -> list[Withdraw]:
        """Where the registries hold what the `removed` definitions made."""
        if not removed:
            return []
        self.before_running([r.node for r in removed])
        out = []
        for container, label, before in self._seen.values():
            if label.endswith("<dispatch_cache>.data"):
                continue  # singledispatch's cache: cleared by the plan, not edited
            items = before.values() if isinstance(before, dict) else before
            found = list({id(x): x for x in items if _definition(x)
                          and any(r.made(x) for r in removed)}.values())
            if found:
                out.append(Withdraw(container, label, found))
        return out

    def take(self) -> list[Delta]:
        """Put every container back as it was; return what staging had done to them."""
        deltas = []
        for container, label, before in self._seen.values():
            if _same(container, before):
                continue
            after = _copy(container)
            _put_back(container, before)
            deltas.append(Delta(container, label, before, after))
        self._seen.clear()
        return deltas

    def revert(self) -> None:
        """Staging failed: put everything back."""
        self.take()


def _copy(container: Any) -> Any:
    if type(container) is list:
        return list(container)
    if type(container) is set:
        return set(container)
    return dict(container)


def _same(container: Any, before: Any) -> bool:
    """Whether staging left `container` as it was. Keys whose ``__eq__`` raises make the
    comparison impossible: such a container counts as untouched (it is left alone)."""
    try:
        return _compare(container, before)
    except Exception:  # noqa: BLE001 - a hostile key: not a registry we can reason about
        return True


def _compare(container: Any, before: Any) -> bool:
    if type(container) is list:
        return len(container) == len(before) \
            and all(a is b for a, b in zip(container, before, strict=True))
    if type(container) is set:
        return len(container) == len(before) and all(x in before for x in container)
    if len(container) != len(before):
        return False
    return all(k in before and before[k] is v for k, v in container.items())


def _put_back(container: Any, before: Any) -> None:
    if type(container) is list:
        container[:] = before
    elif type(container) is set:
        container.intersection_update(before)
        container.update(before)
    else:
        for key in [k for k in container if k not in before]:
            del container[key]
        for key, value in before.items():
            if container.get(key, MISSING) is not value:
                container[key] = value


def _definition(value: Any) -> bool:
    """Registries of definitions are what this is about: functions and classes."""
    return type(value) is types.FunctionType or is_a(value, type)


@dataclass
class ListEdit(Op):
    """Entries staging appended to a list, each in the place of its earlier version if the
    list holds it, else at the end; and entries staging removed."""

    container: list[Any]
    replace: list[tuple[Any, Any]]  # (earlier version, entry)
    append: list[Any]
    remove: list[Any]

    def apply(self) -> Callable[[], None]:
        lst = self.container
        done: list[tuple[str, Any, Any]] = []
        for old, new in self.replace:
            i = _index(lst, old)
            if i is None:
                lst.append(new)
                done.append(("appended", new, None))
            else:
                lst[i] = new
                done.append(("replaced", new, old))
        for new in self.append:
            lst.append(new)
            done.append(("appended", new, None))
        for old in self.remove:
            i = _index(lst, old)
            if i is not None:
                del lst[i]
                done.append(("removed", old, i))

        def undo() -> None:
            for what, obj, other in reversed(done):
                if what == "removed":
                    lst.insert(min(other, len(lst)), obj)
                    continue
                i = _index(lst, obj, last=True)
                if i is None:
                    continue
                if what == "replaced":
                    lst[i] = other
                else:
                    del lst[i]
        return undo


@dataclass
class SetEdit(Op):
    container: set[Any]
    add: list[Any]
    discard: list[Any]

    def apply(self) -> Callable[[], None]:
        s = self.container
        added = [x for x in self.add if x not in s]
        discarded = [x for x in self.discard if x in s]
        s.difference_update(discarded)
        s.update(added)

        def undo() -> None:
            s.difference_update(added)
            s.update(discarded)
        return undo


@dataclass
class Withdraw(Op):
    """Take every entry holding one of `objects` (by identity) out of a container."""

    container: Any
    label: str
    objects: list[Any]

    def apply(self) -> Callable[[], None]:
        c = self.container
        ids = {id(o) for o in self.objects}
        if type(c) is list:
            at = [(i, x) for i, x in enumerate(c) if id(x) in ids]
            for i, _ in reversed(at):
                del c[i]

            def undo() -> None:
                for i, x in at:
                    c.insert(i, x)
            return undo
        if type(c) is set:
            members = [x for x in c if id(x) in ids]
            for x in members:
                c.discard(x)
            return lambda: c.update(members)
        before = list(c.items())
        for k in [k for k, v in before if id(v) in ids]:
            del c[k]

        def put_back() -> None:  # in their order: undo runs on the dict as this left it
            c.clear()
            c.update(before)
        return put_back


def _index(lst: list[Any], obj: Any, last: bool = False) -> int | None:
    found = None
    for i, item in enumerate(lst):
        if item is obj:
            found = i
            if not last:
                break
    return found


def plan_edits(deltas: list[Delta], fix: Callable[[Any], Any],
               versions: dict[int, Any]) -> tuple[list[Op], list[str]]:
    """The operations that redo what staging did to registries, with staged objects
    replaced by live ones (`fix`) and the earlier registration of each definition
    withdrawn. `versions` maps a class replacing a live one to the class it replaces."""
    ops: list[Op] = []
    notes: list[str] = []
    for delta in deltas:
        withdrawn = 0
        if type(delta.container) is list:
            op, withdrawn = _list_edit(delta, fix, versions)
            ops.append(op)
        elif type(delta.container) is set:
            added = [fix(x) for x in delta.after if x not in delta.before]
            gone = [x for x in delta.before if x not in delta.after]
            earlier = [versions[id(x)] for x in added if id(x) in versions
                       and versions[id(x)] in delta.before]
            withdrawn = len(earlier)
            ops.append(SetEdit(delta.container, added, gone + earlier))
        else:
            entry_ops, withdrawn = _dict_edits(delta, fix, versions)
            ops.extend(entry_ops)
        if withdrawn:
            notes.append(f"{delta.label}: {withdrawn} definition(s) registered again; their "
                         "earlier registration was withdrawn")
    return ops, notes


def _list_edit(delta: Delta, fix: Callable[[Any], Any],
               versions: dict[int, Any]) -> tuple[ListEdit, int]:
    left = collections.Counter(id(x) for x in delta.before)
    added = []
    for x in delta.after:
        if left[id(x)] > 0:
            left[id(x)] -= 1
        else:
            added.append(fix(x))
    remove = []  # what staging took out of the list
    for x in delta.before:
        if left[id(x)] > 0:
            left[id(x)] -= 1
            remove.append(x)
    replace, append = [], []
    claimed: set[int] = set()
    for new in added:
        old = versions.get(id(new), new)
        if _definition(new) and any(x is old for x in delta.before) and id(old) not in claimed:
            claimed.add(id(old))
            replace.append((old, new))
        else:
            append.append(new)
    return ListEdit(delta.container, replace, append, remove), len(replace)


def _dict_edits(delta: Delta, fix: Callable[[Any], Any],
                versions: dict[int, Any]) -> tuple[list[Op], int]:
    changed: dict[Any, Any] = {}
    for key, value in delta.after.items():
        if key not in delta.before or delta.before[key] is not value:
            changed[fix(key)] = fix(value)
    ops: list[Op] = [SetItem(delta.container, k) for k in delta.before
                     if k not in delta.after and k not in changed]
    withdrawn = 0
    for key, value in changed.items():
        ops.append(SetItem(delta.container, key, value))
        if not _definition(value):
            continue
        earlier = versions.get(id(value), value)
        for k0, v0 in delta.before.items():
            if (v0 is value or v0 is earlier) and k0 not in changed and k0 in delta.after \
                    and delta.after[k0] is v0:
                ops.append(SetItem(delta.container, k0))
                withdrawn += 1
    return ops, withdrawn
