"""The two demos, run exactly as the README says, each in a fresh interpreter, and checked
for what they claim. The game (``python -m hotswap demo``) is the first thing a newcomer
runs, and a smoke test of the whole engine; the service (``python -m hotswap demo
service``) keeps worker threads answering while their handler module is updated."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest


def hotswap_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hotswap", *args], capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def game() -> subprocess.CompletedProcess[str]:
    return hotswap_cli("demo")


@pytest.fixture(scope="module")
def service() -> subprocess.CompletedProcess[str]:
    return hotswap_cli("demo", "service", timeout=120)


@pytest.mark.parametrize("which", ["game", "service"])
def test_demo_succeeds(which: str, request: pytest.FixtureRequest) -> None:
    demo: subprocess.CompletedProcess[str] = request.getfixturevalue(which)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "FAIL" not in demo.stdout
    assert re.search(r"== Done: all \d+ checks passed ==", demo.stdout)


# -- the game --------------------------------------------------------------------------------


def test_game_prints_the_report(game: subprocess.CompletedProcess[str]) -> None:
    out = game.stdout
    assert "hotswap: updated arena_rules to generation 1" in out
    assert "functions patched" in out and "arena_rules.step" in out
    assert "arena_rules.Entity.move" in out
    assert "classes updated (1): arena_rules.Entity" in out


def test_game_shows_identities_kept(game: subprocess.CompletedProcess[str]) -> None:
    out = game.stdout
    ids_before = re.findall(r"(ant|bee|cat)  id=(0x[0-9a-f]+)  x=[ \d]+ hp=[ \d]+$", out, re.M)
    ids_after = re.findall(r"(ant|bee|cat)  id=(0x[0-9a-f]+)  x=[ \d]+ hp=[ \d]+  same object$",
                           out, re.M)
    assert len(ids_before) == 3 and ids_before == ids_after
    assert "[ok] every entity is the same object, with the same position and hp" in out
    assert "[ok] `step`, held since v1, is rules.step" in out
    assert "[ok] module state kept" in out
    assert "[ok] those frames followed the v2 rules" in out


def test_game_shows_broken_update_refused(game: subprocess.CompletedProcess[str]) -> None:
    out = game.stdout
    assert "raised UpdateError" in out
    match = re.search(r"arena_rules\.py:(\d+): cannot compile .*SyntaxError", out)
    assert match, out
    assert f"[ok] the error names the file and line {match.group(1)}" in out
    assert "[ok] nothing changed" in out
    # The loop went on after the refused update, still on v2.
    after = out.split("raised UpdateError", 1)[1]
    assert re.search(r"frame \d+  v2 ", after)


# -- the service ---------------------------------------------------------------------------


def test_service_prints_the_report(service: subprocess.CompletedProcess[str]) -> None:
    out = service.stdout
    assert "hotswap: updated service_handlers to generation 1" in out
    assert "functions patched" in out and "service_handlers.render" in out
    assert "service_handlers.handle" in out and "service_handlers.Profile.greeting" in out
    assert "classes updated (1): service_handlers.Profile" in out
    assert "[ok] applied at a quiet moment" in out


def test_service_keeps_state_and_switches_responses(
        service: subprocess.CompletedProcess[str]) -> None:
    out = service.stdout
    assert re.search(r"#\d+ Hello, \w+! visit \d+ \[v1\]", out)
    assert re.search(r'\{"id": \d+, "greeting": "Hi \w+", "visits": \d+, '
                     r'"badge": "\w+", "v": 2\}', out)
    for claim in ("`handle`, held by the workers since v1, is handlers.handle",
                  "handlers.stats, .cache and .lock are the same objects as in v1",
                  "counters kept counting"):
        assert f"[ok] {claim}" in out
    assert re.search(r"\[ok\] the \d+ cached profiles are the same objects", out)


def test_service_shows_broken_update_refused(service: subprocess.CompletedProcess[str]) -> None:
    out = service.stdout
    assert "raised UpdateError" in out
    match = re.search(r"service_handlers\.py:(\d+): the new source failed while staging "
                      r".*KeyError: 'vip'", out)
    assert match, out
    assert f"[ok] the error names the file and line {match.group(1)}" in out
    assert "[ok] nothing changed" in out


def test_service_timeline(service: subprocess.CompletedProcess[str]) -> None:
    out = service.stdout
    timeline = out.split("== Timeline ==", 1)[1].split("== Summary ==", 1)[0]
    rows = dict(re.findall(r"^  (\d)\. .*?\s+[\d,]+\s+0\s+0  (.*)$", timeline, re.M))
    assert set(rows) == {"1", "2", "3", "4", "5"}, timeline  # every phase: 0 errors, 0 mixed
    assert rows["1"] == "v1" and rows["3"] == rows["5"] == "v2", timeline
    assert re.search(r"^  total\s+[\d,]+\s+0\s+0$", timeline, re.M), timeline
    for claim in ("zero dropped", "zero errors", "zero mixed responses",
                  "v1 before the update; only v2 once update() returned",
                  "every user's visit numbers run 1, 2, 3"):
        assert f"[ok] {claim}" in out


# -- the command line ----------------------------------------------------------------------


@pytest.mark.parametrize("args", [["--help"], ["demo", "--help"]])
def test_help_lists_the_demos(args: list[str]) -> None:
    result = hotswap_cli(*args)
    assert result.returncode == 0, result.stderr
    assert "demo" in result.stdout and "game" in result.stdout


def test_unknown_demo_is_a_usage_error() -> None:
    result = hotswap_cli("demo", "no-such-demo")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_demo_help_lists_both_demos() -> None:
    result = hotswap_cli("demo", "--help")
    assert result.returncode == 0, result.stderr
    assert re.search(r"^  game\s+\S", result.stdout, re.M), result.stdout
    assert re.search(r"^  service\s+worker threads", result.stdout, re.M), result.stdout
