"""The Markdown page of a replay: the table of matches and every hotswap mismatch."""

from __future__ import annotations

import re
from typing import Any

from .compare import StepResult

HEADER = """# Replaying real libraries' releases

`python -m benchmarks.replay` takes successive released versions of popular pure-Python
libraries (their source distributions, which ship their tests) and replays each library
into one live process per tool: the first version is imported, each next version's files
are laid over the last, the tool brings the changed modules up to date, and that
version's own test suite runs in the same process against the live package (pytest
in-process; the test modules are imported afresh at every run, only the library is the
live program). The oracle is the same suite on the same files in a fresh interpreter.

```sh
pip install -e '.[bench]'                  # hotswap, IPython, jurigged, the suites' needs
python -m benchmarks.replay --fill         # download the sdists into the cache, once
python -m benchmarks.replay                # the replay; rewrites this page (see "took")
python -m benchmarks.replay --libs six,toolz --tools hotswap --out -
python -m benchmarks.replay --tools hotswap --peers-from earlier.json  # peers kept
```

The cache is `~/.cache/hotswap-replay` (or `$HOTSWAP_REPLAY_CACHE`), never the repository.
`tests/test_replay.py` (marked heavy) replays two libraries, three versions each, from
that cache in CI, and is skipped, naming the fill command, when the cache lacks them.

How a step is made:

- Only files whose bytes changed are rewritten; the loaded modules among them are the
  changed modules. A module a release **adds** is not imported by the harness: the
  updated code imports it when it needs it (the import system's caches are invalidated
  first). A module a release **removes** is forgotten (dropped from `sys.modules` and its
  package), as a restart would: its file is gone and a fresh process cannot import it.
- hotswap: one `hotswap.update_many` of the changed modules; if that is refused, each
  module alone in dependency order, so one refusal does not hold back the rest. Every
  refusal and every report entry saying something stayed old is kept.
- `importlib.reload`: each changed module, in dependency order (imports first).
- IPython's autoreload: `ModuleReloader.check()` as `%autoreload 2` runs it before a cell.
- jurigged: sources registered at import, `CodeFile.refresh()` on each changed file, as
  its watcher does.
- Each tool runs in its own process. The projects' own pytest configuration is not used
  (it names coverage and lint plugins); both sides run the same plain command. A few
  slow tests are left out by name to keep the run near 15 minutes
  (`benchmarks/replay/catalogue.py` lists them).

A step **matches** when every test has the same outcome (passed, failed, skipped) live
and fresh. A **mismatch** means the live program, after the update, behaves differently
from a fresh start of the same release: mostly a test that passes fresh fails live
(something stayed old). For hotswap that must never be silent: each such step must carry
a refusal or a report entry naming what stayed old (notes about line numbers or
formatting do not count). Every hotswap mismatch is listed below with the entry that
explains it, or "unexplained". A release that also changed non-Python files
(translation catalogues, data tables) runs fresh once more, on its code with the first
replayed release's versions of those files (the data the live process read when it
started): a live failure that run repeats is the data's doing (no tool reloads data, and
hotswap updates code, see docs/limits.md), and does not count as silent.
"""


def render(results: dict[str, dict[str, list[StepResult]]], raw: dict[str, Any]) -> str:
    """The page: header, the machine of the run, the table (update steps matched / steps,
    per tool), the tests left out, and the hotswap mismatches."""
    m, tools = raw["machine"], raw["tools"]
    lines = [HEADER, "## The last run", "",
             "```text",
             f"date     {m['date']}",
             f"machine  {m['platform']}, {m['cpus']} CPUs, load average {m['load']}",
             f"python   {m['python']}",
             f"command  {m['command']}",
             *([f"note     {m['note']}"] if m.get("note") else []),
             f"took     {m['seconds'] / 60:.1f} minutes{_cpu(m)}",
             "```", "",
             "Update steps whose live run matched the fresh one (the first version of each "
             "library is imported, not updated, and is not counted); `passing` is the most "
             "tests that pass in the fresh process at one version:", "", "```text"]
    width = max(len(lib) for lib in results) + 2
    lines.append("library".ljust(width) + "passing".rjust(8)
                 + "".join(t.rjust(18) for t in tools))
    totals = dict.fromkeys(tools, 0)
    steps_total = 0
    for lib, per_tool in results.items():
        steps = _update_steps(per_tool[tools[0]])
        steps_total += len(steps)
        passing = max((s.passed_fresh for s in per_tool[tools[0]]), default=0)
        row = lib.ljust(width) + str(passing).rjust(8)
        for tool in tools:
            updated = _update_steps(per_tool.get(tool, []))
            if not updated:
                row += "not run".rjust(18)
                continue
            n = sum(s.match for s in updated)
            totals[tool] += n
            row += f"{n}/{len(updated)}".rjust(18)
        lines.append(row)
    lines.append("total".ljust(width) + " " * 8 + "".join(f"{totals[t]}/{steps_total}".rjust(18)
                                                for t in tools))
    lines += ["```", ""]
    silent = [f"{lib} {s.version}" for lib, per_tool in results.items()
              for s in per_tool.get("hotswap", []) if s.silent]
    lines += [f"hotswap steps where a test passes fresh and fails live with no refusal or "
              f"report entry: {len(silent)}" + (f" ({', '.join(silent)})." if silent else "."),
              ""]
    lines += _left_out(results)
    lines += _mismatches(results)
    return "\n".join(lines) + "\n"


def _cpu(machine: dict[str, Any]) -> str:
    cpu = machine.get("cpu_seconds")
    return "" if cpu is None else f" ({cpu / 60:.1f} minutes of CPU in the replay's processes)"


def _left_out(results: dict[str, dict[str, list[StepResult]]]) -> list[str]:
    """The tests no step judged: a second run in the fresh process changes their outcome."""
    counts = {lib: max((s.unstable for s in per_tool.get("hotswap", [])), default=0)
              for lib, per_tool in results.items()}
    counts = {lib: n for lib, n in counts.items() if n}
    if not counts:
        return []
    listed = ", ".join(f"{lib} {n}" for lib, n in counts.items())
    return ["Left out of the comparison, per library (at most, over its versions): the "
            "tests whose outcome changes when the fresh process runs the suite a second "
            "time, as the live process does after every update. They test what an "
            f"earlier run left in the process, not the library: {listed}.", ""]


def _update_steps(steps: list[StepResult]) -> list[StepResult]:
    return steps[1:]


def _mismatches(results: dict[str, dict[str, list[StepResult]]]) -> list[str]:
    lines = ["## hotswap's mismatches", ""]
    found = False
    for lib, per_tool in results.items():
        steps = per_tool.get("hotswap", [])
        if steps and not steps[0].match:
            lines.append(f"- {lib} {steps[0].version} (first import, no update): the "
                         "in-process run differs from the fresh one: "
                         f"{_tests(steps[0])}")
            found = True
        for step in _update_steps(steps):
            if step.match:
                continue
            found = True
            why = _why(step.explanations) if step.explanations or step.silent else \
                "none needed: every such failure is the data's doing"
            if not step.broken:
                why = "no test passes fresh and fails live; " + why
            error = f" First error: `{_cut(step.first_error.lstrip('E').strip())}`." \
                if step.first_error else ""
            data = (f" The release also changed {step.data_files} non-Python file(s) "
                    "(stubs, data, translations), which no tool reloads." if step.data_files
                    else "")
            if step.stale_data:
                data += (f" Of the tests that pass fresh and fail live, {len(step.stale_data)}"
                         f" of {len(step.broken)} fail the same way in a fresh process on "
                         "this release's code with the first release's non-Python files "
                         "(the data the live process read): the data's doing, not the "
                         "code's.")
            lines.append(f"- **{lib} {step.version}**: {_tests(step)}.{error}{data} "
                         f"Report: {why}")
    if not found:
        lines.append("None: every hotswap step matched its fresh process.")
    return lines + [""]


WORK = re.compile(r"\S*/hotswap-replay-[^/\s]+/[^/\s]+/[^/\s]+/")


def _why(explanations: list[str]) -> str:
    """The entries, each once, without the temporary work folder in their paths."""
    if not explanations:
        return "**unexplained**"
    entries = [WORK.sub("", e.removeprefix("update_many: ")) for e in explanations]
    seen: list[str] = []
    for entry in entries:  # the batch's refusal repeats one of the single modules'
        if entry not in seen and not any(entry in other != entry for other in entries):
            seen.append(_cut(entry))
    more = f" (and {len(seen) - 4} more)" if len(seen) > 4 else ""
    return "; ".join(f"`{e}`" for e in seen[:4]) + more


def _cut(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _tests(step: StepResult) -> str:
    parts = []
    for label, tests in (("pass fresh, fail live", step.broken),
                         ("pass live, fail fresh", step.healed),
                         ("differ otherwise", step.other)):
        if tests:
            shown = ", ".join(f"`{t}`" for t in tests[:3])
            more = f" and {len(tests) - 3} more" if len(tests) > 3 else ""
            parts.append(f"{len(tests)} {label} ({shown}{more})")
    return "; ".join(parts)
