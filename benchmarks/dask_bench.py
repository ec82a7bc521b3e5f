"""Time for a cluster to converge on an edit: hotswap.dask.update vs client.upload_file.

    python benchmarks/dask_bench.py                    # 1, 2, 4 and 8 workers, 7 rounds each
    python benchmarks/dask_bench.py --workers 4 8 --rounds 5

For each worker count, one LocalCluster of worker processes (one thread each) gets a
module of 40 functions and 4 classes, with 1,000 instances of its classes held on every
worker. Each round edits one function body; the clock runs from the call until it
returns, which is when every worker (and the scheduler, and for hotswap the client) runs
the new code: both calls wait for every process. Every round is checked afterwards with a
task on every worker (not timed): a round where a worker did not converge voids the run.

Also printed: the slowest worker's own time inside its two phases (plan and apply, from
the per-process reports), to show what the rest is: round trips, the lock, the plugin.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FUNCTIONS, CLASSES = 40, 4


def source(round_: int) -> str:
    """The benchmark module at edit `round_` (function f0's body changes each round)."""
    lines = ["import functools", ""]
    for i in range(FUNCTIONS):
        body = f"x + {round_}" if i == 0 else f"x * {i} + 1"
        lines += [f"def f{i}(x):", f"    return {body}", ""]
    for i in range(CLASSES):
        lines += [f"class C{i}:", "    def __init__(self, v):", "        self.v = v", "",
                  "    def get(self):", f"        return self.v + {i}", ""]
    lines += ["def make(n):",
              f"    return [globals()[f'C{{i % {CLASSES}}}'](i) for i in range(n)]", "",
              "def probe():", "    return f0(0)", ""]
    return "\n".join(lines)


def converged(client: Any, mod: Any, expected: int) -> bool:
    workers = list(client.scheduler_info()["workers"])
    answers = [client.submit(mod.probe, workers=[w], pure=False).result() for w in workers]
    return answers == [expected] * len(workers)


def measure(n: int, rounds: int, folder: Path) -> dict[str, Any]:
    from distributed import Client, LocalCluster

    import hotswap.dask

    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        name = f"bench_mod_{n}"
        path = folder / f"{name}.py"
        path.write_text(source(0))
        importlib.invalidate_caches()
        mod = importlib.import_module(name)
        hotswap.dask.update(client, mod)  # places it on the workers
        held = [client.submit(mod.make, 1000, workers=[w], pure=False)
                for w in client.scheduler_info()["workers"]]
        times: dict[str, list[float]] = {"hotswap.dask.update": [], "upload_file": []}
        inner: list[float] = []
        ok = True
        for r in range(1, rounds + 1):
            path.write_text(source(r))
            start = time.perf_counter()
            report = hotswap.dask.update(client, mod)
            times["hotswap.dask.update"].append(time.perf_counter() - start)
            ok &= converged(client, mod, r)
            inner.append(max(sum(x.duration for x in reps) for a, reps in
                             report.reports.items() if report.roles.get(a) == "worker"))
        up = folder / f"bench_up_{n}.py"  # upload_file on its own module, same cluster
        for r in range(1, rounds + 1):
            up.write_text(source(r))
            start = time.perf_counter()
            client.upload_file(str(up))
            times["upload_file"].append(time.perf_counter() - start)
        del held
    return {"times": times, "inner": inner, "ok": ok}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, Python "
          f"{sys.version.split()[0]}; medians of {args.rounds} rounds, wall clock")
    print(f"{'workers':>7}  {'hotswap.dask.update':>19}  {'upload_file':>11}  "
          f"{'slowest worker, its own phases':>30}")
    failed = False
    sys.dont_write_bytecode = True
    with tempfile.TemporaryDirectory() as tmp:
        sys.path.insert(0, tmp)
        for n in args.workers:
            result = measure(n, args.rounds, Path(tmp))
            med = {k: statistics.median(v) * 1000 for k, v in result["times"].items()}
            inner = statistics.median(result["inner"]) * 1000
            mark = "" if result["ok"] else "  NOT CONVERGED"
            failed |= not result["ok"]
            print(f"{n:>7}  {med['hotswap.dask.update']:>16.0f} ms  "
                  f"{med['upload_file']:>8.0f} ms  {inner:>27.1f} ms{mark}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
