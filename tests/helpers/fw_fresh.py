"""The oracle of the framework tests: the same probe, run on the live program (through
objects held since before the update) and in a fresh interpreter importing the new
source. Answers are compared, not internals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

SRC = str(Path(__file__).resolve().parents[2] / "src")


def fresh(root: Path, probe: str, call: str, timeout: float = 120) -> Any:
    """Run `probe` (source defining functions) then print ``json.dumps(<call>)`` in a
    fresh interpreter whose path starts with `root` (the modules under test)."""
    script = "\n".join([
        "import sys, json, warnings",
        "warnings.simplefilter('ignore')",
        f"sys.path[:0] = [{str(root)!r}, {SRC!r}]",
        "sys.dont_write_bytecode = True",
        textwrap.dedent(probe),
        f"print('@@' + json.dumps({call}))",
    ])
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=timeout, cwd=str(root), env=env)
    if out.returncode != 0:
        raise AssertionError(f"the fresh process failed:\n{out.stderr[-3000:]}")
    line = [x for x in out.stdout.splitlines() if x.startswith("@@")][-1]
    return json.loads(line[2:])


def live(probe: str, call: str, **names: Any) -> Any:
    """The same probe in this process, with `names` (held objects) in its namespace;
    the answer goes through JSON like the fresh one's."""
    ns: dict[str, Any] = dict(names)
    exec(textwrap.dedent(probe), ns)
    return json.loads(json.dumps(eval(call, ns)))
