"""Built-in demonstrations of hotswap, one module each, each exposing ``main() -> int``.

A demo module is imported only when it runs, so listing the demos (``--help``) stays cheap
and a new demo is one entry in `DEMOS` plus one module.
"""

from __future__ import annotations

import importlib

# name -> one-line summary (shown by ``python -m hotswap demo --help``)
DEMOS: dict[str, str] = {
    "dask": "client.upload_file vs hotswap.dask.update on a 4-worker LocalCluster",
    "game": "a tiny arena simulation whose rules module is rewritten while it runs",
    "service": "worker threads keep serving requests while their handler module is updated",
}
DEFAULT = "game"


def run(name: str) -> int:
    """Run demo `name` and return its exit code (0: it worked and its checks passed)."""
    if name not in DEMOS:
        raise ValueError(f"unknown demo {name!r}; available: {', '.join(sorted(DEMOS))}")
    module = importlib.import_module(f"{__name__}.{name}")
    return int(module.main())
