"""The service demo: worker threads keep answering while their handler module is updated.
Run it as a newcomer would, in a fresh interpreter, and check what it claims."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest


def hotswap_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hotswap", *args], capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess[str]:
    return hotswap_cli("demo", "service")


def test_demo_succeeds(demo: subprocess.CompletedProcess[str]) -> None:
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "FAIL" not in demo.stdout
    assert re.search(r"== Done: all \d+ checks passed ==", demo.stdout)


def test_demo_prints_the_report(demo: subprocess.CompletedProcess[str]) -> None:
    out = demo.stdout
    assert "hotswap: updated service_handlers to generation 1" in out
    assert "functions patched" in out and "service_handlers.render" in out
    assert "service_handlers.handle" in out and "service_handlers.Profile.greeting" in out
    assert "classes updated (1): service_handlers.Profile" in out
    assert "[ok] applied at a quiet moment" in out


def test_demo_keeps_state_and_switches_responses(demo: subprocess.CompletedProcess[str]) -> None:
    out = demo.stdout
    assert re.search(r"#\d+ Hello, \w+! visit \d+ \[v1\]", out)
    assert re.search(r'\{"id": \d+, "greeting": "Hi \w+", "visits": \d+, '
                     r'"badge": "\w+", "v": 2\}', out)
    for claim in ("`handle`, held by the workers since v1, is handlers.handle",
                  "handlers.stats, .cache and .lock are the same objects as in v1",
                  "counters kept counting"):
        assert f"[ok] {claim}" in out
    assert re.search(r"\[ok\] the \d+ cached profiles are the same objects", out)


def test_demo_shows_broken_update_refused(demo: subprocess.CompletedProcess[str]) -> None:
    out = demo.stdout
    assert "raised UpdateError" in out
    match = re.search(r"service_handlers\.py:(\d+): the new source failed while staging "
                      r".*KeyError: 'vip'", out)
    assert match, out
    assert f"[ok] the error names the file and line {match.group(1)}" in out
    assert "[ok] nothing changed" in out


def test_demo_timeline(demo: subprocess.CompletedProcess[str]) -> None:
    out = demo.stdout
    timeline = out.split("== Timeline ==", 1)[1].split("== Summary ==", 1)[0]
    rows = dict(re.findall(r"^  (\d)\. .*?\s+[\d,]+\s+0\s+0  (.*)$", timeline, re.M))
    assert set(rows) == {"1", "2", "3", "4", "5"}, timeline  # every phase: 0 errors, 0 mixed
    assert rows["1"] == "v1" and rows["3"] == rows["5"] == "v2", timeline
    assert re.search(r"^  total\s+[\d,]+\s+0\s+0$", timeline, re.M), timeline
    for claim in ("zero dropped", "zero errors", "zero mixed responses",
                  "v1 before the update; only v2 once update() returned",
                  "every user's visit numbers run 1, 2, 3"):
        assert f"[ok] {claim}" in out


def test_demo_help_lists_both_demos() -> None:
    result = hotswap_cli("demo", "--help")
    assert result.returncode == 0, result.stderr
    assert re.search(r"^  game\s+\S", result.stdout, re.M), result.stdout
    assert re.search(r"^  service\s+worker threads", result.stdout, re.M), result.stdout
