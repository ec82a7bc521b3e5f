"""Slots removed from a class, or given back, in place: the live class keeps its layout.

CPython fixes an instance's memory layout when its class is made (``type_new`` sizes it
from ``__slots__``; ``compatible_for_assignment`` in Objects/typeobject.c refuses a
``__class__`` of another layout), so a class whose
``__slots__`` lost a name cannot take the layout of its new version. Replacing it costs
a move: every instance becomes a new object, found with its holders in a heap pass (two
without the pass in C), and an instance a tuple or a running frame holds cannot move at
all. But a layout with a slot too many serves the new source as well. The live class
keeps it and the removed slot's descriptor leaves the class dict, so the attribute is
gone as the source says, for the class, its subclasses and every instance, whoever holds
them.

That descriptor is the only way to its memory, so it stays on the class (under `HIDDEN`)
for the day the source gives the slot back, which then costs no move either. Both ways,
one pass finds the instances of the class and its subclasses, to empty that memory: a
removed slot holds no state alive, and a slot given back starts unset, as on a class made
anew.

``__slots__`` reads as the source says. Copy and pickle check an instance's size against
the slots they count (``copyreg._slotnames``, cached as ``__slotnames__``): each class of
the family is given its whole layout there, hidden slots included, which they skip as
unset. A subclass made later by the program itself counts only what ``__slots__`` says,
so pickle refuses its instances (see the README's limits).
"""

from __future__ import annotations

import sys
import types
from typing import Any

from .._plain import dataclass, field
from .._ops import MISSING, Op, Undo

HIDDEN = "__hotswap_hidden_slots__"  # on a class: name -> the descriptor of a slot removed
_POINTER = (sys.maxsize.bit_length() + 1) // 8  # bytes in a pointer (a slot)


@dataclass
class SlotChange:
    """The slots to take out of a live class's dict, and the hidden ones to put back."""

    hide: list[str]
    show: list[str]


def own_slots(cls: type) -> dict[str, Any]:
    """The descriptors of the slots `cls` itself added to the layout, still in its dict."""
    own = type.__getattribute__(cls, "__dict__")
    return {k: v for k, v in own.items()
            if type(v) is types.MemberDescriptorType and v.__objclass__ is cls}


def hidden(cls: type) -> dict[str, Any]:
    """The descriptors of the slots `cls` added to the layout and the source removed."""
    return dict(type.__getattribute__(cls, "__dict__").get(HIDDEN, {}))


def reslot(new: type, live: type) -> SlotChange | None:
    """How `live`, keeping its layout, serves the slots of its new version `new`; None when
    it cannot (a slot added, ``__dict__`` or ``__weakref__`` gained or lost, another base
    layout): the new class must replace it."""
    def meta(cls: type, name: str) -> Any:
        return type.__getattribute__(cls, name)
    if type(new) is not type(live) or meta(new, "__itemsize__") != meta(live, "__itemsize__"):
        return None
    if any(bool(meta(new, a)) != bool(meta(live, a))
           for a in ("__dictoffset__", "__weakrefoffset__")):
        return None
    wanted, visible, stashed = own_slots(new), own_slots(live), hidden(live)
    layout = {**visible, **stashed}
    if not wanted.keys() <= layout.keys():
        return None
    # What the new class lacks is exactly the slots hidden: same bases, same other fields.
    if meta(live, "__basicsize__") - meta(new, "__basicsize__") != \
            (len(layout) - len(wanted)) * _POINTER:
        return None
    return SlotChange(sorted(visible.keys() - wanted.keys()),
                      sorted(wanted.keys() & stashed.keys()))


def layout_names(cls: type) -> list[str]:
    """Every slot in the layout of `cls`'s instances, hidden ones too (what copy and
    pickle must count to accept its size)."""
    names: list[str] = []
    for klass in type.__getattribute__(cls, "__mro__"):
        names.extend(n for n in [*own_slots(klass), *hidden(klass)] if n not in names)
    return names


def counts_hidden(cls: type) -> bool:
    """Whether a class's layout has a hidden slot (its ``__slotnames__`` must say so)."""
    return any(HIDDEN in type.__getattribute__(k, "__dict__")
               for k in type.__getattribute__(cls, "__mro__"))


@dataclass
class CountSlots(Op):
    """Give classes whose layout has hidden slots the ``__slotnames__`` that copy and
    pickle need (recounted when this applies: an earlier op may have hidden a slot)."""

    classes: list[type]

    def apply(self) -> Undo:
        before = [(c, type.__getattribute__(c, "__dict__").get("__slotnames__", MISSING))
                  for c in self.classes]
        for cls in self.classes:
            if counts_hidden(cls):
                type.__setattr__(cls, "__slotnames__", layout_names(cls))

        def undo() -> None:
            for cls, value in before:
                if value is not MISSING:
                    type.__setattr__(cls, "__slotnames__", value)
                elif "__slotnames__" in type.__getattribute__(cls, "__dict__"):
                    type.__delattr__(cls, "__slotnames__")
        return undo


@dataclass
class Reslot(Op):
    """Hide the slots the source removed from a live class, give back those it restored,
    and empty them in every instance of its `family` (itself and its subclasses), which
    the update's heap walk finds. Applied before the class's other entries, which may bind
    a hidden slot's name to something else (a property, a class attribute)."""

    cls: type
    change: SlotChange
    family: list[type]
    instances: list[Any] = field(default_factory=list)

    def weight(self) -> int:
        return 1 + len(self.instances) * len(self.change.hide + self.change.show)

    def apply(self) -> Undo:
        cls, change = self.cls, self.change
        own = type.__getattribute__(cls, "__dict__")
        entries = {k: own.get(k, MISSING) for k in (*change.hide, *change.show, HIDDEN)}
        stash = hidden(cls)
        slots = {**own_slots(cls), **stash}
        # What was emptied: instances in a list of their own, never in tuples, so that a
        # later move to a new layout finds it among their holders and rewrites it.
        emptied: list[Any] = []
        values: list[tuple[Any, Any]] = []  # (descriptor, value), as `emptied` goes

        def undo() -> None:
            for obj, (slot, value) in zip(reversed(emptied), reversed(values), strict=False):
                slot.__set__(obj, value)
            for key, value in entries.items():
                if value is not MISSING:
                    type.__setattr__(cls, key, value)
                elif key in own:
                    type.__delattr__(cls, key)

        try:
            for name in change.show:
                type.__setattr__(cls, name, stash.pop(name))
            for name in change.hide:
                stash[name] = own[name]
                type.__delattr__(cls, name)
            if stash:
                type.__setattr__(cls, HIDDEN, stash)
            elif HIDDEN in own:
                type.__delattr__(cls, HIDDEN)
            for name in (*change.hide, *change.show):
                slot = slots[name]
                for obj in self.instances:
                    if not issubclass(type(obj), cls):  # its class was reassigned since
                        continue
                    try:
                        value = slot.__get__(obj)
                    except AttributeError:
                        continue
                    slot.__delete__(obj)
                    emptied.append(obj)
                    values.append((slot, value))
        except BaseException:
            undo()
            raise
        self.instances = []  # the undo holds those it emptied; the rest may die
        return undo
