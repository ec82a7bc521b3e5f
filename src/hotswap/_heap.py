"""The one heap walk an update may make.

Swapping a code object or a class entry needs no walk at all. Only objects that nothing in
the module points to need one: closures made at run time from a changed nested function
(found through the old nested code objects they hold). All targets of one update are
gathered first and found with a single ``gc.get_referrers`` call.
"""

from __future__ import annotations

import gc
import types
from collections.abc import Iterable


def functions_using(codes: Iterable[types.CodeType]) -> list[types.FunctionType]:
    """Every live function whose ``__code__`` is one of `codes`, in one pass over the heap."""
    targets = list(codes)
    if not targets:
        return []
    wanted = {id(c) for c in targets}
    found = []
    for ref in gc.get_referrers(*targets):
        if type(ref) is types.FunctionType and id(ref.__code__) in wanted:
            found.append(ref)
    return found
