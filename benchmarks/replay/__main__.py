"""``python -m benchmarks.replay``: replay real libraries' releases (see docs/replay.md).

    python -m benchmarks.replay --fill          # download the sdists into the cache only
    python -m benchmarks.replay                 # the full replay; writes docs/replay.md
    python -m benchmarks.replay --libs six,toolz --tools hotswap --out -
    python -m benchmarks.replay --from-json raw.json   # the page again from a raw run

Exits 1 when a hotswap step differs from its fresh process silently (a test passes fresh
and fails live, and no refusal or report entry says what stayed old).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

from . import cache
from .catalogue import LIBRARIES, library
from .run import judge_run, replay
from .table import render
from .updaters import TOOLS, installed

COMMAND = "python -m benchmarks.replay"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    libs = [library(d) for d in args.libs.split(",")] if args.libs else list(LIBRARIES)
    if args.fill:
        for lib in libs:
            cache.fill(lib)
            print(f"{lib.dist}: {', '.join(lib.versions)} in {cache.cache_dir()}")
        return 0
    if args.from_json:
        raw: dict[str, Any] = json.loads(Path(args.from_json).read_text())
    else:
        raw = _run(args, libs, argv if argv is not None else sys.argv[1:])
        if args.peers_from:
            _take_peers(raw, json.loads(Path(args.peers_from).read_text()))
        if args.json:
            Path(args.json).write_text(json.dumps(raw, indent=1))
    judged = judge_run(raw)
    page = render(judged, raw)
    if args.out == "-":
        print(page)
    else:
        Path(args.out).write_text(page)
        print(page.split("## hotswap's mismatches")[0])
    silent = sum(s.silent for per_tool in judged.values() for s in per_tool["hotswap"])
    return 1 if silent else 0


def _run(args: argparse.Namespace, libs: list[Any], argv: list[str]) -> dict[str, Any]:
    tools = args.tools.split(",") if args.tools else [t for t in TOOLS if installed(t)]
    tools = ["hotswap", *[t for t in tools if t != "hotswap"]]  # it runs the oracle
    started, load = time.perf_counter(), os.getloadavg()[0]
    raw = replay({lib: lib.versions for lib in libs}, tools, jobs=args.jobs)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    raw["machine"] = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "platform": platform.platform(), "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "load": f"{load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end",
        "command": " ".join([COMMAND, *argv]),
        "seconds": time.perf_counter() - started,
        "cpu_seconds": children.ru_utime + children.ru_stime}
    return raw


def _take_peers(raw: dict[str, Any], earlier: dict[str, Any]) -> None:
    """Add to `raw` the other tools' processes of an earlier run of the same plan.

    A peer's live process depends only on the library's releases and the harness, never on
    hotswap's code, so a run made to measure a new hotswap may borrow them (and be judged
    against its own fresh oracle). The page names the earlier run's date.
    """
    if earlier["plan"] != raw["plan"]:
        raise SystemExit("--peers-from: that run replayed other libraries or versions")
    peers = [t for t in earlier["tools"] if t not in raw["tools"]]
    raw["tools"] = [*raw["tools"], *peers]
    raw["jobs"].update({key: job for key, job in earlier["jobs"].items()
                        if key.split("/", 1)[1] in peers})
    raw["machine"]["note"] = (f"{', '.join(peers)}: from the run of "
                              f"{earlier['machine']['date']} (--peers-from)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fill", action="store_true", help="only download into the cache")
    parser.add_argument("--libs", help="comma-separated distributions (default: all)")
    parser.add_argument("--tools", help="comma-separated tools (default: all installed)")
    parser.add_argument("--jobs", type=int, default=2, help="live processes at once")
    parser.add_argument("--out", default="docs/replay.md", help="the page ('-': stdout)")
    parser.add_argument("--json", help="also write the raw run here")
    parser.add_argument("--from-json", help="render the page from a raw run, run nothing")
    parser.add_argument("--peers-from", help="take the other tools' processes from this "
                        "earlier raw run of the same libraries (hotswap runs anew)")
    return parser


if __name__ == "__main__":
    sys.exit(main())
