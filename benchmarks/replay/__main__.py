"""``python -m benchmarks.replay``: replay real libraries' releases (see docs/replay.md).

    python -m benchmarks.replay --fill          # download the sdists into the cache only
    python -m benchmarks.replay                 # the full replay; writes docs/replay.md
    python -m benchmarks.replay --libs six,toolz --tools hotswap --out -
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import cache
from .catalogue import LIBRARIES, library
from .run import replay
from .table import render
from .updaters import TOOLS, installed

COMMAND = "python -m benchmarks.replay"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fill", action="store_true", help="only download into the cache")
    parser.add_argument("--libs", help="comma-separated distributions (default: all)")
    parser.add_argument("--tools", help="comma-separated tools (default: all installed)")
    parser.add_argument("--jobs", type=int, default=2, help="live processes at once")
    parser.add_argument("--out", default="docs/replay.md", help="the page ('-': stdout)")
    parser.add_argument("--json", help="also write the raw step records here")
    args = parser.parse_args(argv)
    libs = [library(d) for d in args.libs.split(",")] if args.libs else list(LIBRARIES)
    if args.fill:
        for lib in libs:
            cache.fill(lib)
            print(f"{lib.dist}: {', '.join(lib.versions)} in {cache.cache_dir()}")
        return 0
    tools = args.tools.split(",") if args.tools else [t for t in TOOLS if installed(t)]
    if tools[0] != "hotswap":
        tools = ["hotswap", *[t for t in tools if t != "hotswap"]]  # it runs the oracle
    started = time.perf_counter()
    judged, raw = replay({lib: lib.versions for lib in libs}, tools, jobs=args.jobs)
    command = " ".join([COMMAND, *(argv if argv is not None else sys.argv[1:])])
    page = render(judged, tools, command, time.perf_counter() - started)
    if args.json:
        Path(args.json).write_text(json.dumps(raw, indent=1))
    if args.out == "-":
        print(page)
    else:
        Path(args.out).write_text(page)
        print(page.split("## hotswap's mismatches")[0])
    silent = sum(s.silent for per_tool in judged.values() for s in per_tool["hotswap"])
    return 1 if silent else 0


if __name__ == "__main__":
    sys.exit(main())
