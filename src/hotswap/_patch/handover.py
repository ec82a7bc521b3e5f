"""A replaced class hands its functions over to the class replacing it.

Staging gives a replacing class functions of its own, so that instances which cannot move
to it keep running the old class's methods untouched. When no instance stays behind, the
old functions are what references taken earlier call (a bound method, a function pulled
off the class, a registry entry), and what the next update would have to reach: so they
take the new code and the new class holds them instead of its own copies. One function
object per method again, as if the class had been changed in place.

Not functions using zero-argument ``super()``: their ``__class__`` cell names the old
class, which the instances have left; the new class keeps its own of those.
"""

from __future__ import annotations

from typing import Any

from .._ops import Plan, SetFunction, function_fields
from .._safe import functions_in
from . import dispatch
from .functions import incompatibility
from .rebind import Rebinder


def hand_over(old: type, new: type, plan: Plan) -> None:
    mine = type.__getattribute__(old, "__dict__")
    theirs = type.__getattribute__(new, "__dict__")
    canonical: dict[int, Any] = {}
    for key, value in mine.items():
        olds, news = functions_in(value), functions_in(theirs.get(key))
        if len(olds) != len(news):
            continue
        for fn, repl in zip(olds, news, strict=True):
            if fn is repl or "__class__" in fn.__code__.co_freevars or \
                    "__class__" in repl.__code__.co_freevars:
                continue
            if incompatibility(fn, repl.__code__) is None:
                plan.add(SetFunction(fn, function_fields(repl)))
                canonical[id(repl)] = fn
    taken: set[str] = set()
    for key, value in mine.items():
        adopted = dispatch.adopt(value, theirs.get(key),
                                 lambda x: canonical.get(id(x), x))
        if adopted is not None:  # methods bound earlier dispatch as the new class does
            plan.ops.extend(adopted)
            plan.set_attr(new, key, value)
            taken.add(key)
    rebind = Rebinder({}, {}, canonical, plan)
    for key, value in list(theirs.items()):
        if key in taken:
            continue
        fixed = rebind.fix(value)
        if fixed is not value:
            plan.set_attr(new, key, fixed)
