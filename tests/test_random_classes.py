"""Property: after random edits of classes with mixed features (plain classes, dataclasses,
frozen dataclasses, ``__slots__`` classes, Enum/IntEnum, subclasses using zero-argument
``super()``; methods, properties with setters, classmethods, staticmethods, an
``lru_cache``, methods under a ``functools.wraps`` decorator, private names, constants,
nested classes, ``__hotswap_migrate__``), instances made before an update behave like
instances of a fresh import of the new source built with the same arguments, wherever
the report does not say otherwise.

Models, rendering and edits are in tests/helpers/class_strategies.py. After each update of a live
module (``mf.update``), every instance made at any earlier version (and every enum
member) is compared with one built from ``modules.fresh(new_source)``: every member the
new source exposes (methods with each call argument, properties, property setters, class
and static methods, the private method, ``Inner().get``), every constant, which names
exist at all, the instance state, dataclass ``repr``/``==``/``hash``/``asdict``, enum
member identity, value and lookup by value. The class objects keep their identity.

Where the report says otherwise:

* a class in ``report.replaced`` (its ``__slots__`` layout changed): instances it could not
  move stay on the old class object; a class in ``report.skipped`` kept a base that was
  replaced. Such instances must keep their *old* behaviour: they are compared with a
  *hybrid* oracle, the source of the class graph as it really is (the old class's old
  source under another name, under the bases it really has). Instances held in a tuple
  (which hotswap cannot rewrite) exercise this path. After later updates they are only
  required not to turn into some other class.
* an instance moved to a new slot layout may lack a new slot that no
  ``__hotswap_migrate__`` filled: the oracle instance gets the same slot deleted (and
  then both must fail the same way where it is read);
* an IntEnum member whose value changed keeps its old value (``report.skipped``).

Run with HOTSWAP_EXAMPLES=<n> for more examples (default 30).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import os
import sys
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from hypothesis import HealthCheck, given, note, settings

from helpers.class_strategies import (CONST_NAMES, KIND, RANK, History, Klass, Member, Model,
                                      histories, render, render_class)
from helpers.counterexamples import as_test
from helpers.outcomes import outcome as outcome_of
from helpers.outcomes import unmoduled

SETTINGS = settings(max_examples=int(os.environ.get("HOTSWAP_EXAMPLES", 30)), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

MISSING = object()

# a failure is compared with its message freed of the module names, which differ
outcome = functools.partial(outcome_of, clean=unmoduled)


# ------------------------------------------------------------------ observing objects --


def slot_names(cls: type) -> list[str]:
    out: list[str] = []
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        out += [slots] if isinstance(slots, str) else list(slots)
    return [s for s in out if s not in ("__dict__", "__weakref__")]


def slot_state(obj: Any) -> dict[str, Any]:
    out = {}
    for s in slot_names(type(obj)):
        try:
            out[s] = object.__getattribute__(obj, s)
        except AttributeError:
            out[s] = MISSING
        except Exception as exc:  # noqa: BLE001 - a broken slot is compared, not hidden
            out[s] = f"<reading it raised {type(exc).__name__}: {exc}>"
    return out


def dict_of(obj: Any) -> dict[str, Any] | None:
    try:
        return object.__getattribute__(obj, "__dict__")
    except AttributeError:
        return None


def snapshot(obj: Any) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    d = dict_of(obj)
    return (dict(d) if d is not None else None), slot_state(obj)


def restore(obj: Any, snap: tuple[dict[str, Any] | None, dict[str, Any]]) -> None:
    d, slots = snap
    for s, v in slots.items():
        if v is MISSING:
            try:
                object.__delattr__(obj, s)
            except AttributeError:
                pass
        else:
            object.__setattr__(obj, s, v)
    if d is not None:
        live = dict_of(obj)
        live.clear()
        live.update(d)


def probe(obj: Any, model: Model, cname: str, calls: tuple[int, ...],
          orig: dict[str, str]) -> dict[tuple[Any, ...], Any]:
    """What an instance (or enum member) of class `cname` of `model` answers.

    `orig` maps the model's class names to the names the classes were compiled under
    (private names mangle with them)."""
    out: dict[tuple[Any, ...], Any] = {}
    k = model.get(cname)
    if not k.is_enum:
        for c in CONST_NAMES:
            out[("const", c)] = outcome(getattr, obj, c)
    for name in RANK:
        if name != "__pm":
            out[("has", name)] = hasattr(obj, name)
    for name, owner in model.members_of(cname).items():
        kind = KIND[name]
        if name == "__pm":
            continue
        if kind == "prop":
            out[("prop", name)] = outcome(getattr, obj, name)
            if owner.members[name].setter is not None:
                for v in calls:
                    snap = snapshot(obj)
                    out[("set", name, v)] = (outcome(setattr, obj, name, v),
                                             outcome(getattr, obj, name),
                                             outcome(getattr, obj, "x"))
                    restore(obj, snap)
        elif kind == "inner":
            for a in calls:
                out[("inner", a)] = outcome(lambda a: getattr(obj, "Inner")().get(a), a)
        else:
            for a in calls:
                out[(kind, name, a)] = outcome(lambda a: getattr(obj, name)(a), a)
    for i, owner in enumerate(model.privates_of(cname)):
        mangled = f"_{orig.get(owner.name, owner.name)}__pm"
        for a in calls:
            out[("private", i, a)] = outcome(lambda a: getattr(obj, mangled)(a), a)
    return out


def class_probe(cls: type, model: Model, cname: str,
                calls: tuple[int, ...]) -> dict[tuple[Any, ...], Any]:
    out: dict[tuple[Any, ...], Any] = {}
    k = model.get(cname)
    if not k.is_enum:
        for c in CONST_NAMES:
            out[("const", c)] = outcome(getattr, cls, c)
    for name in RANK:
        if name != "__pm":
            out[("has", name)] = hasattr(cls, name)
    for name in model.members_of(cname):
        if KIND[name] in ("cls", "static", "lru"):
            for a in calls:
                out[(name, a)] = outcome(lambda a: getattr(cls, name)(a), a)
    if k.family in ("data", "frozen"):
        out["fields"] = [f.name for f in dataclasses.fields(cls)]
    return out


def loose(observed: dict[Any, Any]) -> dict[Any, Any]:
    """Exceptions by type only (their messages name classes, which the hybrid oracle
    renames)."""
    def fix(v: Any) -> Any:
        if isinstance(v, tuple) and v and v[0] == "raised":
            return v[:2]
        if isinstance(v, tuple):
            return tuple(fix(x) for x in v)
        return v
    return {k: fix(v) for k, v in observed.items()}


def diff(live: dict[Any, Any], want: dict[Any, Any]) -> str:
    keys = sorted(set(live) | set(want), key=repr)
    return "; ".join(f"{k}: live {live.get(k, '-')} != expected {want.get(k, '-')}"
                     for k in keys if live.get(k, "-") != want.get(k, "-"))


# ------------------------------------------------------------------- the class graph --


@dataclass
class Seen:
    """A class object of the live module, as last seen being ``module.<name>``."""

    box: tuple[type]  # a tuple: hotswap rewrites references to replaced classes elsewhere
    name: str
    spec: Klass  # its source when it was last current
    last_current: int
    consistent: int  # the last step it was current under the model's base


@dataclass
class Rec:
    """One old instance (or enum member), held by `World.held` or pinned in a tuple."""

    cname: str
    step: int
    index: int
    pinned: bool = False
    member: str | None = None
    present: set[str] = field(default_factory=set)  # slots it had when last looked at


@dataclass
class World:
    args: tuple[int, int]
    calls: tuple[int, ...]
    held: list[Any] = field(default_factory=list)  # rewritable: instances can move
    pins: list[tuple[Any]] = field(default_factory=list)  # tuples: instances cannot move
    recs: list[Rec] = field(default_factory=list)
    seen: dict[int, Seen] = field(default_factory=dict)
    idents: dict[str, tuple[type]] = field(default_factory=dict)
    member_skips: set[str] = field(default_factory=set)

    def obj(self, rec: Rec) -> Any:
        return self.pins[rec.index][0] if rec.pinned else self.held[rec.index]

    def known(self, cls: Any) -> Seen | None:
        s = self.seen.get(id(cls))
        return s if s is not None and s.box[0] is cls else None

    def base_of(self, cls: type) -> type | None:
        return next((b for b in cls.__bases__ if self.known(b) is not None), None)


def spawn(world: World, module: ModuleType, model: Model, step: int) -> None:
    """Instances of every class of `model` (members of every enum), to be checked after
    every later update; slotted classes get one more, held where it cannot be moved."""
    for k in model.classes:
        cls = getattr(module, k.name)
        if k.is_enum:
            for name in k.enum_members:
                world.recs.append(Rec(k.name, step, len(world.held), member=name))
                world.held.append(getattr(cls, name))
            continue
        made = outcome(cls, *world.args)
        assert made[0] == "ok", f"{k.name}{world.args} at v{step} raised {made[1:]}"
        del made
        rec = Rec(k.name, step, len(world.held))
        world.held.append(cls(*world.args))
        rec.present = {s for s, v in slot_state(world.held[-1]).items() if v is not MISSING}
        world.recs.append(rec)
        if k.family == "slots":
            rec = Rec(k.name, step, len(world.pins), pinned=True)
            world.pins.append((cls(*world.args),))
            rec.present = {s for s, v in slot_state(world.pins[-1][0]).items()
                           if v is not MISSING}
            world.recs.append(rec)


def warm(world: World, model: Model) -> None:
    """Call everything once, so that caches (lru_cache) hold results of this version."""
    orig = {k.name: k.name for k in model.classes}
    for rec in world.recs:
        probe(world.obj(rec), model, rec.cname, world.calls, orig)


def record_current(world: World, module: ModuleType, model: Model, step: int) -> None:
    """Record the class objects that are current at `step`."""
    for k in model.classes:
        cls = getattr(module, k.name)
        s = world.known(cls)
        if s is None:
            s = Seen((cls,), k.name, copy.deepcopy(k), step, -1)
            world.seen[id(cls)] = s
        s.name, s.spec, s.last_current = k.name, copy.deepcopy(k), step
        want = getattr(module, k.base) if k.base else None
        if world.base_of(cls) is want:
            s.consistent = step
        world.idents[k.name] = (cls,)


@dataclass
class Graph:
    """The live class graph after an update, and the hybrid oracle it calls for."""

    hnames: dict[int, str]  # id(class object) -> its name in the hybrid model
    model: Model  # the hybrid model (the new model when nothing deviates)
    orig: dict[str, str]  # hybrid name -> name the class was compiled under
    modes: dict[int, str]  # id(class object) -> "fresh", "hybrid" or "old"


def graph(world: World, module: ModuleType, model: Model, step: int,
          replaced: set[str], skipped: set[str]) -> Graph:
    roots = [getattr(module, k.name) for k in model.classes]
    roots += [type(world.obj(r)) for r in world.recs]
    objs: list[type] = []
    for cls in roots:
        c: type | None = cls
        while c is not None and all(c is not o for o in objs):
            s = world.known(c)
            if s is None:
                if any(c is getattr(module, k.name) for k in model.classes):
                    break  # a class new at this step: registered below
                raise AssertionError(f"an instance's class {c!r} is no class of the module's")
            objs.append(c)
            c = world.base_of(c)
    for k in model.classes:  # classes new at this step (a replacement)
        cls = getattr(module, k.name)
        if world.known(cls) is None:
            # new: as if it had been as the model says until now
            world.seen[id(cls)] = Seen((cls,), k.name, copy.deepcopy(k), step, step - 1)
            objs.append(cls)
    hnames: dict[int, str] = {}
    stale = 0
    for c in objs:
        s = world.known(c)
        assert s is not None
        if getattr(module, s.name, None) is c and model.has(s.name):
            hnames[id(c)] = s.name
        else:
            stale += 1
            hnames[id(c)] = f"{s.name}_s{stale}"
    deviation: dict[int, str | None] = {}  # id -> None (as the model says), "fresh", "old"
    for c in objs:
        s = world.known(c)
        assert s is not None
        base = world.base_of(c)
        if hnames[id(c)] != s.name:  # a class object the module no longer has
            assert s.name in replaced or s.last_current < step - 1, \
                f"{s.name}: instances stay on an old class object but the report " \
                f"does not say {s.name} was replaced"
            deviation[id(c)] = "fresh" if s.last_current == step - 1 else "old"
            continue
        k = model.get(s.name)
        want = getattr(module, k.base) if k.base else None
        if base is want:
            deviation[id(c)] = None
            continue
        assert s.name in skipped or s.consistent < step - 1, \
            f"{s.name}: its base is {base!r}, not {want!r} as the source says, and the " \
            f"report does not say {s.name} was left on its old version"
        deviation[id(c)] = "fresh" if s.consistent == step - 1 else "old"
    modes: dict[int, str] = {}
    for c in objs:
        mode = "fresh"
        x: type | None = c
        while x is not None:
            d = deviation[id(x)]
            if d == "old":
                mode = "old"
            elif d == "fresh" and mode == "fresh":
                mode = "hybrid"
            x = world.base_of(x)
        modes[id(c)] = mode
    if all(d is None for d in deviation.values()):
        return Graph(hnames, model, {k.name: k.name for k in model.classes}, modes)
    classes: list[Klass] = []
    orig: dict[str, str] = {}
    for c in objs:
        s = world.known(c)
        assert s is not None
        spec = copy.deepcopy(model.get(s.name) if hnames[id(c)] == s.name else s.spec)
        spec.name = hnames[id(c)]
        base = world.base_of(c)
        spec.base = hnames[id(base)] if base is not None else None
        classes.append(spec)
        orig[spec.name] = s.name
    return Graph(hnames, Model(classes, list(model.decos)), orig, modes)


# --------------------------------------------------------------------------- checking --


def qualnames(names: list[str], modname: str) -> set[str]:
    assert all(n.startswith(modname + ".") for n in names), names
    return {n[len(modname) + 1:] for n in names}


def check_instance(world: World, rec: Rec, module: ModuleType, fresh: ModuleType,
                   hybrid: ModuleType | None, g: Graph, model: Model, step: int,
                   replaced: set[str], hooked: set[str]) -> None:
    obj = world.obj(rec)
    what = f"old {rec.cname} from v{rec.step}{' (pinned)' if rec.pinned else ''}"
    cls = type(obj)
    mode = g.modes[id(cls)]
    if mode == "old":
        return  # stayed on an old class at an earlier update; nothing is promised since
    hname = g.hnames[id(cls)]
    if mode == "fresh":
        assert cls is getattr(module, rec.cname), f"{what}: type changed"
        oracle, omodel = fresh, model
    else:
        assert hybrid is not None
        oracle, omodel = hybrid, g.model
    exp = getattr(oracle, hname)(*world.args)

    # State: everything the oracle instance has, the old one has (with the same value),
    # except slots it never had that no hook was due to fill.
    live_slots, exp_slots = slot_state(obj), slot_state(exp)
    due = set()
    if mode == "fresh" and model.has_hook(rec.cname) and rec.cname in hooked | replaced:
        due = model.hook_sets(rec.cname)
    for s, v in exp_slots.items():
        lv = live_slots.get(s, MISSING)
        if v is MISSING:
            continue
        if lv is MISSING:
            assert s not in rec.present, f"{what}: lost the value of its slot {s}"
            assert s not in due, f"{what}: __hotswap_migrate__ did not fill the new slot {s}"
            object.__delattr__(exp, s)
        else:
            assert lv == v, f"{what}: slot {s} = {lv}, fresh instance has {v}"
    rec.present = {s for s, v in slot_state(obj).items() if v is not MISSING}
    live_dict, exp_dict = dict_of(obj), dict_of(exp)
    if exp_dict is not None:
        assert live_dict is not None, f"{what}: no __dict__"
        # (an attribute may come from a class default instead)
        missing = {a: v for a, v in exp_dict.items()
                   if live_dict.get(a, getattr(cls, a, MISSING)) != v}
        assert not missing, f"{what}: state {live_dict} lacks {missing} (fresh: {exp_dict})"

    orig = dict(g.orig)
    live_probe = probe(obj, omodel, hname, world.calls, orig)
    want = probe(exp, omodel, hname, world.calls, {n: n for n in orig})
    if mode == "hybrid":
        live_probe, want = loose(live_probe), loose(want)
    if mode == "fresh" and not any(v is MISSING for v in slot_state(exp).values()):
        bad = {k: v for k, v in want.items()
               if k[0] != "const" and isinstance(v, tuple) and v[:1] == ("raised",)}
        assert not bad, f"generator bug: fresh {hname} instance raised {bad}"
    assert live_probe == want, f"{what} ({mode}): {diff(live_probe, want)}"

    k = model.get(rec.cname)
    if mode == "fresh" and k.family in ("data", "frozen"):
        assert repr(obj) == repr(exp), f"{what}: repr {obj!r} != fresh {exp!r}"
        assert dataclasses.asdict(obj) == dataclasses.asdict(exp), f"{what}: asdict"
        new = getattr(module, rec.cname)(*world.args)
        assert obj == new, f"{what}: {obj!r} != new {new!r}"
        if k.family == "frozen":
            assert hash(obj) == hash(new), f"{what}: hash"


def check_member(world: World, rec: Rec, module: ModuleType, fresh: ModuleType,
                 model: Model) -> None:
    obj = world.obj(rec)
    assert rec.member is not None
    what = f"old member {rec.cname}.{rec.member} from v{rec.step}"
    live_cls, fresh_cls = getattr(module, rec.cname), getattr(fresh, rec.cname)
    assert type(obj) is live_cls, f"{what}: type changed"
    assert getattr(live_cls, rec.member) is obj, f"{what}: identity"
    assert live_cls[rec.member] is obj, f"{what}: lookup by name"
    if f"{rec.cname}.{rec.member}" in world.member_skips:
        return  # the report says it keeps its old value
    fm = getattr(fresh_cls, rec.member)
    assert obj.value == fm.value, f"{what}: value {obj.value!r} != fresh {fm.value!r}"
    assert live_cls(fm.value) is obj, f"{what}: lookup by value"
    assert repr(obj) == repr(fm), f"{what}: repr"
    orig = {k.name: k.name for k in model.classes}
    live_probe = probe(obj, model, rec.cname, world.calls, orig)
    want = probe(fm, model, rec.cname, world.calls, orig)
    assert live_probe == want, f"{what}: {diff(live_probe, want)}"


def check_classes(world: World, module: ModuleType, fresh: ModuleType,
                  hybrid: ModuleType | None, g: Graph, model: Model,
                  replaced: set[str]) -> None:
    for k in model.classes:
        cls = getattr(module, k.name)
        if k.name not in replaced and k.name in world.idents:
            assert cls is world.idents[k.name][0], f"{k.name}: lost its identity"
        if k.name in replaced:
            assert cls is not world.idents[k.name][0], \
                f"{k.name}: reported replaced, but is the same class object"
        mode = g.modes[id(cls)]
        if mode == "old":
            continue
        oracle, omodel = (fresh, model) if mode == "fresh" else (hybrid, g.model)
        assert oracle is not None
        hname = g.hnames[id(cls)]
        live_probe = class_probe(cls, omodel, hname, world.calls)
        want = class_probe(getattr(oracle, hname), omodel, hname, world.calls)
        if mode == "hybrid":
            live_probe, want = loose(live_probe), loose(want)
        assert live_probe == want, f"class {k.name} ({mode}): {diff(live_probe, want)}"
        if k.is_enum:
            names = [m.name for m in cls]
            assert names == [m.name for m in getattr(fresh, k.name)], f"members of {k.name}"
            assert len(cls) == len(names)


def replay(modules: Any, history: History) -> None:
    note(repr(history))
    before = len(modules.created)
    try:
        sources = history.sources
        mf = modules(sources[0])
        world = World(history.args, history.calls)
        spawn(world, mf.module, history.versions[0], 0)
        warm(world, history.versions[0])
        record_current(world, mf.module, history.versions[0], 0)
        for step in range(1, len(sources)):
            old, new = history.versions[step - 1], history.versions[step]
            report = mf.update(sources[step])
            assert report.error is None, report
            update_checks(modules, mf, world, report, old, new, sources[step], step)
    finally:
        # The fixture drops its modules when the test ends, after every example: dropped
        # now, they do not make the heap (which updates walk) grow from example to example.
        for name in modules.created[before:]:
            sys.modules.pop(name, None)


def update_checks(modules: Any, mf: Any, world: World, report: Any, old: Model, new: Model,
                  source: str, step: int) -> None:
    module = mf.module
    replaced = qualnames(report.replaced, mf.name)
    skip_names = qualnames([n for n, _ in report.skipped], mf.name)
    classes = {k.name for k in new.classes}
    skipped = {n for n in skip_names if n in classes}
    for n in skip_names:
        head, _, tail = n.partition(".")
        if head in classes and new.get(head).is_enum and tail in new.get(head).enum_members:
            world.member_skips.add(n)
    unexpected = {n for n in replaced if new.get(n).family != "slots"} if \
        replaced <= classes else replaced - classes
    assert not unexpected, f"replaced, though their layout did not change: {unexpected}"
    # classes whose source changed run their __hotswap_migrate__ on old instances
    hooked = {k.name for k in new.classes
              if not old.has(k.name) or render_class(old.get(k.name)) != render_class(k)}

    fresh = modules.fresh(source)
    g = graph(world, module, new, step, replaced, skipped)
    hybrid = modules.fresh(render(g.model)) if g.model is not new else None
    check_classes(world, module, fresh, hybrid, g, new, replaced)
    old_recs = len(world.recs)
    for phase in ("old", "new"):
        if phase == "new":  # instances made now (by the live classes) are checked as well
            spawn(world, module, new, step)
        for rec in world.recs[old_recs:] if phase == "new" else world.recs[:old_recs]:
            if rec.member is not None:
                check_member(world, rec, module, fresh, new)
            else:
                check_instance(world, rec, module, fresh, hybrid, g, new, step, replaced,
                               hooked)
    warm(world, new)
    record_current(world, module, new, step)


# ------------------------------------------------------------------------- the tests --


@SETTINGS
@given(history=histories(min_updates=1, max_updates=4, max_edits=4))
def test_old_instances_match_fresh_instances(modules, history):
    """Instances (and enum members) made at every version of a module of random classes,
    updated 1-4 times with random edits, agree with instances of a fresh import of the
    latest source, except where the report says they could not be updated."""
    replay(modules, history)


# Counterexamples found by the property above, as explicit examples: each is a small
# history that shows one bug, run by a test of its own (so that each is reported on its
# own while the random test keeps exploring). 1-3 were found at commit fb3de74 (fixed in
# d4d5512), 4 at d4d5512 (fixed in 10d95e1), 5-7 at d4d5512 (still failing at 1a11f52).

DECOS = [("+", 1), ("+", 1)]


def _v(*classes: Klass) -> Model:
    return Model(copy.deepcopy(list(classes)), list(DECOS))


def _k(name: str, family: str, base: str | None = None, members: dict[str, Any] | None = None,
       **kw: Any) -> Klass:
    return Klass(name, family, base,
                 members={n: Member(n, body) for n, body in (members or {}).items()}, **kw)


# 1. An lru_cache under @staticmethod keeps serving results of the old body:
#      class K0:                                  class K0:
#          @staticmethod                              @staticmethod
#          @functools.lru_cache(maxsize=None)         @functools.lru_cache(maxsize=None)
#          def lc0(a):                                def lc0(a):
#              return 0                                   return a
#    after K0.lc0(1) and the update, K0.lc0(1) == 0 (fresh import: 1); K0.lc0(5) == 5.
#    (_plan cleared the cache only when the name was bound to the lru wrapper itself;
#    here it is bound to the staticmethod around it.)
LRU_UNDER_STATICMETHOD = History(
    [_v(_k("K0", "plain", members={"lc0": ("lit", 0)})),
     _v(_k("K0", "plain", members={"lc0": ("arg",)}))],
    [["body of K0.lc0"]], (0, 0), (1,))

# 2. A dataclass field added to a dataclass base does not reach its dataclass subclass:
#      @dataclass                @dataclass               (v2: the base gains a field)
#      class K0:                 class K1(K0):            @dataclass
#          x: int = 0                pass                 class K0:
#          y: int = 0                                         x: int = 0
#                                                             y: int = 0
#                                                             d00: int = 5
#    after the update fields(K1) == (x, y) (fresh import: x, y, d00): an old K1 has d00
#    in its __dict__ but repr(old) == "K1(x=0, y=0)", K1(0, 0) has no d00 and K1(0, 0, 1)
#    raises TypeError; the report names nothing (K1 is not rebuilt, skipped or replaced).
FIELD_ADDED_TO_DATACLASS_BASE = History(
    [_v(_k("K0", "data"), _k("K1", "data", "K0")),
     _v(_k("K0", "data", extras={"d00": 5}, serial=1), _k("K1", "data", "K0"))],
    [["add field K0.d00"]], (0, 0), (1,))

# 3. An instance that has to stay on a replaced class (the report: "keep the old class,
#    which keeps working") breaks in methods using zero-argument super():
#      class K0:                                class K1(K0):
#          __slots__ = ("x", "y")                   __slots__ = ()  ->  ("q10",)
#          def __init__(self, p0, p1): ...          def m0(self, a):
#          def m0(self, a):                             return super().m0(a)
#              return 1
#    with `pinned = (K1(0, 0),)` (a tuple: the instance cannot be moved), after the update
#    pinned[0].m0(1) raises "TypeError: super(type, obj): obj must be an instance or
#    subtype of type" (before: 1): the old class's own m0 has its __class__ cell
#    retargeted to the new K1.
STALE_INSTANCE_SUPER = History(
    [_v(_k("K0", "slots", members={"m0": ("lit", 1)}),
        _k("K1", "slots", "K0", members={"m0": ("super", "m0", ("arg",))})),
     _v(_k("K0", "slots", members={"m0": ("lit", 1)}),
        _k("K1", "slots", "K0", members={"m0": ("super", "m0", ("arg",))},
           extras={"q10": 2}, serial=1))],
    [["add slot K1.q10"]], (0, 0), (1,))

# 4. A __slots__ class moved to another base of the same layout is migrated in place, but
#    gets the staged class's slot descriptors: every read or write of its own slot raises
#      class K0: __slots__ = ("x", "y")   class K1: __slots__ = ("x", "y")   (+ __init__)
#      class K2(K0):              ->      class K2(K1):
#          __slots__ = ("q20",)               (the same body)
#          def __init__(self, p0, p1):
#              super().__init__(p0, p1)
#              self.q20 = 4
#          def m0(self, a):
#              return self.q20
#    after the update old.m0(1) and K2(0, 0) raise "TypeError: descriptor 'q20' for 'K2'
#    objects doesn't apply to a 'K2' object" (report: "names rebound: K2.q20"); a later
#    update that runs a __hotswap_migrate__ on such instances fails with UpdateError.
SLOTS_CLASS_REBASED = History(
    [_v(_k("K0", "slots"), _k("K1", "slots"),
        _k("K2", "slots", "K0", members={"m0": ("st", "q20")}, extras={"q20": 4}, serial=1)),
     _v(_k("K0", "slots"), _k("K1", "slots"),
        _k("K2", "slots", "K1", members={"m0": ("st", "q20")}, extras={"q20": 4}, serial=1))],
    [["class K2(K1)"]], (0, 0), (1,))


# 5. (d4d5512 rebuilds the direct dataclass subclasses of a rebuilt dataclass, but)
#    a) not its subclasses' subclasses: with K2(K1) and K1(K0), all dataclasses, a field
#       d00 added to K0 reaches fields(K1) but not fields(K2) == (x, y);
#    b) nor a direct subclass whose own body changed in the same update (it is patched in
#       place instead): K0 gains d00 while K1.m0's body changes -> fields(K1) == (x, y).
#    Old and new K2 (K1) instances print without d00 and compare without it; the report
#    names nothing.
FIELD_ADDED_TO_DATACLASS_GRANDPARENT = History(
    [_v(_k("K0", "data"), _k("K1", "data", "K0"), _k("K2", "data", "K1")),
     _v(_k("K0", "data", extras={"d00": 5}, serial=1), _k("K1", "data", "K0"),
        _k("K2", "data", "K1"))],
    [["add field K0.d00"]], (0, 0), (1,))
FIELD_ADDED_WHILE_DATACLASS_SUBCLASS_CHANGES = History(
    [_v(_k("K0", "data"), _k("K1", "data", "K0", members={"m0": ("lit", 1)})),
     _v(_k("K0", "data", extras={"d00": 5}, serial=1),
        _k("K1", "data", "K0", members={"m0": ("lit", 2)}))],
    [["add field K0.d00", "body of K1.m0"]], (0, 0), (1,))

# 6. A class replaced for its new __slots__ layout gets a nested class that still runs the
#    old body of a method changed in the same update:
#      class K0:                              class K0:
#          __slots__ = ("x", "y")                 __slots__ = ("x", "y", "q00")
#          ...                                    ...
#          class Inner:                           class Inner:
#              N = 0                                  N = 0
#              def get(self, a):                      def get(self, a):
#                  return 1                               return 2
#    after the update K0.Inner().get(1) == 1 on the new class and on moved instances
#    (fresh import: 2); the report names neither K0.Inner nor its method.
NESTED_CLASS_OF_REPLACED_CLASS = History(
    [_v(_k("K0", "slots", members={"Inner": ("lit", 1)})),
     _v(_k("K0", "slots", members={"Inner": ("lit", 2)}, extras={"q00": 3}, serial=1))],
    [["add slot K0.q00", "body of K0.Inner"]], (0, 0), (1,))

# 7. Same for a method under functools.lru_cache (with or without @staticmethod): in a
#    class replaced for its new layout, it keeps its old body (not just its old cache):
#      class K0:                                class K0:
#          __slots__ = ("x", "y")                   __slots__ = ("x", "y", "q00")
#          @staticmethod                            @staticmethod
#          @functools.lru_cache(maxsize=None)       @functools.lru_cache(maxsize=None)
#          def lc0(a):                              def lc0(a):
#              return 2                                 return a
#    after the update K0.lc0(7) == 2 (fresh import: 7); the report says nothing about it.
LRU_IN_REPLACED_CLASS = History(
    [_v(_k("K0", "slots", members={"lc0": ("lit", 2)})),
     _v(_k("K0", "slots", members={"lc0": ("arg",)}, extras={"q00": 3}, serial=1))],
    [["add slot K0.q00", "body of K0.lc0"]], (0, 0), (7,))


# the property above as a test that runs only the counterexample it is given
_explicit = functools.partial(as_test, base=SETTINGS, histories=histories, replay=replay)


test_counterexample_lru_under_staticmethod = _explicit(LRU_UNDER_STATICMETHOD)
test_counterexample_field_added_to_dataclass_base = _explicit(FIELD_ADDED_TO_DATACLASS_BASE)
test_counterexample_stale_instance_super = _explicit(STALE_INSTANCE_SUPER)
test_counterexample_slots_class_rebased = _explicit(SLOTS_CLASS_REBASED)
test_counterexample_field_added_to_dataclass_grandparent = _explicit(
    FIELD_ADDED_TO_DATACLASS_GRANDPARENT)
test_counterexample_field_added_while_dataclass_subclass_changes = _explicit(
    FIELD_ADDED_WHILE_DATACLASS_SUBCLASS_CHANGES)
test_counterexample_nested_class_of_replaced_class = _explicit(NESTED_CLASS_OF_REPLACED_CLASS)
test_counterexample_lru_in_replaced_class = _explicit(LRU_IN_REPLACED_CLASS)
