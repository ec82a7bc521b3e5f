"""Running the replay: every library with every tool, each in its own live process.

Jobs are (library, tool) pairs, each a subprocess (``live.py``) with its own work
folder, so a tool's import hooks and caches never tax another; the hotswap job of each
library also runs the fresh oracle, whose outcomes judge every tool on that library.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from . import cache
from .catalogue import Library
from .compare import StepResult, judge
from .outcomes import environment

Steps = list[dict[str, Any]]


def run_job(lib: Library, tool: str, versions: tuple[str, ...], root: Path,
            timeout: float) -> Steps | str:
    """One live process; its step records, or why it died (a crash, a timeout)."""
    work = (root / lib.dist / tool.replace(".", "-")).resolve()
    work.mkdir(parents=True)
    out = work.parent / f"{work.name}.json"
    argv = [sys.executable, "-m", "benchmarks.replay.live", lib.dist, tool, str(work),
            str(out), *versions]
    if tool == "hotswap":
        argv.append("--oracle")
    try:
        done = subprocess.run(argv, cwd=work, env=environment(work), timeout=timeout,
                              capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        return f"the live process took longer than {timeout:.0f} s"
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        return f"the live process exited {done.returncode}: {tail}"
    steps: Steps = json.loads(out.read_text())
    return steps


def replay(plan: dict[Library, tuple[str, ...]], tools: list[str], jobs: int = 2,
           timeout: float = 900) -> dict[str, Any]:
    """Replay every library of `plan` (library -> versions) with every tool.

    Returns the raw run: ``plan`` (distribution -> versions), ``tools`` and ``jobs``
    ("dist/tool" -> step records, or why the process died); `judge_run` judges it.
    """
    for lib, versions in plan.items():
        cache.fill(lib, versions)
    pairs = [(lib, tool) for lib in plan for tool in tools]
    with tempfile.TemporaryDirectory(prefix="hotswap-replay-") as tmp:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {pair: pool.submit(run_job, pair[0], pair[1], plan[pair[0]],
                                         Path(tmp), timeout) for pair in pairs}
            results = {f"{lib.dist}/{tool}": future.result()
                       for (lib, tool), future in futures.items()}
    return {"plan": {lib.dist: list(v) for lib, v in plan.items()}, "tools": tools,
            "jobs": results}


def judge_run(raw: dict[str, Any]) -> dict[str, dict[str, list[StepResult]]]:
    """Every step of a raw run judged against its library's oracle (library -> tool ->
    steps); a dead process's steps are all mismatches that name why it died."""
    judged: dict[str, dict[str, list[StepResult]]] = {}
    for dist, versions in raw["plan"].items():
        oracle = raw["jobs"][f"{dist}/hotswap"]
        fresh = ({s["version"]: (s["fresh"], s["unstable"], s.get("fresh_old_data"))
                  for s in oracle}
                 if isinstance(oracle, list) else {})
        judged[dist] = {tool: _judge_all(raw["jobs"][f"{dist}/{tool}"], versions, fresh)
                        for tool in raw["tools"]}
    return judged


def _judge_all(steps: Steps | str, versions: list[str],
               fresh: dict[str, tuple[dict[str, str], list[str], dict[str, str] | None]]
               ) -> list[StepResult]:
    if isinstance(steps, str) or not fresh:
        why = steps if isinstance(steps, str) else "the oracle's process died"
        return [StepResult(v, False, explanations=[why]) for v in versions]
    return [judge(step, *fresh[step["version"]]) for step in steps]
