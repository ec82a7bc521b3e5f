"""hotswap's benchmark suite: hotswap side by side with importlib.reload, IPython's
autoreload and jurigged, in one run.

    python benchmarks/run.py            # the full run (heaps up to 10M objects; ~20-30 minutes)
    python benchmarks/run.py --quick    # heaps up to 1M, fewer repetitions (~2 minutes)
    python benchmarks/run.py --chart    # also draws docs/speed.svg from the run (matplotlib)

Every tool runs in its own fresh process per heap size (jurigged installs an audit hook and
IPython imports a lot: neither may tax the others), on its own copy of the generated
modules. Every measured update is checked; a hotswap update that is wrong voids its row and
makes the run exit with status 1, as does a missed target. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from types import CodeType, ModuleType
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import warmmoves as wm  # noqa: E402
import workloads as w  # noqa: E402

TOOL_ORDER = ["importlib.reload", "hotswap", "autoreload", "jurigged"]
BODY_TARGET_MS = 10.0
POLL_TARGET_MS = 2.0
IMPORT_TARGET_MS = 50.0
RSS_TARGET_MB = 16.0
FIRST_TARGET = 1.5  # the first update after a warm-up, against the median of later ones
MOVE_TARGET_US = 2.0  # per instance moved to a new layout, beyond one heap pass
# Linear time: the cost per instance at a count, over the control's (the same move in
# CPython's own loops, `warmmoves.floor_move`, whose cost per instance this machine's
# memory makes grow between 100k and 1M), may be at most this factor of the least at any
# smaller count (it must not grow with the count; at the smallest counts the move's own
# fixed cost, about half a millisecond, shared by few instances, reads higher).
FLAT_TARGET = 1.5
HISTORY_LIMIT = 8  # hotswap's default, which the memory benchmark runs under


class Void(Exception):
    """A measured hotswap update was wrong: the measurement means nothing."""


# == workers (run in a subprocess each) ===================================================


def _walks(sc: Any) -> int:
    """Heap passes hotswap must make (`Scenario.walks`): none for a body edit, one when the
    heap is needed, whatever the number of classes and functions. When instances must move
    to a layout with a slot their class never had, their holders are found in the same
    pass by hotswap's pass in C; in Python (no compiler at install, or
    HOTSWAP_PURE_PYTHON set) they take one more, batched over every class."""
    from hotswap import _heap
    return sc.walks + (1 if sc.moves and not _heap.one_pass() else 0)


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def _make_tool(name: str) -> w.Tool:
    return w.TOOLS[name]()


def worker_updates(tool_name: str, heap_size: int, reps: int, scenarios: list[str],
                   folder: str) -> dict[str, Any]:
    """Time `reps` updates of each scenario (after one unmeasured warm-up update), each on a
    fresh generated module, with `heap_size` extra objects alive."""
    tool = _make_tool(tool_name)
    counter = w.WalkCounter()
    heap = w.build_heap(heap_size)
    gc.collect()
    wall, cpu = w.time_get_referrers(5)
    out: dict[str, Any] = {"tool": tool_name, "heap": heap_size,
                           "gc_objects": len(gc.get_objects()), "referrers_ms": wall * 1000,
                           "referrers_cpu_ms": cpu * 1000, "scenarios": {}}
    counter.install()
    for sname in scenarios:
        sc = w.SCENARIOS[sname]
        res: dict[str, Any] = {"times": [], "cpu": [], "walks": [], "first_ms": None,
                               "stale": None,
                               "wrong": None, "error": None, "violations": [], "paths": {}}
        out["scenarios"][sname] = res
        modname = f"hsbench_{sname.replace('-', '_')}_{heap_size}"
        version = w.Version()
        try:
            mod = w.import_fresh(folder, modname, w.render(version))
            tool.prepare(mod)
            held = w.Held(mod)
            gc.collect()
            for k in range(reps + 1):
                if sc.between is not None and k:
                    _one_update(tool, mod, held, version, sc, k, res, counter, timed=False)
                if not (res["wrong"] or res["error"]):
                    _one_update(tool, mod, held, version, sc, k, res, counter)
                if res["wrong"] or res["error"]:
                    break
        except Void as exc:
            res["wrong"] = str(exc)
        except Exception as exc:  # noqa: BLE001 - a peer's failure is a result, not a crash
            res["error"] = f"{type(exc).__name__}: {exc}"
            res["traceback"] = traceback.format_exc(limit=6)
    del heap
    return out


def _one_update(tool: w.Tool, mod: ModuleType, held: w.Held, version: w.Version,
                sc: w.Scenario, k: int, res: dict[str, Any], counter: w.WalkCounter,
                timed: bool = True) -> None:
    """Make edit `k` (or, not `timed`, the scenario's edit between two timed ones), apply
    it with `tool`, check it, and record what it cost."""
    (sc.step if timed else sc.between)(version, k)  # type: ignore[misc]
    w.write_source(mod.__file__, w.render(version))
    before = counter.count
    c0 = time.process_time()
    t0 = time.perf_counter()
    info = tool.update(mod)
    dt = time.perf_counter() - t0
    cpu = time.process_time() - c0
    walks = counter.count - before
    where = f"{sc.name} update {k}" + ("" if timed else " (the edit before it)")
    if "path" in info:
        res["paths"][info["path"]] = res["paths"].get(info["path"], 0) + 1
    module_bad = sc.module(mod, held, version)
    live_bad = sc.live(mod, held, version)
    if tool.name == "hotswap":
        report = info["report"]
        if not report.changed:
            raise Void(f"{where}: report.changed is False for a code edit")
        if module_bad or live_bad:
            raise Void(f"{where}: {module_bad or live_bad}; report: {_short(report)}")
        want = _walks(sc) if timed else sc.between_walks
        if report.heap_walks != want or walks != want:
            msg = (f"{where}: report.heap_walks == {report.heap_walks} and "
                   f"{walks} gc.get_referrers/get_objects call(s), expected {want}")
            if msg.split(": ", 1)[1] not in {v.split(": ", 1)[1] for v in res["violations"]}:
                res["violations"].append(msg)
    else:
        if module_bad:
            res["wrong"] = f"{where}: {module_bad}"
            return
        if live_bad and res["stale"] is None:
            res["stale"] = f"{where}: {live_bad}"
    if not timed:
        return
    if k == 0:
        res["first_ms"] = dt * 1000
    else:
        res["times"].append(dt)
        res["cpu"].append(cpu)
        res["walks"].append(walks)


def _short(report: Any) -> str:
    bits = [f"heap_walks={report.heap_walks}"]
    for key in ("functions", "closures", "replaced", "instances", "skipped", "notes"):
        value = getattr(report, key)
        if value:
            text = repr(value)
            bits.append(f"{key}={text[:300]}{'...' if len(text) > 300 else ''}")
    return ", ".join(bits)


def worker_poll(tool_name: str, count: int, reps: int, folder: str) -> dict[str, Any]:
    """Time one poll over `count` unchanged modules, then check a changed one is seen."""
    tool = _make_tool(tool_name)
    pkg = os.path.join(folder, "pollmods")
    os.makedirs(pkg, exist_ok=True)
    sys.path.insert(0, pkg)
    for i in range(count):
        w.write_source(os.path.join(pkg, f"pm{i:03d}.py"), f"def f():\n    return {i}\n")
    importlib.invalidate_caches()
    mods = [importlib.import_module(f"pm{i:03d}") for i in range(count)]
    out: dict[str, Any] = {"tool": tool_name, "modules": count, "sys_modules": len(sys.modules)}
    if tool_name == "hotswap":
        from pathlib import Path

        watcher = tool.hotswap.Watcher([Path(pkg)])  # type: ignore[attr-defined]
        watcher.ready(600)  # its warm-up (a thread of its own) is setup, not polling
        watched = len(watcher.files)
        if watched != count:
            raise Void(f"Watcher over {pkg} watches {watched} files, expected {count}")
        poll = watcher.poll
    elif tool_name == "autoreload":
        reloader = tool.reloader  # type: ignore[attr-defined]
        reloader.check(check_all=True)  # records every module's mtime (and reads sources)
        poll = lambda: reloader.check(check_all=True)  # noqa: E731
    else:
        raise SystemExit(f"no poll for {tool_name}")
    poll()
    times, cpu = [], []
    for _ in range(reps):
        c = time.process_time()
        t = time.perf_counter()
        result = poll()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        if tool_name == "hotswap" and result:
            raise Void(f"Watcher.poll over unchanged files returned {result!r}")
    out["times"], out["cpu"] = times, cpu
    # correctness: an edited module is picked up by the next poll
    w.write_source(mods[count // 2].__file__, "def f():\n    return -1\n")
    t = time.perf_counter()
    result = poll()
    out["changed_ms"] = (time.perf_counter() - t) * 1000
    if mods[count // 2].f() != -1:
        out["wrong"] = "the poll after an edit did not apply it"
        if tool_name == "hotswap":
            raise Void(f"Watcher.poll did not apply an edit of {mods[count // 2].__name__}: "
                       f"{result!r}")
    return out


def _code_objects(path: str) -> int:
    """Code objects compiled from `path` still alive: code objects are not GC-tracked, so
    they are found through the tracked objects that refer to them (functions, undo logs,
    tuples), then through the constants of those code objects."""
    found: dict[int, CodeType] = {}
    todo: list[CodeType] = []
    for obj in gc.get_objects():
        for ref in gc.get_referents(obj):
            if type(ref) is CodeType and ref.co_filename == path and id(ref) not in found:
                found[id(ref)] = ref
                todo.append(ref)
    while todo:
        for const in todo.pop().co_consts:
            if type(const) is CodeType and id(const) not in found:
                found[id(const)] = const
                todo.append(const)
    return len(found)


def worker_memory(tool_name: str, updates: int, instances: int, folder: str) -> dict[str, Any]:
    """`updates` alternating updates (target and Target.method get a new body and every line
    below moves, then back) of a module with `instances` live instances."""
    tool = _make_tool(tool_name)
    version = w.Version()
    mod = w.import_fresh(folder, "hsbench_memory", w.render(version))
    tool.prepare(mod)
    path = mod.__file__
    keep = [mod.Target(i) for i in range(instances)]
    held = w.Held(mod)
    gc.collect()
    codes_fresh = _code_objects(path)  # what the module itself needs, before any update
    first, last = keep[0], keep[-1]
    warmup = 2 * HISTORY_LIMIT + 2  # hotswap's history is full from here on

    cpu: list[float] = []

    def step(k: int) -> float:
        version.fn = version.method = 1000 + k % 2
        version.fn_pad = version.method_pad = bool(k % 2)
        w.write_source(path, w.render(version))
        c = time.process_time()
        t = time.perf_counter()
        info = tool.update(mod)
        dt = time.perf_counter() - t
        cpu.append(time.process_time() - c)
        bad = w.SCENARIOS["method"].module(mod, held, version) or \
            w.SCENARIOS["fn"].module(mod, held, version)
        live = (w.SCENARIOS["method"].live(mod, held, version)
                or w.SCENARIOS["fn"].live(mod, held, version)
                or w._expect("the last of the live instances' method()", last.method(),
                             instances - 1 + version.method))
        if tool.name == "hotswap":
            if bad or live:
                raise Void(f"memory update {k}: {bad or live}")
            if info["report"].heap_walks:
                raise Void(f"memory update {k}: heap_walks == {info['report'].heap_walks}")
        elif bad:
            raise RuntimeError(f"memory update {k}: {bad}")
        return dt

    for k in range(warmup):
        step(k)
    del cpu[:]
    gc.collect()
    codes0, rss0 = _code_objects(path), _rss_bytes()
    times = [step(k) for k in range(warmup, warmup + updates)]
    gc.collect()
    codes1, rss1 = _code_objects(path), _rss_bytes()
    alive = first.method() == 0 + version.method and type(first) is mod.Target
    return {"tool": tool_name, "updates": updates, "instances": instances, "times": times,
            "cpu": cpu,
            "codes_fresh": codes_fresh, "codes_before": codes0, "codes_after": codes1,
            "rss_before": rss0,
            "rss_after": rss1, "instances_current": alive}


def worker_main(args: argparse.Namespace) -> int:
    sys.dont_write_bytecode = True
    folder = tempfile.mkdtemp(prefix="hsbench-")
    try:
        if args.worker == "updates":
            out = worker_updates(args.tool, args.heap, args.reps, args.scenarios.split(","),
                                 folder)
        elif args.worker == "poll":
            out = worker_poll(args.tool, args.modules, args.reps, folder)
        elif args.worker == "memory":
            out = worker_memory(args.tool, args.updates, args.instances, folder)
        elif args.worker == "first":
            out = wm.worker_first(args.heap, args.modules, args.how, args.reps, folder,
                                  args.scenarios or "fn")
        elif args.worker == "moves":
            out = wm.worker_moves(args.instances, args.reps, folder)
        elif args.worker == "floor":
            out = wm.worker_floor(args.instances, args.reps, folder)
        else:
            raise SystemExit(f"unknown worker {args.worker}")
    except Void as exc:
        out = {"tool": args.tool, "wrong": str(exc)}
    except Exception as exc:  # noqa: BLE001
        out = {"tool": args.tool, "error": f"{type(exc).__name__}: {exc}",
               "traceback": traceback.format_exc(limit=8)}
    print("RESULT " + json.dumps(out))
    return 0


# == the driver ===========================================================================


def installed(tool: str) -> str | None:
    """The tool's version, or None when it cannot be imported here."""
    if tool == "importlib.reload":
        return platform.python_version()
    top = {"hotswap": "hotswap", "autoreload": "IPython", "jurigged": "jurigged"}[tool]
    if importlib.util.find_spec(top) is None:
        return None
    dist = w.TOOLS[tool].package or top
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def run_worker(argv: list[str], timeout: float,
               extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0", **(extra_env or {}))
    cmd = [sys.executable, os.path.abspath(__file__), *argv]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
    return {"error": f"worker exited {proc.returncode}: " + " | ".join(tail)}


def mem_available() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def machine_info(versions: dict[str, str | None]) -> list[str]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")),
                       cpu)
    except OSError:
        pass
    lines = [f"platform: {platform.platform()}",
             f"cpu: {cpu or '?'}; {os.cpu_count()} logical CPUs",
             f"python: {platform.python_implementation()} {platform.python_version()} "
             f"({sys.executable})"]
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        avail = mem_available()
        lines.append(f"memory: {total / 2**30:.1f} GiB total"
                     + (f", {avail / 2**30:.1f} GiB available" if avail else ""))
    except (ValueError, OSError, AttributeError):
        pass
    lines.append("tools: " + ", ".join(f"{t} {v or 'not installed'}"
                                        for t, v in versions.items()))
    spec = importlib.util.find_spec("hotswap")
    if spec is not None and spec.origin:
        lines.append(f"hotswap imported from {os.path.dirname(spec.origin)}")
    return lines


def load_line() -> str | None:
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):
        return None
    text = f"load average at start: {load:.2f} on {os.cpu_count()} CPUs"
    if load > 0.75 * (os.cpu_count() or 1):
        text += (" -- other processes compete for the CPUs: wall-clock times are inflated "
                 "(ratios between tools hold better; --clock cpu reports CPU time)")
    return text


def fmt_heap(n: int) -> str:
    if n == 0:
        return "0"
    if n >= 1_000_000:
        return f"{n // 1_000_000}M"
    return f"{n // 1000}k"


def fmt_ms(ms: float) -> str:
    return f"{ms:.2f} ms" if ms < 100 else f"{ms:.0f} ms"


class Table:
    def __init__(self, header: list[str]) -> None:
        self.header = header
        self.rows: list[list[str]] = []

    def add(self, row: list[str]) -> None:
        self.rows.append(row)

    def render(self) -> str:
        cols = list(zip(self.header, *self.rows))
        widths = [max(len(c) for c in col) for col in cols]

        def line(cells: list[str]) -> str:
            return "| " + " | ".join(c.ljust(wd) for c, wd in zip(cells, widths)) + " |"
        sep = "|" + "|".join("-" * (wd + 2) for wd in widths) + "|"
        return "\n".join([line(self.header), sep, *(line(r) for r in self.rows)])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="heaps up to 1M objects, fewer repetitions (about 2 minutes)")
    p.add_argument("--tools", default=",".join(TOOL_ORDER),
                   help="comma-separated subset of " + ",".join(TOOL_ORDER))
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="report wall-clock time (default) or the process's CPU time")
    p.add_argument("--json", metavar="FILE", help="also write every raw result to FILE")
    p.add_argument("--chart", nargs="?", const=os.path.join(HERE, "..", "docs", "speed.svg"),
                   metavar="SVG", help="also draw update latency by heap size and moves by "
                   "instance count, from this run, to SVG (default docs/speed.svg; needs "
                   "matplotlib, in the bench extra)")
    p.add_argument("--chart-heaps", default="0,10000,100000,1000000,10000000",
                   help="the heap sizes the chart's body edits are measured at")
    p.add_argument("--redraw", metavar="JSON", help="draw the chart (--chart) again from the "
                   "raw results a run wrote with --json, measuring nothing")
    p.add_argument("--how", default="watcher", help=argparse.SUPPRESS)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--tool", help=argparse.SUPPRESS)
    p.add_argument("--heap", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--reps", type=int, default=9, help=argparse.SUPPRESS)
    p.add_argument("--scenarios", default="", help=argparse.SUPPRESS)
    p.add_argument("--modules", type=int, default=500, help=argparse.SUPPRESS)
    p.add_argument("--updates", type=int, default=1000, help=argparse.SUPPRESS)
    p.add_argument("--instances", type=int, default=10_000, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker_main(args)
    if args.redraw:
        import chart

        with open(args.redraw) as f:
            raw = json.load(f)
        target = args.chart or os.path.join(HERE, "..", "docs", "speed.svg")
        print(chart.draw(raw, raw["meta"]["tools"], raw["meta"]["machine"],
                         os.path.abspath(target)))
        return 0
    return drive(args)


QUICK = {"heaps": [0, 100_000, 1_000_000],
         "first": {"samples": 5, "cold": 2, "reps": 9},
         "moves": {"counts": [1000, 10_000, 100_000, 300_000, 1_000_000], "reps": 2},
         "scaling": ["fn-shift", "closure", "closures", "slots-gone", "crowd"],
         "reps": {0: 9, 100_000: 7, 1_000_000: 5},
         "peer_reps": {0: 3, 100_000: 3, 1_000_000: 3},
         "poll_reps": 50, "import_reps": 3,
         "memory_updates": {"hotswap": 1000}}
FULL = {"heaps": [0, 100_000, 1_000_000, 10_000_000],
        "first": {"samples": 7, "cold": 3, "reps": 11},
        "moves": {"counts": [1000, 10_000, 100_000, 300_000, 1_000_000], "reps": 3},
        "scaling": ["fn", "fn-shift", "method-shift", "closure", "closures", "slots",
                    "slots-gone", "crowd", "mixed"],
        "reps": {0: 21, 100_000: 15, 1_000_000: 11, 10_000_000: 7},
        "peer_reps": {0: 9, 100_000: 7, 1_000_000: 5, 10_000_000: 3},
        "poll_reps": 200, "import_reps": 7,
        "memory_updates": {"hotswap": 1000, "importlib.reload": 1000, "autoreload": 1000,
                           "jurigged": 200}}


def drive(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    wanted = [t for t in args.tools.split(",") if t]
    unknown = set(wanted) - set(TOOL_ORDER)
    if unknown:
        print(f"unknown tools: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    versions = {t: installed(t) for t in TOOL_ORDER if t in wanted}
    if "hotswap" in wanted and not versions.get("hotswap"):
        print("hotswap is not importable from this Python: install the project first "
              "(pip install -e '.[bench]')", file=sys.stderr)
        return 2
    tools = [t for t in TOOL_ORDER if versions.get(t)]
    cfg = QUICK if args.quick else FULL
    print("# hotswap benchmarks" + (" (--quick)" if args.quick else "")
          + f", {args.clock}-clock times")
    print()
    for line in [*machine_info(versions), load_line()]:
        if line:
            print(f"- {line}")
    print(flush=True)

    heaps = list(cfg["heaps"])
    notes: list[str] = []
    if 10_000_000 in heaps:
        avail = mem_available()
        need = 10_000_000 * 100 * 3  # ~100 bytes an object (measured), with room to spare
        if avail is not None and avail < need:
            heaps.remove(10_000_000)
            notes.append(f"10M heap skipped: {avail / 2**30:.1f} GiB available, "
                         f"{need / 2**30:.1f} GiB wanted")
    all_scenarios = list(w.SCENARIOS)
    raw: dict[str, Any] = {"clock": args.clock, "updates": {}, "poll": {}, "memory": {},
                           "import": {}}

    def progress(msg: str, t0: float) -> None:
        print(f"  {msg}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)

    # -- updates: one fresh process per tool, heap size and scenario -------------------
    for heap in heaps:
        for sname in (all_scenarios if heap == 0 else cfg["scaling"]):
            for tool in tools:
                peer = tool in ("autoreload", "jurigged")
                reps = (cfg["peer_reps"] if peer else cfg["reps"])[heap]
                t0 = time.perf_counter()
                raw["updates"][f"{tool}@{heap}@{sname}"] = run_worker(
                    ["--worker", "updates", "--tool", tool, "--heap", str(heap),
                     "--reps", str(reps), "--scenarios", sname], timeout=3600)
                progress(f"{sname} with {tool}, heap {fmt_heap(heap)}", t0)

    # -- poll --------------------------------------------------------------------------
    for tool in tools:
        if tool in ("hotswap", "autoreload"):
            t0 = time.perf_counter()
            raw["poll"][tool] = run_worker(["--worker", "poll", "--tool", tool, "--modules",
                                            "500", "--reps", str(cfg["poll_reps"])],
                                           timeout=600)
            progress(f"poll with {tool}", t0)

    # -- memory ------------------------------------------------------------------------
    for tool in tools:
        n = cfg["memory_updates"].get(tool)
        if n is None:
            raw["memory"][tool] = {"skipped": "not run with --quick"}
            continue
        t0 = time.perf_counter()
        raw["memory"][tool] = run_worker(["--worker", "memory", "--tool", tool, "--updates",
                                          str(n), "--instances", "10000"], timeout=3600)
        progress(f"memory with {tool}", t0)

    # -- import ------------------------------------------------------------------------
    t0 = time.perf_counter()
    raw["import"] = measure_imports(tools, 500, reps=cfg["import_reps"])
    raw["engine"] = measure_engine(500, reps=cfg["import_reps"])
    progress("imports", t0)

    if "hotswap" in tools:
        run_first_and_moves(cfg, raw, progress)
    if args.chart:
        chart_heaps = [int(h) for h in args.chart_heaps.split(",") if h]
        avail = mem_available()
        if 10_000_000 in chart_heaps and avail is not None and avail < 3 * 10**9:
            chart_heaps.remove(10_000_000)
            notes.append("the chart stops at 1M objects: the 10M heap was skipped (memory)")
        for heap in chart_heaps:
            for tool in tools:
                key = f"{tool}@{heap}@fn"
                if key in raw["updates"]:
                    continue
                peer = tool in ("autoreload", "jurigged")
                reps = (cfg["peer_reps"] if peer else cfg["reps"]).get(heap, 5)
                t0 = time.perf_counter()
                raw["updates"][key] = run_worker(
                    ["--worker", "updates", "--tool", tool, "--heap", str(heap),
                     "--reps", str(reps), "--scenarios", "fn"], timeout=3600)
                progress(f"chart: fn with {tool}, heap {fmt_heap(heap)}", t0)
        raw["chart_heaps"] = chart_heaps

    raw["meta"] = {"tools": tools, "machine": machine_info(versions)}
    if args.json:  # written before anything is judged or drawn
        with open(args.json, "w") as f:
            json.dump(raw, f, indent=1)
    print()
    failures = report(raw, list(versions), tools, heaps, all_scenarios, cfg["scaling"], notes,
                      "cpu" if args.clock == "cpu" else "times")
    if "hotswap" in tools:
        print()
        failures += report_first_and_moves(raw)
    if args.chart:
        import chart

        where = chart.draw(raw, tools, raw["meta"]["machine"], os.path.abspath(args.chart))
        print(f"\nchart: {where}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(raw, f, indent=1)
    print(f"\n(total {time.perf_counter() - started:.0f} s)")
    if failures:
        print("\nHOTSWAP MISSED (the run exits with status 1):")
        for msg in failures:
            print(f"- {msg}")
        return 1
    return 0


IMPORT_SNIPPET = """
import sys, time
sys.path.insert(0, {folder!r})
for i in range({count}):
    __import__(f"im{{i:03d}}")
c = time.process_time()
t = time.perf_counter()
import {module}
print("IMPORT", time.perf_counter() - t, time.process_time() - c)
"""


def measure_imports(tools: list[str], count: int, reps: int) -> dict[str, Any]:
    """Import each tool in a fresh interpreter that already holds `count` modules."""
    folder = tempfile.mkdtemp(prefix="hsbench-import-")
    for i in range(count):
        with open(os.path.join(folder, f"im{i:03d}.py"), "w") as f:
            f.write(f"VALUE = {i}\n\ndef f(x):\n    return x + VALUE\n\nclass C:\n    pass\n")
    modules = {"hotswap": "hotswap", **w.PEER_MODULES}
    # Imports as a deployed program makes them: from byte-code caches, which the first run
    # writes (an environment that forbids writing them would time compiling instead).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out: dict[str, Any] = {}
    for tool in tools:
        if tool not in modules:
            continue
        code = IMPORT_SNIPPET.format(folder=folder, count=count, module=modules[tool])
        times, cpu = [], []
        for i in range(reps + 1):  # the first run writes the byte-code caches
            proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  timeout=300, env=env)
            line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("IMPORT ")),
                        None)
            if line is None:
                out[tool] = {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
                break
            if i:
                times.append(float(line.split()[1]))
                cpu.append(float(line.split()[2]))
        else:
            out[tool] = {"times": times, "cpu": cpu}
    return out


ENGINE_SNIPPET = wm.ENGINE_SNIPPET


def measure_engine(count: int, reps: int) -> dict[str, Any]:
    """Load hotswap's engine (what the first update, or a warm-up, imports) in a fresh
    interpreter that already holds `count` modules and hotswap."""
    folder = tempfile.mkdtemp(prefix="hsbench-engine-")
    for i in range(count):
        with open(os.path.join(folder, f"im{i:03d}.py"), "w") as f:
            f.write(f"VALUE = {i}\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    times, cpu, stdlib = [], [], 0
    for i in range(reps + 1):  # the first run writes the byte-code caches
        proc = subprocess.run([sys.executable, "-c", ENGINE_SNIPPET.format(folder=folder,
                                                                           count=count)],
                              capture_output=True, text=True, timeout=300, env=env)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("ENGINE ")), None)
        if line is None:
            return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
        if i:
            times.append(float(line.split()[1]))
            cpu.append(float(line.split()[2]))
            stdlib = int(line.split()[3])
    return {"times": times, "cpu": cpu, "stdlib": stdlib}


FIRST_CASES = [(0, 0, "fn"), (1_000_000, 0, "fn"), (0, 1000, "fn"), (0, 0, "fn-shift"),
               (0, 1000, "fn-shift")]  # (heap, modules loaded, scenario)


def run_first_and_moves(cfg: dict[str, Any], raw: dict[str, Any], progress: Any) -> None:
    """hotswap's first update with and without a warm-up, and moves by instance count,
    with the pass in C and without it; one fresh process per sample."""
    raw["first"] = {}
    for heap, program, sname in FIRST_CASES:
        for how, samples in (("watcher", cfg["first"]["samples"]),
                             ("cold", cfg["first"]["cold"])):
            t0 = time.perf_counter()
            raw["first"][f"{heap}@{program}@{sname}@{how}"] = [
                run_worker(["--worker", "first", "--heap", str(heap), "--modules", str(program),
                            "--how", how, "--reps", str(cfg["first"]["reps"]),
                            "--scenarios", sname], timeout=1800)
                for _ in range(samples)]
            progress(f"first update ({sname}), {how}, heap {fmt_heap(heap)}, {program} "
                     "modules", t0)
    raw["moves"] = {}
    for label, env in (("in C", {}), ("in Python", {"HOTSWAP_PURE_PYTHON": "1"})):
        for count in cfg["moves"]["counts"]:
            t0 = time.perf_counter()
            # more repetitions where a move is short: its cost per instance is a
            # difference of two medians, which the fixed cost's spread swamps otherwise
            reps = max(cfg["moves"]["reps"], min(41, 200_000 // count))
            raw["moves"][f"{label}@{count}"] = run_worker(
                ["--worker", "moves", "--instances", str(count), "--reps", str(reps)],
                timeout=3600, extra_env=env)
            if label == "in C":  # the control, right after: the same move in C's loops
                raw["moves"][f"floor@{count}"] = run_worker(
                    ["--worker", "floor", "--instances", str(count), "--reps", str(reps)],
                    timeout=3600)
            progress(f"moves {label}, {count} instances", t0)


def move_costs(raw: dict[str, Any], label: str) -> dict[int, tuple[float, float, float]]:
    """By instance count: (median seconds of the move, of one heap pass, microseconds per
    instance beyond the same edit to a class with no instance, made interleaved with the
    moves in the same process: one heap pass over the same heap too), by the run's
    clock."""
    cpu = raw.get("clock") == "cpu"
    key_t, key_p = ("cpu", "pass_cpu") if cpu else ("times", "pass")
    out = {}
    for key, res in raw["moves"].items():
        name, count = key.rsplit("@", 1)
        if name != label or key_t not in res or "empty_" + key_t not in res:
            continue
        total, fixed = _median(res[key_t]), _median(res["empty_" + key_t])
        out[int(count)] = (total, res[key_p], (total - fixed) / int(count) * 1e6)
    return dict(sorted(out.items()))


def floor_costs(raw: dict[str, Any]) -> dict[int, float]:
    """By instance count: microseconds per instance of the control (`warmmoves.floor_move`:
    the same move in CPython's own loops in C, nothing checked), by the run's clock."""
    key = "cpu" if raw.get("clock") == "cpu" else "times"
    return {r["count"]: _median(r[key]) / r["count"] * 1e6
            for k, r in raw["moves"].items() if k.startswith("floor@") and key in r}


def report_first_and_moves(raw: dict[str, Any]) -> list[str]:
    """hotswap's own rows: the first update after a warm-up, moves by count, the engine's
    import. Returns what missed its target."""
    failures: list[str] = []
    table = Table(["hotswap", "measured", "target", "result"])
    for heap, program, sname in FIRST_CASES:
        case = f"{heap}@{program}@{sname}"
        runs = [r for r in raw["first"].get(f"{case}@watcher", []) if "first" in r]
        cold = [r for r in raw["first"].get(f"{case}@cold", []) if "first" in r]
        what = (f"first update after a Watcher's warm-up: {w.SCENARIOS[sname].label}, heap "
                f"{fmt_heap(heap)}" + (f", {program} modules loaded" if program else ""))
        if not runs:
            errs = raw["first"].get(f"{case}@watcher", [{}])
            why = next((r.get("error") for r in errs if r.get("error")), "no result")
            failures.append(f"{what}: {why}")
            table.add([what, "error", f"<= {FIRST_TARGET:g}x later ones", "FAIL"])
            continue
        suffix = "_cpu" if raw.get("clock") == "cpu" else ""
        first = _median([r["first" + suffix] for r in runs]) * 1000
        later = _median([t for r in runs for t in r["later" + suffix]]) * 1000
        ratio = first / later
        text = f"{fmt_ms(first)} vs {fmt_ms(later)} later ({ratio:.2f}x)"
        if cold:
            c = _median([r["first" + suffix] for r in cold]) * 1000
            text += f"; without warm-up {fmt_ms(c)} ({c / later:.0f}x)"
        verdict = "PASS" if ratio <= FIRST_TARGET else "FAIL"
        if verdict == "FAIL":
            failures.append(f"{what}: {ratio:.2f}x the later updates")
        table.add([what, text, f"<= {FIRST_TARGET:g}x later ones", verdict])
    for label in ("in C", "in Python"):
        costs = move_costs(raw, label)
        if not costs:
            why = next((r["error"] for k, r in raw["moves"].items()
                        if k.startswith(f"{label}@") and "error" in r), "no result")
            if label == "in C":
                failures.append(f"moves {label}: {why}")
            table.add([f"moves {label}", "error", "-", "FAIL" if label == "in C" else "-"])
            continue
        floor = floor_costs(raw) if label == "in C" else {}
        least = float("inf")  # the least cost per instance at a smaller count (or ratio)
        for count, (total, one_pass, us) in costs.items():
            what = f"a slot added, {count:,} instances moved ({label})"
            text = f"{fmt_ms(total * 1000)}: pass {fmt_ms(one_pass * 1000)} + {us:.2f} us each"
            # Flat: judged against the control where there is one (what the memory makes
            # the same work cost at this count), else against the cost alone.
            judged = us / floor[count] if floor.get(count) else us
            if floor.get(count):
                text += f"; control {floor[count]:.2f} us ({judged:.2f}x)"
            growth = judged / least if least < float("inf") else 1.0
            least = min(least, max(judged, 1e-9))
            if label == "in C":
                ok = us <= MOVE_TARGET_US and growth <= FLAT_TARGET
                verdict = "PASS" if ok else "FAIL"
                if not ok:
                    failures.append(f"{what}: {us:.2f} us per instance ({growth:.2f}x the "
                                    "least at a smaller count" +
                                    (", against the control)" if floor else ")"))
                target = f"<= {MOVE_TARGET_US:g} us each, not growing"
            else:
                verdict, target = "-", "(reported)"
            table.add([what, text, target, verdict])
    eng = raw.get("engine", {})
    clock = "cpu" if raw.get("clock") == "cpu" else "times"
    if eng.get(clock):
        table.add(["engine import (what a warm-up or the first update loads)",
                   f"{fmt_ms(_median(eng[clock]) * 1000)}, {eng['stdlib']} stdlib modules",
                   "(reported)", "-"])
    print(table.render())
    c, py = move_costs(raw, "in C"), move_costs(raw, "in Python")
    both = [py[n][2] / c[n][2] for n in c if n in py and n >= 10_000 and c[n][2] > 0]
    if both:
        print(f"\n- moves without the pass in C (HOTSWAP_PURE_PYTHON=1) cost "
              f"{min(both):.1f}-{max(both):.1f}x as much per instance (10k and more)")
    return failures


def report(raw: dict[str, Any], columns: list[str], tools: list[str], heaps: list[int],
           all_scenarios: list[str], scaling: list[str], notes: list[str],
           clock: str) -> list[str]:
    """Print the table and the notes; return what hotswap missed."""
    failures: list[str] = []
    problems: dict[str, str] = {}  # what peers got wrong, once per tool and scenario
    extra: list[str] = []
    paths: dict[str, dict[str, int]] = {}  # autoreload: which of its paths applied what
    header = ["scenario", "heap",
              *[t + (" (floor)" if t == "importlib.reload" else "") for t in columns],
              "1 get_referrers", "hotswap target", "result"]
    table = Table(header)

    def entry(tool: str, heap: int, sname: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        whole = raw["updates"].get(f"{tool}@{heap}@{sname}", {})
        return whole, whole.get("scenarios", {}).get(sname)

    for heap in heaps:
        for sname in (all_scenarios if heap == 0 else scaling):
            sc = w.SCENARIOS[sname]
            _, rres = entry("importlib.reload", heap, sname)
            floor = None
            if rres and rres.get(clock) and not rres.get("wrong") and not rres.get("error"):
                floor = _median(rres[clock]) * 1000
            cells = []
            for tool in columns:
                if tool not in tools:
                    cells.append("not installed")
                    continue
                whole, res = entry(tool, heap, sname)
                if res is None:
                    why = whole.get("wrong") or whole.get("error") or "no result"
                    cells.append("error")
                    problems.setdefault(f"{tool}, {sname}", why)
                    continue
                cells.append(tool_cell(tool, sname, res, floor, problems, clock))
                for path, count in res.get("paths", {}).items():
                    paths.setdefault(path, {})
                    paths[path][sname] = paths[path].get(sname, 0) + count
            hwhole, hres = entry("hotswap", heap, sname)
            ref_ms = hwhole.get("referrers_ms" if clock == "times" else "referrers_cpu_ms")
            if hres is None:
                hres = {"error": hwhole.get("wrong") or hwhole.get("error") or "no result"}
            target, verdict, why = judge(sc, hres, ref_ms, clock)
            if verdict != "PASS":
                failures.append(f"{sc.label} @ heap {fmt_heap(heap)}: {verdict}: {why}")
            table.add([sc.label, fmt_heap(heap), *cells,
                       fmt_ms(ref_ms) if ref_ms is not None else "-", target, verdict])

    # poll
    cells = []
    for tool in columns:
        if tool not in tools:
            cells.append("not installed")
        elif tool == "importlib.reload":
            cells.append("n/a (no watcher)")
        elif tool == "jurigged":
            cells.append("n/a (inotify events)")
        else:
            res = raw["poll"].get(tool, {})
            if clock in res:
                cells.append(fmt_ms(_median(res[clock]) * 1000)
                             + (" WRONG" if res.get("wrong") else ""))
            else:
                cells.append("error")
                problems.setdefault(f"{tool}, poll", res.get("wrong") or res.get("error") or "?")
    pres = raw["poll"].get("hotswap", {})
    if clock in pres:
        ms = _median(pres[clock]) * 1000
        verdict = "PASS" if ms < POLL_TARGET_MS else "FAIL"
        if verdict == "FAIL":
            failures.append(f"Watcher.poll over 500 unchanged modules: median {ms:.2f} ms")
    else:
        verdict = "VOID" if pres.get("wrong") else "FAIL"
        failures.append(f"Watcher.poll: {verdict}: {pres.get('wrong') or pres.get('error')}")
    table.add(["poll, 500 unchanged modules", "-", *cells, "-",
               f"< {POLL_TARGET_MS:g} ms", verdict])

    # memory
    cells = []
    for tool in columns:
        if tool not in tools:
            cells.append("not installed")
            continue
        res = raw["memory"].get(tool, {})
        if res.get("skipped"):
            cells.append("not run (--quick)")
            continue
        if "times" not in res:
            cells.append("WRONG" if res.get("wrong") else "error")
            problems.setdefault(f"{tool}, memory", res.get("wrong") or res.get("error") or "?")
            continue
        text = "?"
        if res["rss_before"]:
            growth = (res["rss_after"] - res["rss_before"]) / 2**20
            text = f"{growth:+.1f} MB"
        text += f", code {res['codes_fresh']}/{res['codes_before']}/{res['codes_after']}"
        if res["updates"] != 1000:
            text += f" ({res['updates']} updates)"
        cells.append(text)
    mres = raw["memory"].get("hotswap", {})
    if "times" in mres:
        growth = ((mres["rss_after"] - mres["rss_before"]) / 2**20
                  if mres["rss_before"] else 0.0)
        bounded = mres["codes_after"] <= mres["codes_before"]
        verdict = "PASS" if bounded and growth < RSS_TARGET_MB else "FAIL"
        if verdict == "FAIL":
            failures.append(f"memory over 1,000 updates: RSS {growth:+.1f} MB, live code "
                            f"objects {mres['codes_before']} -> {mres['codes_after']}")
    else:
        verdict = "VOID" if mres.get("wrong") else "FAIL"
        failures.append(f"memory: {verdict}: {mres.get('wrong') or mres.get('error')}")
    table.add(["memory: 1,000 alternating updates, 10k live instances", "-", *cells, "-",
               f"code objs flat, RSS < {RSS_TARGET_MB:g} MB", verdict])

    # import
    cells = []
    for tool in columns:
        if tool not in tools:
            cells.append("not installed")
        elif tool == "importlib.reload":
            cells.append("n/a (stdlib)")
        else:
            res = raw["import"].get(tool, {})
            if clock in res:
                cells.append(fmt_ms(_median(res[clock]) * 1000))
            else:
                cells.append("error")
                problems.setdefault(f"{tool}, import", res.get("error", "?"))
    ires = raw["import"].get("hotswap", {})
    if clock in ires:
        ms = _median(ires[clock]) * 1000
        verdict = "PASS" if ms < IMPORT_TARGET_MS else "FAIL"
        if verdict == "FAIL":
            failures.append(f"import with 500 modules loaded: median {ms:.1f} ms")
    else:
        verdict = "FAIL"
        failures.append(f"import: {ires.get('error')}")
    table.add(["import, 500 modules already loaded", "-", *cells, "-",
               f"< {IMPORT_TARGET_MS:g} ms", verdict])

    if "hotswap" not in tools:  # nothing of hotswap's to judge
        failures = []
        for row in table.rows:
            row[-1] = row[-2] = "-"
    print(table.render())
    print()
    print("Update cells: median of the measured updates (ratio to importlib.reload); "
          "wN = passes over the heap (gc.get_referrers/get_objects calls) per update, median; "
          "stale = references taken before the edit (functions, bound methods, runtime "
          "closures, instances) still run the old code, only fresh look-ups through the "
          "module see it (always so for importlib.reload, which patches nothing); WRONG = "
          "even fresh look-ups are wrong. '1 get_referrers' = one gc.get_referrers call over "
          "the same heap, in hotswap's process; heap = objects added on top of what each "
          "process imported. Memory cells: RSS growth over the 1,000 updates, and live code "
          "objects compiled from the module's file: at import / after a warm-up of "
          f"{2 * HISTORY_LIMIT + 2} updates (hotswap's history of {HISTORY_LIMIT} is full) / "
          "after the 1,000 updates.")
    for path, where in sorted(paths.items()):
        extra.append(f"autoreload applied {sum(where.values())} update(s) through {path} ("
                     + ", ".join(sorted(where)) + ")")
    for tool in tools:
        counts = []
        for heap in heaps:
            found = [v["gc_objects"] for k, v in raw["updates"].items()
                     if k.startswith(f"{tool}@{heap}@") and "gc_objects" in v]
            counts.append(f"{fmt_heap(heap)}: {found[0] if found else '?'}")
        extra.append(f"{tool}: GC-tracked objects in its process by heap: " + ", ".join(counts))
    firsts = []
    for tool in tools:
        vals = [res["first_ms"] for s in all_scenarios
                if (res := entry(tool, 0, s)[1]) and res.get("first_ms") is not None]
        if vals:
            firsts.append(f"{tool} {fmt_ms(_median(vals))}")
    if firsts:
        extra.append("first, unmeasured update of each module (wall clock), median over "
                     "scenarios: " + ", ".join(firsts))
    mem_times = [f"{t} {fmt_ms(_median(r[clock]) * 1000)}" for t, r in raw["memory"].items()
                 if r.get(clock)]
    if mem_times:
        extra.append("median update in the memory run: " + ", ".join(mem_times))
    for tool in tools:
        res = raw["poll"].get(tool, {})
        if "changed_ms" in res:
            extra.append(f"{tool}: the poll that applied one changed module of 500: "
                         f"{fmt_ms(res['changed_ms'])}")
    print()
    for line in [*notes, *extra]:
        print(f"- {line}")
    if problems:
        print()
        print("What peers (and the floor) got wrong or stale, first occurrence each:")
        for key, msg in problems.items():
            print(f"- {key}: {msg}")
    return failures


def tool_cell(tool: str, sname: str, res: dict[str, Any], floor: float | None,
              problems: dict[str, str], clock: str) -> str:
    key = f"{tool}, {sname}"
    if res.get("error"):
        problems.setdefault(key, res["error"])
        return "error"
    if res.get("wrong"):
        if tool == "hotswap":
            return "VOID (wrong update)"
        problems.setdefault(key, res["wrong"])
        return "WRONG"
    if not res.get(clock):
        return "no result"
    ms = _median(res[clock]) * 1000
    text = fmt_ms(ms)
    if floor:
        text += f" ({ms / floor:.2f}x)"
    walks = _median(res["walks"])
    if walks:
        text += f" w{walks:g}"
    if res.get("stale"):
        text += " stale"
        if tool != "importlib.reload":
            problems.setdefault(key, res["stale"])
    return text


def judge(sc: w.Scenario, res: dict[str, Any], ref_ms: float | None,
          clock: str) -> tuple[str, str, str]:
    target = f"< {BODY_TARGET_MS:g} ms, 0 walks" if sc.kind == "body" else \
        f"{_walks(sc)} walk{'s' if _walks(sc) > 1 else ''}"
    if res.get("wrong"):
        return target, "VOID", res["wrong"]
    if res.get("error"):
        return target, "FAIL", res["error"]
    if not res.get(clock):
        return target, "FAIL", "no measured update"
    ms = _median(res[clock]) * 1000
    if sc.kind == "heap" and ref_ms:
        target += f" ({ms / ref_ms:.1f}x 1 get_referrers)"
    if res.get("violations"):
        return target, "FAIL", "; ".join(res["violations"])
    if sc.kind == "body" and ms >= BODY_TARGET_MS:
        return target, "FAIL", f"median {ms:.2f} ms"
    return target, "PASS", ""


if __name__ == "__main__":
    sys.exit(main())
