"""The safety net of re-derivation: objects outside a module that still hold a function
whose signature an update changed, or a class the update rebuilt from its body (a
dataclass, a pydantic model, an attrs class whose fields changed), and that no adapter
re-derived. Whatever they derived from the old shape (a parameter list, an arity, a
validator built from the old fields) may be old: the report names them.

Independent of any framework adapter. It costs nothing for a body edit (the signature is
compared cheaply first, and a body edit rebuilds no class). Otherwise one pass over the
referrers of everything changed at once (the functions, the rebuilt classes and what the
rebuild replaces in them: their old validators, field tables, generated methods), and a
second one over the containers found holding them (a dict, a validator object) whose
owner is not a module's global, to name that owner.

What counts as a holder: an object with attributes (named ``module.Type.attribute``), a
module's global container (``module.NAME``) or a class attribute (``module.Cls.attr``)
that refers to a changed definition, directly or through one container. Never a holder:
the updated module's own globals, a name another module imported (it is the same live
object), the class's own namespace, its bases, subclasses and instances, tuples (a class's
MRO, a typing expression), functions, frames (hotswap's own among them), type expressions
of ``typing``, and the registrations an adapter re-derived.
"""

from __future__ import annotations

import gc
import sys
import types
from collections.abc import Callable, Collection, Iterable
from typing import TYPE_CHECKING, Any

from . import _own
from ._safe import _type_attr, instance_dict, is_a

if TYPE_CHECKING:
    from ._report import Report

FunctionType = types.FunctionType

# Objects that refer to a class or a function as their own business, never as a
# registration that derived something from it.
_NEVER = (type, FunctionType, types.ModuleType, types.FrameType, types.CellType,
          types.CodeType, tuple, types.GetSetDescriptorType, types.MemberDescriptorType,
          types.WrapperDescriptorType, types.MethodDescriptorType, property, classmethod,
          staticmethod, types.GenericAlias)
_TYPING = frozenset({"typing", "typing_extensions", "types", "abc", "_abc", "functools",
                     "weakref", "_weakrefset", "inspect"})
_CONTAINERS = (dict, list, set)


def signature_of(fn: FunctionType) -> tuple[Any, ...]:
    """What callers and frameworks read from a function: its parameters, defaults,
    annotations and kind (a key to compare, cheap to build)."""
    code = fn.__code__
    n = code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & 0x04) + \
        bool(code.co_flags & 0x08)
    return (code.co_varnames[:n], code.co_posonlyargcount, code.co_kwonlyargcount,
            code.co_flags & 0x2AC, _safe_repr(fn.__defaults__), _safe_repr(fn.__kwdefaults__),
            _safe_repr(fn.__annotations__))


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:  # noqa: BLE001 - a hostile repr: compare by identity instead
        return f"<{id(value)}>"


def reshaped(patches: Iterable[Any]) -> list[FunctionType]:
    """Live functions that an update gives another signature (plain patches)."""
    return [p.live for p in patches if not p.layout and not _same_parts(p.live, p.new)
            and signature_of(p.live) != signature_of(p.new)]


def _same_parts(a: FunctionType, b: FunctionType) -> bool:
    """The cheap common case of a body edit: the new function was made with the live
    one's defaults and annotations, and takes the same arguments."""
    ca, cb = a.__code__, b.__code__
    return (a.__defaults__ is b.__defaults__ and a.__kwdefaults__ is b.__kwdefaults__
            and a.__annotations__ is b.__annotations__ and ca.co_argcount == cb.co_argcount
            and ca.co_kwonlyargcount == cb.co_kwonlyargcount
            and ca.co_posonlyargcount == cb.co_posonlyargcount
            and (ca.co_flags ^ cb.co_flags) & 0x2AC == 0
            and ca.co_varnames[:ca.co_argcount + ca.co_kwonlyargcount + 2]
            == cb.co_varnames[:cb.co_argcount + cb.co_kwonlyargcount + 2])


def rebuilt_parts(edits: Iterable[Any]) -> tuple[list[type], dict[int, tuple[Any, str]]]:
    """The classes an update rebuilds from their body (class edits marked ``rebuilt``),
    and what the rebuild replaces in each (its old validator, field table, generated
    ``__init__``): id -> (the old object, what it was), objects someone may have taken
    from the class (``validate = Model.__pydantic_validator__.validate_python``)."""
    classes: list[type] = []
    parts: dict[int, tuple[Any, str]] = {}
    for edit in edits:
        if not edit.rebuilt:
            continue
        cls = edit.cls
        classes.append(cls)
        own = _type_attr(cls, "__dict__")
        for key, value in edit.set.items():
            old = own.get(key)
            if old is None or old is value or is_a(old, (type, tuple, frozenset)) or \
                    not gc.is_tracked(old) or _descriptor(old):
                continue  # (a tuple of names may be a constant other classes share; a
                # method or descriptor is the framework's own bookkeeping to hold)
            parts[id(old)] = (old, f"the old {_label(cls)}.{key}")
    return classes, parts


def _descriptor(obj: Any) -> bool:
    """Whether `obj` is a method or another descriptor (its type defines ``__get__``)."""
    return any("__get__" in _type_attr(k, "__dict__") for k in _type_attr(type(obj), "__mro__"))


def _label(cls: type) -> str:
    """``module.Qualname`` of a class, read past any metaclass hook."""
    try:
        return f"{_type_attr(cls, '__module__')}.{_type_attr(cls, '__qualname__')}"
    except AttributeError:
        return repr(type.__repr__(cls))


def stale_holders(fns: list[FunctionType], exempt: list[Any], module: types.ModuleType,
                  report: Report, classes: list[type] = (),  # type: ignore[assignment]
                  parts: dict[int, tuple[Any, str]] | None = None,
                  walked: list[Any] | None = None, ours: Collection[int] = ()) -> None:
    """The safety net: name in the report every object outside the module (not a
    registration re-derived by this update, see the module docstring) that holds a
    function whose signature changed or a class rebuilt from its body (or what the
    rebuild replaced in it). Whatever it derived from the old shape may be old.
    `walked`: their referrers, when the update's heap walk found them already; `ours`:
    the ids of containers known to be hotswap's records (stagings not yet freed)."""
    what: dict[int, tuple[Any, str]] = dict(parts or {})
    for fn in fns:
        what[id(fn)] = (fn, f"{module.__name__}.{fn.__qualname__}, whose signature changed")
    for cls in classes:
        what[id(cls)] = (cls, f"{_label(cls)}, which this update rebuilt from its body")
    if not what:
        return
    search = _Search(what, exempt, module, classes, report)
    search.skip.update(map(id, (what, fns, exempt, classes, parts)))
    search.skip.update(_own.ids(sys._getframe(1), search.namespaces,
                                [walked] if walked is not None else []))
    search.skip.update(ours)
    search.run(walked)


class _Search:
    """One search for stale holders: the referrers of the changed objects, then (once, all
    together) the owners of the containers among them that no module global is."""

    def __init__(self, what: dict[int, tuple[Any, str]], exempt: list[Any],
                 module: types.ModuleType, classes: list[type], report: Report) -> None:
        self.what = what
        self.report = report
        self.module = module.__name__
        self.skip = _reachable(exempt)
        self.skip.update(what)
        for cls in classes:  # their own namespaces hold what the rebuild replaces
            self.skip.update(id(n) for n in gc.get_referents(_type_attr(cls, "__dict__")))
        self.family: set[int] = set()
        for cls in classes:
            self.family.update(id(c) for c in _with_subclasses(cls))
        self.namespaces = {id(d): m for m, d in _namespaces()}
        self.found: dict[int, tuple[Any, str | None, str]] = {}  # holder -> key, what
        self.narrow: set[int] = set()  # containers holding only functions (see _first)

    def run(self, walked: list[Any] | None) -> None:
        from ._heap import referrers

        pending: dict[int, tuple[Any, str]] = {}  # container -> what it holds
        if walked is None:  # the update made no heap walk of its own: one pass here
            self.report.heap_walks += 1
            targets = [obj for obj, _ in self.what.values()]
            self.skip.add(id(targets))
            walked = referrers(targets)
            del targets
        self.skip.add(id(walked))
        for i in range(len(walked)):
            # (one the walk found that has died since, a temporary list of the engine's,
            # is held by `walked` alone: it holds nothing any more)
            if sys.getrefcount(walked[i]) > 2:
                self._first(walked[i], pending)
        del walked
        labels = self._globals([*pending, *self.found])
        for i in [i for i in pending if i in labels and i not in self.narrow]:  # a global
            ref, desc = pending.pop(i)
            self.found.setdefault(i, (ref, None, desc))
        if pending:
            self.report.heap_walks += 1
            boxes: list[tuple[Any, str]] = []  # containers holding one: module globals?
            for owner in referrers([obj for obj, _ in pending.values()]):
                self._owner(owner, pending, boxes)
            labels.update(self._globals([id(box) for box, _ in boxes]))
            for box, desc in boxes:
                if id(box) in labels:
                    self.found.setdefault(id(box), (box, None, desc))
            labels.update(self._globals([i for i in self.found if i not in labels]))
        if self.found:
            self._confirm(referrers)
        for i, (holder, key, desc) in self.found.items():
            label = labels.get(i) or _label(holder if is_a(holder, type) else type(holder))
            self.report.skip(f"{label}.{key}" if key is not None else label,
                             f"holds {desc}, and was not re-derived: what it derived from "
                             "the old definition stays old (restart, or re-create it)")

    def _confirm(self, referrers: Callable[[list[Any]], list[Any]]) -> None:
        """Keep only the holders the program itself still refers to: one that only
        hotswap keeps (a registration an earlier update replaced, in its undo log) is
        none of the program's business. One more pass, only when there is one to name."""
        self.report.heap_walks += 1
        holders = [holder for holder, _, _ in self.found.values()]
        ids = {id(h) for h in holders}
        mine = {id(holders), *(id(v) for v in self.found.values())}
        kept: set[int] = set()
        for ref in referrers(holders):
            if id(ref) in mine or id(ref) in self.skip or is_a(ref, types.FrameType) or \
                    _framework_internal(type(ref)):
                continue
            kept.update(i for i in map(id, gc.get_referents(ref)) if i in ids)
        self.found = {i: v for i, v in self.found.items() if i in kept}

    def _held(self, ref: Any) -> list[tuple[str | None, str]]:
        """(attribute or key, description) of each changed object `ref` holds."""
        box = ref if type(ref) in _CONTAINERS else instance_dict(ref)
        if box is None:
            return []
        if type(box) is dict:
            items: Iterable[tuple[Any, Any]] = [*box.items(), *((k, k) for k in box)]
        else:
            items = ((None, v) for v in box)
        return [(k if type(k) is str else None, self.what[id(v)][1])
                for k, v in items if id(v) in self.what]

    def _ignored(self, ref: Any) -> bool:
        kind = type(ref)
        return id(ref) in self.skip or id(ref) in self.namespaces or \
            id(kind) in self.family or _framework_internal(kind)

    def _first(self, ref: Any, pending: dict[int, tuple[Any, str]]) -> None:
        """A referrer of a changed object: a holder (an object with attributes), or a
        container whose owner is looked for next (a dict, a validator object)."""
        if self._ignored(ref) or is_a(ref, _NEVER):
            return
        held = self._held(ref)
        if type(ref) not in _CONTAINERS and held and instance_dict(ref) is not None:
            self.found.setdefault(id(ref), (ref, *held[0]))
            return
        desc = held[0][1] if held else self._through(ref)
        if desc is not None:
            pending[id(ref)] = (ref, desc)
            # A function is named only by an object whose attribute it is (as before
            # classes were looked for): held in a registry, it is the live function.
            if all(type(self.what[id(v)][0]) is FunctionType for v in self._values(ref)):
                self.narrow.add(id(ref))

    def _values(self, ref: Any) -> list[Any]:
        """The changed objects `ref` refers to."""
        return [v for v in gc.get_referents(ref) if id(v) in self.what]

    def _through(self, ref: Any) -> str | None:
        """What a referrer that is not a container holds (a validator object, a bound
        method of an old validator): found through its references."""
        for obj in gc.get_referents(ref):
            if id(obj) in self.what:
                return f"{self.what[id(obj)][1]} (through a {type(ref).__name__})"
        return None

    def _owner(self, owner: Any, pending: dict[int, tuple[Any, str]],
               boxes: list[tuple[Any, str]]) -> None:
        """An object referring to a container that holds a changed object: an object
        with attributes, a class (a registry kept on a class), or a module's global
        container holding it in turn."""
        if self._ignored(owner) or id(owner) in pending:
            return
        kind = type(owner)
        if is_a(owner, type):
            self._class_owner(owner, pending)
        elif kind in _CONTAINERS:
            inner = owner.values() if kind is dict else owner
            hit = next((pending[id(x)][1] for x in list(inner)
                        if id(x) in pending and id(x) not in self.narrow), None)
            if hit is not None:
                boxes.append((owner, hit))
        elif not is_a(owner, _NEVER):
            attrs = instance_dict(owner)
            if attrs is not None and id(attrs) in pending:  # its own attribute dict
                self.found.setdefault(id(owner), (owner, *self._held(attrs)[0]))
            elif attrs is not None:
                for key, value in list(attrs.items()):
                    if id(value) in pending and id(value) not in self.narrow:
                        self.found.setdefault(id(owner), (owner, key, pending[id(value)][1]))

    def _class_owner(self, cls: type, pending: dict[int, tuple[Any, str]]) -> None:
        """A class outside the module holding a changed object as a class attribute, or
        a container of them; never what the class says about itself (dunder names)."""
        own = _type_attr(cls, "__dict__")
        if own.get("__module__") == self.module:
            return
        namespace = {id(n) for n in gc.get_referents(own)}
        for key, value in list(own.items()):
            if type(key) is not str or key.startswith("__") and key.endswith("__"):
                continue
            if id(value) in pending and id(value) not in self.narrow:
                desc = pending[id(value)][1]
            elif id(value) in self.what and type(value) is not FunctionType and \
                    not namespace.isdisjoint(pending):
                desc = self.what[id(value)][1]
            else:
                continue
            self.found.setdefault(id(cls), (cls, key, desc))
            return

    def _globals(self, ids: Iterable[int]) -> dict[int, str]:
        """Module globals (not the updated module's) among `ids`, named ``module.NAME``:
        one look at every module's globals, for the few objects asked."""
        wanted = set(ids)
        out: dict[int, str] = {}
        if not wanted:
            return out
        for name, attrs in self.namespaces.values():
            if name == self.module:
                continue
            for key, value in list(attrs.items()):
                if id(value) in wanted:
                    out.setdefault(id(value), f"{name}.{key}")
        return out


def _namespaces() -> list[tuple[tuple[str, dict[str, Any]], dict[str, Any]]]:
    """((name, globals), globals) of every loaded module."""
    out = []
    for name, mod in list(sys.modules.items()):
        attrs = instance_dict(mod) if is_a(mod, types.ModuleType) else None
        if attrs is not None:
            out.append(((name, attrs), attrs))
    return out


def _framework_internal(kind: type) -> bool:
    """Objects of hotswap itself and type expressions (``typing``): never holders."""
    try:
        mod = _type_attr(kind, "__module__")
    except AttributeError:
        return False
    return type(mod) is str and (mod.startswith("hotswap") or mod in _TYPING)


def _with_subclasses(cls: type) -> list[type]:
    out, todo = [], [cls]
    seen: set[int] = set()
    while todo:
        c = todo.pop()
        if id(c) in seen:
            continue
        seen.add(id(c))
        out.append(c)
        try:
            todo.extend(type.__subclasses__(c))
        except TypeError:
            pass
    return out


def _reachable(roots: list[Any], depth: int = 6) -> set[int]:
    """Ids of objects reachable from `roots` through instance attributes, lists, tuples
    and dict values, `depth` steps at most: the parts of a re-derived registration."""
    out: set[int] = set()
    frontier = list(roots)
    for _ in range(depth + 1):
        nxt: list[Any] = []
        for obj in frontier:
            if id(obj) in out or is_a(obj, (type, types.ModuleType, FunctionType)):
                continue
            out.add(id(obj))
            if type(obj) is dict:
                nxt.extend(obj.values())
            elif type(obj) in (list, tuple, set, frozenset):
                nxt.extend(obj)
            else:
                attrs = instance_dict(obj)
                if attrs is not None:
                    out.add(id(attrs))
                    nxt.extend(attrs.values())
        frontier = nxt
    return out
