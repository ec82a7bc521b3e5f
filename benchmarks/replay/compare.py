"""Comparing a live run with the fresh one, and finding what explains a difference.

A step matches when both runs produce the same outcome for every test id. The difference
that matters most is a test that passes in the fresh process and fails live: the live
program runs something other than its source. Such a step is explained when the tool
said something stayed old: a refusal, an entry hotswap's report lists as left on the old
version, or a note other than the informational kinds below (line numbers, formatting).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Notes that describe what the update did, never a behaviour left old: lines that moved,
# tracebacks' line numbers, an importer refreshed ("m ran again 2 statement(s) reading
# names it imported"), a class replaced whose references were all retargeted (one that
# could not be is a separate "left old" entry). Any other note counts as an explanation,
# and the page lists it for a reader to judge.
INFORMATIONAL = re.compile(
    r"line numbers moved|no code changed|source unchanged|keep their old line numbers"
    r"|ran again \d+ statement\(s\) reading names it imported|was replaced by a new class")


@dataclass
class StepResult:
    """One version of one library under one tool, judged against the fresh run."""

    version: str
    match: bool
    broken: list[str] = field(default_factory=list)  # pass fresh, not live
    healed: list[str] = field(default_factory=list)  # pass live, not fresh
    other: list[str] = field(default_factory=list)  # skipped/missing on one side only
    unstable: int = 0  # tests left out: their outcome changes when a process reruns them
    passed_fresh: int = 0  # tests judged that pass in the fresh process
    explanations: list[str] = field(default_factory=list)
    first_error: str = ""  # the error line of the first test in `broken`, live
    data_files: int = 0  # non-Python files the release changed (no tool updates those)
    stale_data: list[str] = field(default_factory=list)  # of `broken`: the data's doing

    @property
    def silent(self) -> bool:
        """A test passes fresh and fails live and the tool said nothing stayed old (a
        failure that a fresh process with the first release's data files repeats is the
        data's doing, not the code's)."""
        return bool(set(self.broken) - set(self.stale_data)) and not self.explanations


def judge(step: dict[str, Any], fresh: dict[str, str], unstable: list[str],
          old_data: dict[str, str] | None = None) -> StepResult:
    """Compare one live step record (from live.py) with the fresh outcomes, leaving out
    the tests a second run in the fresh process does not repeat. `old_data`: the fresh
    outcomes on the new code with the first release's non-Python files, if any."""
    skip = set(unstable)
    live = {t: o for t, o in step["live"].items() if t not in skip}
    fresh = {t: o for t, o in fresh.items() if t not in skip}
    result = StepResult(step["version"], live == fresh, unstable=len(skip),
                        passed_fresh=sum(o == "passed" for o in fresh.values()))
    for test in sorted(fresh.keys() | live.keys()):
        a, b = fresh.get(test), live.get(test)
        if a == b:
            continue
        if a == "passed":
            result.broken.append(test)
        elif b == "passed":
            result.healed.append(test)
        else:
            result.other.append(test)
    if result.broken:
        result.first_error = step.get("messages", {}).get(result.broken[0], "")
    result.data_files = step.get("changes", {}).get("data_files", 0)
    if old_data is not None:
        result.stale_data = [t for t in result.broken
                             if old_data.get(t) == step["live"].get(t)]
    log = step["log"]
    result.explanations = [*log["refusals"], *explaining(log["entries"])]
    return result


def explaining(entries: list[str]) -> list[str]:
    """The report entries that say something stayed old (informational notes dropped)."""
    return [e for e in entries if not INFORMATIONAL.search(e)]
