"""The ``dask`` demo: the same edit reaches a live cluster by ``client.upload_file`` and by
``hotswap.dask.update``, side by side, on a LocalCluster of 4 worker processes.

Each side holds the same state on the workers: instances of the user's class kept in
worker memory (a persisted collection), an actor, and a cached lookup. Then the module is
edited, and later broken in a way that bites only on the workers that lack a setting.
``upload_file`` reloads the file on every worker: old instances stop being instances of
the class, the actor keeps its old methods, and the broken file leaves the workers split.
``hotswap.dask.update`` moves everything to the new code with its state, and refuses the
broken file everywhere. Every claim printed is checked (exit code 1 if one is false).
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from ._common import guarded, heading, indented, verdict

WORKERS = 4

SHAPES_V1 = '''\
"""Shapes kept on the workers (the file the demo edits)."""
import functools
import os

VERSION = 1


class Shape:
    def __init__(self, side):
        self.side = side

    def area(self):
        return self.side * self.side


class Tally:
    """An actor: lives on one worker, counts the shapes it was shown."""

    def __init__(self):
        self.count = 0

    def add(self, n):
        self.count += n
        return self.describe()

    def describe(self):
        return f"{self.count} shapes"


@functools.lru_cache
def price(kind):
    return {"small": 1, "big": 2}[kind]


def make(n):
    return [Shape(i) for i in range(1, n + 1)]


def look(shapes):
    """What a task sees on its worker: the version, isinstance, areas, a price."""
    return (VERSION, all(isinstance(s, Shape) for s in shapes),
            [s.area() for s in shapes], price("big"))
'''

# v2: a method changed (areas in half units), the actor's method changed, the cached
# lookup's table changed.
SHAPES_V2 = (SHAPES_V1.replace("VERSION = 1", "VERSION = 2")
             .replace("return self.side * self.side", "return self.side * self.side * 2")
             .replace('return f"{self.count} shapes"', 'return f"tally: {self.count}"')
             .replace('"big": 2', '"big": 5'))

# v3: a setting that only two of the four workers have (a typical "works on my machine").
SHAPES_V3 = SHAPES_V2.replace("VERSION = 2", 'DATA = os.environ["SHAPES_DATA"]\nVERSION = 3')


def main() -> int:
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("this demo needs dask.distributed: pip install 'hotswap[dask]'")
        return 1
    return guarded(_play)


def _play() -> int:
    from distributed import Client, LocalCluster

    sys.dont_write_bytecode = True
    checks: list[tuple[str, bool]] = []
    with tempfile.TemporaryDirectory(prefix="hotswap-dask-demo-") as tmp, \
            LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True,
                         dashboard_address=None) as cluster, Client(cluster) as client:
        sys.path.insert(0, tmp)
        try:
            addresses = sorted(client.scheduler_info()["workers"])
            # two of the four workers have the setting v3 needs
            client.run(_configure, "/data", workers=addresses[:2])
            heading(f"A LocalCluster of {WORKERS} worker processes")
            checks += _side(client, Path(tmp), "upload_file", "shapes_upload")
            checks += _side(client, Path(tmp), "hotswap.dask.update", "shapes_hotswap")
        finally:
            sys.path.remove(tmp)
    heading("Side by side")
    failures = [claim for claim, ok in checks if not ok]
    for claim, ok in checks:
        print(f"  [{'ok' if ok else 'FAIL'}] {claim}")
    return verdict(failures, len(checks))


def _configure(value: str) -> None:
    """Give a worker the setting v3 reads (run on two of the workers)."""
    os.environ["SHAPES_DATA"] = value


def _side(client: Any, folder: Path, how: str, name: str) -> list[tuple[str, bool]]:
    """Hold state, edit, look; then break the file, look again. Answers the claims."""
    heading(f"{how}: module {name}")
    path = folder / f"{name}.py"
    path.write_text(SHAPES_V1)
    importlib.invalidate_caches()
    mod = importlib.import_module(name)
    _ship(client, how, mod, path)
    addresses = sorted(client.scheduler_info()["workers"])
    held = [client.submit(mod.make, 3, workers=[w], pure=False) for w in addresses]
    tally = client.submit(mod.Tally, actor=True, workers=addresses[:1]).result()
    tally.add(3).result()
    print(indented(_table(client, mod, held)))

    print(f"\n  edit: areas double, the actor's describe(), the price table; then {how}")
    path.write_text(SHAPES_V2)
    _ship(client, how, mod, path)
    looks = client.gather([client.submit(mod.look, h, pure=False) for h in held])
    said = tally.add(1).result()
    print(indented(_table(client, mod, held)) + f"\n    actor says: {said!r}")
    if how == "upload_file":
        claims = [
            (f"{how}: old instances fail isinstance after the reload",
             not any(ok for _v, ok, _a, _p in looks)),
            (f"{how}: old instances still run the old area()",
             all(a == [1, 4, 9] for _v, _ok, a, _p in looks)),
            (f"{how}: the actor still runs the old describe()", said == "4 shapes"),
        ]
    else:
        claims = [
            (f"{how}: old instances are still instances, same objects, new area()",
             all(ok and a == [2, 8, 18] for _v, ok, a, _p in looks)),
            (f"{how}: the actor runs the new describe() with its count kept",
             said == "tally: 4"),
            (f"{how}: the cached lookup answers from the new table",
             all(p == 5 for *_x, p in looks)),
        ]

    print(f"\n  break it: v3 reads a setting only 2 of {len(addresses)} workers have")
    path.write_text(SHAPES_V3)
    refused = _ship(client, how, mod, path)
    versions = [v for v, *_rest in client.gather(
        [client.submit(mod.look, h, pure=False) for h in held])]
    print(indented(_table(client, mod, held)))
    if how == "upload_file":
        claims.append((f"{how}: the broken file left the workers split ({versions})",
                       len(set(versions)) > 1))
    else:
        claims.append((f"{how}: the broken file was refused and changed nothing anywhere",
                       refused and versions == [2] * len(addresses) and mod.VERSION == 2))
    return claims


def _ship(client: Any, how: str, mod: ModuleType, path: Path) -> bool:
    """Send the file the way `how` does; True if it was refused."""
    import hotswap.dask

    try:
        if how == "upload_file":
            client.upload_file(str(path))
        else:
            print(indented(str(hotswap.dask.update(client, mod)), "  > "))
    except Exception as exc:  # what the user sees when it fails
        print(indented(f"{how} raised {type(exc).__name__}: {exc}", "  > "))
        return True
    return False


def _table(client: Any, mod: ModuleType, held: list[Any]) -> str:
    rows = client.gather([client.submit(mod.look, h, pure=False) for h in held])
    return "\n".join(f"worker {i}: v{v}  isinstance={ok}  areas={a}  price('big')={p}"
                     for i, (v, ok, a, p) in enumerate(rows))
