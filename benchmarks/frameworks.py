"""The adapter layer's cost for a program that uses no framework: side by side with a
baseline tree of hotswap (e.g. the commit before the layer), each measured in fresh
interpreters.

    python benchmarks/frameworks.py --baseline /path/to/other/src [--reps 15]

Rows: ``import hotswap`` (the fastest of `reps` fresh interpreters already holding the
standard library's usual modules), and one function-body edit of a generated module of
200 functions and 20 classes (the median of `reps` updates, each a new body). No
framework adapter may be imported (``hotswap._frameworks.<framework>``), and the layer
must cost nothing measurable per update.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

HERE_SRC = str(Path(__file__).resolve().parents[1] / "src")

IMPORT = '''
import sys, time
import json, logging, threading, dataclasses, ast  # a program's usual company
t = time.perf_counter()
import hotswap
dt = time.perf_counter() - t
adapters = [m for m in sys.modules if m.startswith("hotswap._frameworks.")]
print(json.dumps({"ms": dt * 1e3, "frameworks": bool(adapters)}))
'''

EDIT = '''
import importlib, json, sys, time, pathlib
sys.dont_write_bytecode = True
sys.path.insert(0, FOLDER)
import hotswap
path = pathlib.Path(FOLDER, "bench_mod.py")
text = pathlib.Path(FOLDER, "bench_mod.orig").read_text()
path.write_text(text)
mod = importlib.import_module("bench_mod")
times = []
for k in range(REPS + 1):
    path.write_text(text.replace("return x + 100", f"return x + {1000 + k}"))
    t = time.perf_counter()
    hotswap.update(mod)
    dt = time.perf_counter() - t
    assert mod.f100(1) == 1001 + k
    if k:
        times.append(dt * 1e3)
adapters = [m for m in sys.modules if m.startswith("hotswap._frameworks.")]
print(json.dumps({"ms": sorted(times)[len(times) // 2], "frameworks": bool(adapters)}))
'''


def _module() -> str:
    parts = [f"def f{i}(x):\n    return x + {i}\n" for i in range(200)]
    parts += [f"class C{i}:\n    def m(self, x):\n        return x * {i}\n" for i in range(20)]
    return "\n\n".join(parts)


def _run(src: str, code: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"}, timeout=300)
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def measure(src: str, reps: int, folder: str) -> dict[str, object]:
    imports = [_run(src, IMPORT) for _ in range(reps)]
    edit = EDIT.replace("FOLDER", repr(folder)).replace("REPS", str(reps))
    edits = [_run(src, edit) for _ in range(3)]
    return {"import_ms": min(i["ms"] for i in imports),  # the least disturbed run
            "edit_ms": statistics.median(e["ms"] for e in edits),
            "layer_imported": any(i["frameworks"] or e["frameworks"]
                                  for i in imports for e in edits)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="another tree's src folder")
    parser.add_argument("--reps", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        rows = {}
        Path(folder, "bench_mod.orig").write_text(textwrap.dedent(_module()))
        for label, src in (("baseline", args.baseline), ("this tree", HERE_SRC)) * 2:
            rows[label] = measure(src, args.reps, folder)  # the second round is kept
    print(f"{'':12} {'import hotswap':>16} {'body edit':>12} {'framework adapters imported':>24}")
    for label, row in rows.items():
        print(f"{label:12} {row['import_ms']:>13.2f} ms {row['edit_ms']:>9.2f} ms "
              f"{str(row['layer_imported']):>24}")
    return 1 if rows["this tree"]["layer_imported"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
