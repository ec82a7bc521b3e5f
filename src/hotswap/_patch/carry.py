"""State that changes its home when an instance moves to a new layout: an attribute the
old instances keep in their attribute dict that the new class keeps in a slot of that
name (a class that gains ``__slots__``), and a slot value the new class has no slot for
but an attribute dict (see .instances, `MoveInstances`). The slots both layouts have and
the dict itself go across there; this carries the rest, and counts what has no place in
the new layout (no slot of its name, no attribute dict), for the report to name.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from .._plain import dataclass
from .._ops import slot_names
from .._safe import instance_dict

_MISSING = object()
# What carrying changed in the dicts the twins share with the old instances, to undo:
# (dict, key, the value before or _MISSING).
Log = list[tuple[dict[str, Any], str, Any]]


@dataclass
class Carry:
    """How the state of instances of `live` reaches their twins of `new`: `into_slots`,
    new slots whose value an old instance keeps (if at all) in its dict; `into_dict`, old
    slots the new class has no slot for; `old_dict`, `new_dict`, whether instances of each
    have an attribute dict (the twin's is the old one itself)."""

    into_slots: list[str]
    into_dict: list[str]
    old_dict: bool
    new_dict: bool

    def apply(self, olds: list[Any], twins: list[Any], moved: dict[int, Any],
              log: Log) -> Counter[str]:
        """Carry each old instance's state into its twin. A value carried into a slot is
        one of the instances that move (`moved`: id of the old one to its twin) or else
        itself. Returns how many instances had each attribute that found no place."""
        lost: Counter[str] = Counter()
        for old, twin in zip(olds, twins, strict=True):
            state = instance_dict(old) if self.old_dict else None
            for name in self.into_slots:
                if state is None or name not in state:
                    continue
                value = state[name]
                object.__setattr__(twin, name, moved.get(id(value), value))
                if self.new_dict:  # the twin's dict: the slot is where it lives now
                    log.append((state, name, value))
                    del state[name]
            for name in self.into_dict:
                try:
                    value = object.__getattribute__(old, name)
                except AttributeError:
                    continue
                if state is not None and self.new_dict:
                    log.append((state, name, state.get(name, _MISSING)))
                    state[name] = value
                else:
                    lost[name] += 1
            if state is not None and not self.new_dict:
                lost.update(k for k in state if k not in self.into_slots)
        return lost


def plan(live: type, new: type, old_dict: bool, new_dict: bool) -> Carry | None:
    """What must be carried from instances of `live` to twins of `new` beyond the slots
    both have and the dict; None when nothing."""
    old_slots, new_slots = slot_names(live), slot_names(new)
    into_slots = [n for n in new_slots if n not in old_slots] if old_dict else []
    into_dict = [n for n in old_slots if n not in new_slots]
    if not into_slots and not into_dict and not (old_dict and not new_dict):
        return None
    return Carry(into_slots, into_dict, old_dict, new_dict)


def undo(log: Log) -> None:
    """Put back what carrying changed in the shared dicts, latest first."""
    for state, name, value in reversed(log):
        if value is _MISSING:
            state.pop(name, None)
        else:
            state[name] = value


def lost_reason(lost: Counter[str], moved: int) -> str:
    """The report's words for attributes the new layout has no place for."""
    names = ", ".join(f"{name!r} ({count})" for name, count in sorted(lost.items()))
    return (f"attribute(s) of moved instances that the new layout has no slot or __dict__ "
            f"for were not carried over: {names} of {moved} instance(s)")
