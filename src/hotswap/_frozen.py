"""What was frozen (``gc.freeze()``) before hotswap was imported.

CPython 3.12 starts with objects of its own frozen (``python3.12 -c "import gc;
print(gc.get_freeze_count())"`` is not 0; 3.11 and 3.13 print 0). The count is read when
the package is imported (its ``__init__`` imports this module first), not when the
engine loads at the first update, maybe after a server froze its heap: see
`_heap.frozen_note`, which tells the objects frozen since then apart.
"""

import gc

AT_IMPORT = gc.get_freeze_count()
