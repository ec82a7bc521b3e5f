"""What was frozen (``gc.freeze()``) before hotswap was imported.

On 3.12, a few hundred constant tuples of CPython's own are frozen as the interpreter
starts. The count is read when the package is imported (its ``__init__`` imports this
module first), not when the engine loads at the first update, maybe after a server froze
its heap: see `_heap.frozen_note`, which tells the objects frozen since then apart.
"""

import gc

AT_IMPORT = gc.get_freeze_count()
