"""The demo is the first thing a newcomer runs, and a smoke test of the whole engine:
run it exactly as the README says, in a fresh interpreter, and check what it claims."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest


def hotswap_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hotswap", *args], capture_output=True,
                          text=True, timeout=60)


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess[str]:
    return hotswap_cli("demo")


def test_demo_succeeds(demo: subprocess.CompletedProcess[str]) -> None:
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "FAIL" not in demo.stdout
    assert re.search(r"== Done: all \d+ checks passed ==", demo.stdout)


def test_demo_prints_the_report(demo: subprocess.CompletedProcess[str]) -> None:
    out = demo.stdout
    assert "hotswap: updated arena_rules to generation 1" in out
    assert "functions patched" in out and "arena_rules.step" in out
    assert "arena_rules.Entity.move" in out
    assert "classes updated (1): arena_rules.Entity" in out


def test_demo_shows_identities_kept(demo: subprocess.CompletedProcess[str]) -> None:
    out = demo.stdout
    ids_before = re.findall(r"(ant|bee|cat)  id=(0x[0-9a-f]+)  x=[ \d]+ hp=[ \d]+$", out, re.M)
    ids_after = re.findall(r"(ant|bee|cat)  id=(0x[0-9a-f]+)  x=[ \d]+ hp=[ \d]+  same object$",
                           out, re.M)
    assert len(ids_before) == 3 and ids_before == ids_after
    assert "[ok] every entity is the same object, with the same position and hp" in out
    assert "[ok] `step`, held since v1, is rules.step" in out
    assert "[ok] module state kept" in out
    assert "[ok] those frames followed the v2 rules" in out


def test_demo_shows_broken_update_refused(demo: subprocess.CompletedProcess[str]) -> None:
    out = demo.stdout
    assert "raised UpdateError" in out
    match = re.search(r"arena_rules\.py:(\d+): cannot compile .*SyntaxError", out)
    assert match, out
    assert f"[ok] the error names the file and line {match.group(1)}" in out
    assert "[ok] nothing changed" in out
    # The loop went on after the refused update, still on v2.
    after = out.split("raised UpdateError", 1)[1]
    assert re.search(r"frame \d+  v2 ", after)


@pytest.mark.parametrize("args", [["--help"], ["demo", "--help"]])
def test_help_lists_the_demos(args: list[str]) -> None:
    result = hotswap_cli(*args)
    assert result.returncode == 0, result.stderr
    assert "demo" in result.stdout and "game" in result.stdout


def test_unknown_demo_is_a_usage_error() -> None:
    result = hotswap_cli("demo", "no-such-demo")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
