"""The first update after a warm-up, instance moves by count, and the engine's import:
hotswap's own rows of the suite (run.py drives them, one fresh process per sample).

- ``first``: a body edit of the generated 200-function module (lines below it moving, or
  not), the first update against
  the median of the next ones, with a `Watcher` set up ahead of time (``watcher``) or
  nothing (``cold``), with `heap` extra objects alive and `program` modules loaded (the
  program's own, in a package the watcher watches, plus libraries: the frameworks
  installed here, then generated library-like modules up to the count).
- ``moves``: a slot added to a four-slot ``__slots__`` class whose `count` instances are
  held by a list, a dict (as values) and a set; the update against one pass of the pass in
  C (or ``gc.get_referrers``) over the same heap, and against the same edit with no
  instance: what is left, over `count`, is the cost per instance.
- ``floor``: the control for ``moves``: the same move of the same instances, held the same
  way, written with CPython's own loops in C and nothing checked (`floor_move`), in a
  process without hotswap: what this machine's memory makes the same work cost per
  instance at each count.
"""

from __future__ import annotations

import gc
import importlib
import os
import statistics
import sys
import time
from collections import deque
from itertools import repeat
from typing import Any

import workloads as w

FRAMEWORKS = ["django", "django.db.models", "sqlalchemy", "sqlalchemy.orm", "fastapi",
              "flask", "pydantic", "IPython"]


def _own_package(folder: str, count: int) -> str:
    """`count` modules of the program's own, in package ``ownpkg`` (30-odd lines each)."""
    pkg = os.path.join(folder, "ownpkg")
    os.makedirs(pkg, exist_ok=True)
    w.write_source(os.path.join(pkg, "__init__.py"), "")
    for i in range(count):
        body = "".join(f"def f{j}(x):\n    return x * {j} + {i}\n\n\n" for j in range(6))
        body += (f"class C{i}:\n    k = {i}\n\n    def m(self, y):\n        return y + self.k"
                 "\n\n    def n(self):\n        return self.m(1)\n")
        w.write_source(os.path.join(pkg, f"m{i:03d}.py"), body)
    return pkg


def _fill(folder: str, program: int) -> None:
    """Load libraries until `program` modules are loaded: the frameworks installed here,
    then generated modules in a folder of their own (outside the watched package)."""
    for name in FRAMEWORKS:
        if len(sys.modules) >= program:
            return
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - not installed here: generated ones stand in
            pass
    lib = os.path.join(folder, "libs")
    os.makedirs(lib, exist_ok=True)
    sys.path.append(lib)
    i = 0
    while len(sys.modules) < program:
        w.write_source(os.path.join(lib, f"lib{i:04d}.py"),
                       f"import os\n\nVALUE = {i}\n\n\ndef g(x):\n    return x + VALUE\n")
        importlib.import_module(f"lib{i:04d}")
        i += 1


def worker_first(heap_size: int, program: int, how: str, reps: int, folder: str,
                 scenario: str = "fn") -> dict[str, Any]:
    """The first body edit's update and the next `reps`, in this fresh process (`scenario`:
    "fn", or "fn-shift" where every line below the edit moves)."""
    import hotswap

    own = program * 4 // 10  # the program's own modules (the rest: libraries)
    version = w.Version()
    mod = w.import_fresh(folder, "hsbench_first", w.render(version))
    if own:
        sys.path.insert(0, folder)
        importlib.invalidate_caches()
        _own_package(folder, own)
        for i in range(own):
            importlib.import_module(f"ownpkg.m{i:03d}")
        _fill(folder, program)
    heap = w.build_heap(heap_size)
    t = time.perf_counter()
    watcher = None
    if how == "watcher":
        watcher = hotswap.Watcher([mod, *(["ownpkg"] if own else [])])
        if not watcher.ready(600):
            raise RuntimeError("the watcher's warm-up did not finish in 10 minutes")
    setup = time.perf_counter() - t
    held = w.Held(mod)
    gc.collect()
    sc = w.SCENARIOS[scenario]
    times, cpu = [], []
    for k in range(reps + 1):
        sc.step(version, k)
        w.write_source(mod.__file__, w.render(version))
        c = time.process_time()
        t = time.perf_counter()
        report = hotswap.update(mod)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        bad = sc.module(mod, held, version) or sc.live(mod, held, version)
        if bad or not report.changed or report.heap_walks:
            raise RuntimeError(f"update {k} was wrong: {bad or report}")
    del heap
    return {"first": times[0], "later": times[1:], "first_cpu": cpu[0], "later_cpu": cpu[1:],
            "setup": setup,
            "modules": len(sys.modules), "watched": len(watcher.files) if watcher else 0}


CLASS_SRC = """
class NAME:
    __slots__ = SLOTS

    def __init__(self, i):
        self.x = i
        self.y = 2 * i
        self.vx = 1
        self.vy = -1

    def step(self):
        return self.x + self.vx * FACTOR
"""


def moves_source(k: int, e: int = -1) -> str:
    """`Particle` with slot ``s{k}`` added (none if k < 0) and its constant k + 2; `Empty`,
    the same class never instantiated, likewise with ``e{e}`` and e + 2."""
    def one(name: str, extra: str, n: int) -> str:
        slots = ("x", "y", "vx", "vy") + ((f"{extra}{n}",) if n >= 0 else ())
        return (CLASS_SRC.replace("NAME", name).replace("SLOTS", repr(slots))
                .replace("FACTOR", str(n + 2)))
    return one("Particle", "s", k) + "\n" + one("Empty", "e", e)


def worker_moves(count: int, reps: int, folder: str) -> dict[str, Any]:
    """Time moving `count` instances to a new layout, `reps` times (a slot added to
    `Particle`, then taken away again between two timed moves: also a move), in this
    fresh process; and, between them, the same edit to `Empty`, a class with no instance:
    one heap pass over the same heap and the same fixed cost, interleaved with the moves,
    so that what drifts over a run (the caches, the collector, the history filling up)
    weighs on both alike."""
    import hotswap
    from hotswap import _heap

    source = moves_source

    mod = w.import_fresh(folder, f"hsbench_moves_{count}", source(-1))
    hotswap.prepare([mod])
    ps = [mod.Particle(i) for i in range(count)]
    by_id = {i: p for i, p in enumerate(ps)}
    crowd = set(ps[::2])
    gc.collect()
    passes, passes_cpu = [], []
    for _ in range(5):
        c, t = time.process_time(), time.perf_counter()
        if _heap._accel is not None:
            _heap._accel.referrers((mod.Particle,), (mod.Particle,))
        else:
            gc.get_referrers(mod.Particle)
        passes.append(time.perf_counter() - t)
        passes_cpu.append(time.process_time() - c)
    out: dict[str, list[float]] = {"times": [], "cpu": [], "walks": [], "empty_times": [],
                                   "empty_cpu": []}
    for k in range(reps):
        # (Particle's slot, Empty's slot, timed as): a move, back, the empty edit, back
        for step, e, key in ((k, -1, ""), (-1, -1, None), (-1, k, "empty_"), (-1, -1, None)):
            w.write_source(mod.__file__, source(step, e))
            c, t = time.process_time(), time.perf_counter()
            report = hotswap.update(mod)
            dt, dc = time.perf_counter() - t, time.process_time() - c
            new = mod.Particle
            if count and not (type(ps[0]) is new and type(ps[-1]) is new
                              and by_id[count - 1] is ps[-1] and ps[0] in crowd
                              and ps[-1].step() == count - 1 + (step + 2)):
                raise RuntimeError(f"move {k} was wrong: {report}")
            if key is not None:
                out[key + "times"].append(dt)
                out[key + "cpu"].append(dc)
                if not key:
                    out["walks"].append(report.heap_walks)
    return {"count": count, **out, "pass": statistics.median(passes),
            "pass_cpu": statistics.median(passes_cpu),
            "in_c": _heap._accel is not None, "gc_objects": len(gc.get_objects())}


def floor_move(olds: list[Any], new: type, held: tuple[list[Any], dict[int, Any], set[Any]],
               slots: tuple[str, ...]) -> list[Any]:
    """Move `olds` to class `new` with no check and every loop in C: a twin for each, the
    shared `slots` copied, and the list, the dict's values and the set that hold them
    rewritten (what a move cannot do with less); the collector paused meanwhile, then its
    young collection of the twins, as in an update."""
    gc.disable()
    try:
        twins = list(map(object.__new__, repeat(new, len(olds))))
        old_class = type(olds[0])
        for name in slots:
            list(map(getattr(new, name).__set__, twins, map(getattr(old_class, name).__get__,
                                                           olds)))
        look = dict(zip(map(id, olds), twins, strict=True)).__getitem__
        items, by_id, crowd = held
        items[:] = list(map(look, map(id, items)))
        by_id.update(zip(list(by_id), map(look, map(id, by_id.values())), strict=True))
        members = set(map(look, map(id, crowd)))
        crowd.clear()
        crowd |= members
    finally:
        gc.enable()
    gc.collect(0)
    return twins


def worker_floor(count: int, reps: int, folder: str) -> dict[str, Any]:
    """Time `floor_move` of `count` instances of `Particle` to its layout with one more
    slot and back, `reps` times each way; the old objects of the last four moves kept, as
    hotswap's history keeps its undo logs."""
    mod = w.import_fresh(folder, f"hsbench_floor_{count}", moves_source(-1))
    wider: dict[str, Any] = {}
    exec(compile(moves_source(0), "<wider>", "exec"), wider)
    classes = [mod.Particle, wider["Particle"]]
    ps = [mod.Particle(i) for i in range(count)]
    held = (ps, {i: p for i, p in enumerate(ps)}, set(ps[::2]))
    gc.collect()
    kept: deque[list[Any]] = deque(maxlen=4)
    out: dict[str, list[float]] = {"times": [], "cpu": []}
    for k in range(2 * reps):
        olds = list(ps)
        c, t = time.process_time(), time.perf_counter()
        floor_move(olds, classes[(k + 1) % 2], held, ("x", "y", "vx", "vy"))
        out["times"].append(time.perf_counter() - t)
        out["cpu"].append(time.process_time() - c)
        kept.append(olds)
        del olds
        if not (type(ps[-1]) is classes[(k + 1) % 2] and held[1][count - 1] is ps[-1]
                and ps[-2 + count % 2] in held[2] and ps[-1].y == 2 * (count - 1)):
            raise RuntimeError(f"floor move {k} was wrong")
    return {"count": count, **out}


ENGINE_SNIPPET = """
import sys, time
sys.path.insert(0, {folder!r})
for i in range({count}):
    __import__(f"im{{i:03d}}")
import hotswap
before = set(sys.modules)
c = time.process_time()
t = time.perf_counter()
from hotswap import _warm
_warm.load_engine()
print("ENGINE", time.perf_counter() - t, time.process_time() - c,
      len([m for m in set(sys.modules) - before if not m.startswith("hotswap")]))
"""
