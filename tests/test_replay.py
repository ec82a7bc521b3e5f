"""A replay of real releases in CI: no step may differ from a fresh process silently.

Two libraries, three released versions each, from the cache that
``python -m benchmarks.replay --fill`` fills (skipped, naming that command, when the
cache lacks them). Every step where the fresh process passes a test that the live hotswap
process fails must carry a refusal or a report entry naming what stayed old.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.replay import cache  # noqa: E402
from benchmarks.replay.catalogue import CI_SUBSET, library  # noqa: E402
from benchmarks.replay.compare import judge  # noqa: E402
from benchmarks.replay.run import judge_run, replay  # noqa: E402


def _step(live: dict[str, str], entries: list[str], refusals: list[str]) -> dict[str, object]:
    return {"version": "2", "live": live, "messages": {},
            "log": {"refusals": refusals, "entries": entries, "reports": []}}


def test_a_test_failing_live_only_is_silent_unless_something_says_what_stayed_old() -> None:
    fresh = {"t::a": "passed", "t::b": "passed", "t::flaky": "passed"}
    live = {"t::a": "passed", "t::b": "failed", "t::flaky": "failed"}
    line_notes = ["m: note: line numbers moved for 3 unchanged function(s)",
                  "m: note: no code changed (comments, formatting or layout only)",
                  "m: note: pkg ran again 0 statement(s) reading names it imported (v)"]
    quiet = judge(_step(live, line_notes, []), fresh, ["t::flaky"])
    assert (quiet.match, quiet.broken, quiet.silent, quiet.unstable) == \
        (False, ["t::b"], True, 1)
    left_old = judge(_step(live, ["m: left old: m.f: its closure changed"], []), fresh, [])
    refused = judge(_step(live, [], ["m: m.py:1: refused"]), fresh, [])
    assert not left_old.silent and not refused.silent
    same = judge(_step(dict(fresh), [], []), fresh, [])
    assert same.match and not same.silent


def test_a_failure_a_fresh_process_repeats_with_the_old_data_files_is_the_datas() -> None:
    fresh = {"t::a": "passed", "t::b": "passed"}
    live = {"t::a": "failed", "t::b": "failed"}
    all_data = judge(_step(live, [], []), fresh, [], {"t::a": "failed", "t::b": "failed"})
    assert all_data.stale_data == ["t::a", "t::b"] and not all_data.silent
    some_data = judge(_step(live, [], []), fresh, [], {"t::a": "failed", "t::b": "passed"})
    assert some_data.stale_data == ["t::a"] and some_data.silent
    assert judge(_step(live, [], []), fresh, []).silent


def test_the_old_data_control_restores_only_the_named_files(tmp_path: Path) -> None:
    from benchmarks.replay.catalogue import Library
    from benchmarks.replay.layout import with_old_data

    lib = Library("pkg", ("1",), ("pkg",))
    old, work = tmp_path / "old", tmp_path / "work"
    for root, text in ((old, "old"), (work, "new")):
        (root / "pkg").mkdir(parents=True)
        (root / "pkg" / "table.json").write_text(text)
        (root / "pkg" / "code.py").write_text(text)
    (work / "pkg" / "added.json").write_text("new")
    control = with_old_data(lib, work, old, ["pkg/table.json", "pkg/added.json"])
    assert (control / "pkg" / "table.json").read_text() == "old"
    assert not (control / "pkg" / "added.json").exists()
    assert (control / "pkg" / "code.py").read_text() == "new"
    assert (work / "pkg" / "table.json").read_text() == "new"


@pytest.mark.heavy
def test_every_difference_from_a_fresh_process_is_reported() -> None:
    plan = {library(dist): versions for dist, versions in CI_SUBSET.items()}
    missing = [f"{lib.dist} {v}" for lib, versions in plan.items() for v in versions
               if not cache.is_filled(lib, (v,))]
    if missing:
        pytest.skip(f"the replay cache {cache.cache_dir()} lacks {', '.join(missing)}: run "
                    f"`{cache.FILL_COMMAND} --libs {','.join(CI_SUBSET)}` to fill it")
    raw = replay(plan, ["hotswap"], jobs=2, timeout=1200)  # a loaded machine is slow
    died = {job: why for job, why in raw["jobs"].items() if isinstance(why, str)}
    assert not died, died
    steps = [(dist, step) for dist, per_tool in judge_run(raw).items()
             for step in per_tool["hotswap"]]
    assert len(steps) == sum(len(v) for v in CI_SUBSET.values())
    silent = [f"{dist} {step.version}: {len(step.broken)} test(s) pass fresh and fail live "
              f"with no report entry, e.g. {step.broken[:3]}"
              for dist, step in steps if step.silent]
    assert not silent, "\n".join(silent)


def test_a_run_borrows_the_peers_of_an_earlier_run_of_the_same_plan() -> None:
    from benchmarks.replay.__main__ import _take_peers

    plan = {"six": ["1", "2"]}
    earlier = {"plan": plan, "tools": ["hotswap", "jurigged"],
               "machine": {"date": "then"},
               "jobs": {"six/hotswap": "old engine", "six/jurigged": "peer steps"}}
    raw = {"plan": dict(plan), "tools": ["hotswap"], "machine": {"date": "now"},
           "jobs": {"six/hotswap": "new engine"}}
    _take_peers(raw, earlier)
    assert raw["tools"] == ["hotswap", "jurigged"]
    assert raw["jobs"] == {"six/hotswap": "new engine", "six/jurigged": "peer steps"}
    assert "then" in raw["machine"]["note"]
    with pytest.raises(SystemExit):
        _take_peers({**raw, "plan": {"six": ["1", "3"]}}, earlier)
