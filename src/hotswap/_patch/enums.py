"""Enums: a rebuilt enum is migrated member by member, so members keep their identity.

``Color.RED`` held anywhere stays the very object ``Color.RED`` and ``Color(1)`` returns it.
A member added in the new source is the staged class's member re-classed into the live
enum (same layout: same bases); a removed member leaves the maps; a plain enum's member
whose value changed takes the new value. Members of int/str-valued enums (IntEnum,
StrEnum) are themselves ints or strs, which cannot change value in place: that is
reported, never done halfway.
"""

from __future__ import annotations

import enum
from typing import Any

from .._ops import Plan, Retarget, SetAttr
from .._safe import instance_dict, same_value

# The bookkeeping EnumType keeps in the class namespace; rebuilt from members below.
INTERNALS = frozenset({"_member_names_", "_member_map_", "_value2member_map_",
                       "_unhashable_values_", "_unhashable_values_map_"})


_MEMBER_INTERNALS = frozenset({"_value_", "_name_", "_sort_order_", "__objclass__",
                               "_missing_"})


def is_enum(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, enum.Enum)


def migrate_members(new: type[enum.Enum], live: type[enum.Enum], plan: Plan,
                    skipped: list[tuple[str, str]], name: str) -> dict[str, Any]:
    """Plan the member moves; returns the class entries (members) to set on `live`."""
    members: dict[str, Any] = {}
    old_map: dict[str, Any] = live._member_map_
    # EnumType sets _member_type_ on every enum class (Lib/enum.py); typeshed omits it
    plain = live._member_type_ is object  # type: ignore[attr-defined]
    runtime = _runtime_combinations(live)
    for key, staged in new._member_map_.items():
        current = old_map.get(key)
        if current is None and _hashable(staged._value_) and staged._value_ in runtime:
            # A flag combination the program made (``F.R | F.W``) gets the name the new
            # source gives its value (``RW = R | W``): it stays ``F(3)``, held or not.
            current = runtime[staged._value_]
            plan.add(SetAttr(current, "_name_", staged._name_))
        if current is None:
            plan.add(Retarget(staged, live))
            members[key] = staged
            continue
        members[key] = current
        # attributes a custom __new__/__init__ gives members (HTTPStatus's description)
        mine, theirs = instance_dict(current) or {}, instance_dict(staged) or {}
        for attr, value in theirs.items():
            if attr not in _MEMBER_INTERNALS and not same_value(mine.get(attr), value):
                plan.add(SetAttr(current, attr, value))
        if not same_value(current._value_, staged._value_):
            if plain:
                plan.add(SetAttr(current, "_value_", staged._value_))
            else:
                skipped.append((f"{name}.{key}", "the member is a "
                                f"{live._member_type_.__name__} "  # type: ignore[attr-defined]
                                "and keeps its old value"))
    by_value = {value: members[m._name_] for value, m in new._value2member_map_.items()}
    # Combinations made at run time are members too, cached by value: held ones stay
    # ``F(3)`` while the new flags still have their bits.
    mask = getattr(new, "_flag_mask_", None)
    for value, m in runtime.items():
        if value not in by_value and mask is not None and not value & ~mask:
            by_value[value] = m
    # A named combination the new source no longer names (``RW = R | W`` removed) is a
    # combination like those made at run time: still ``F(3)``, named as the new class
    # names that value (``R|W``).
    for key, m in old_map.items() if issubclass(live, enum.Flag) and mask is not None else ():
        value = m._value_
        if key in new._member_map_ or not isinstance(value, int) or value in by_value \
                or value & ~mask:  # type: ignore[operator]  # the loop runs only with a mask
            continue
        try:
            named = new(value)._name_  # a pseudo-member of the staged class: its own cache
        except Exception:  # noqa: BLE001 - a custom _missing_: leave the member out
            continue
        plan.add(SetAttr(m, "_name_", named))
        by_value[value] = m
    plan.add(SetAttr(live, "_member_map_", members))
    plan.add(SetAttr(live, "_member_names_", list(new._member_names_)))
    plan.add(SetAttr(live, "_value2member_map_", by_value))
    return members


def _runtime_combinations(live: type[enum.Enum]) -> dict[int, Any]:
    """The members of a Flag that no name defines: combinations made at run time."""
    if not issubclass(live, enum.Flag):
        return {}
    named = {id(m) for m in live._member_map_.values()}
    return {value: m for value, m in live._value2member_map_.items()
            if id(m) not in named and isinstance(value, int)}


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
