"""Every code block of the README runs as written.

Python blocks run in a fresh interpreter each (they import modules they write, so they
must not share a process with other tests). The demo commands shown in the README and in
docs/ (``python -m hotswap demo ...``) are run too; the install commands are what CI runs
(.ci/run), so they are checked there. The Python blocks of docs/ are run by
tests/test_docs.py.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.reports import timeless

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README.read_text(), re.S)
PYTHON = [code for lang, code in BLOCKS if lang == "python"]
PAGES = [page.read_text() for page in (README, *sorted(README.parent.glob("docs/*.md")))]
COMMANDS = sorted({line.split("#")[0].strip() for text in PAGES
                   for lang, code in re.findall(r"```(\w+)\n(.*?)```", text, re.S)
                   if lang == "sh" for line in code.splitlines()
                   if line.startswith("python -m hotswap demo")})


def test_the_readme_has_code_to_check() -> None:
    assert len(PYTHON) >= 1 and len(COMMANDS) >= 2
    first = [code for lang, code in BLOCKS if lang == "sh"][0].splitlines()
    assert first == ["pip install . && python -m hotswap demo",
                     "pip install -e '.[test]' && python -m pytest"]


@pytest.mark.parametrize("code", PYTHON, ids=[f"python-{i}" for i in range(len(PYTHON))])
def test_python_block_runs(code: str, tmp_path: Path) -> None:
    script = tmp_path / "block.py"
    script.write_text(code)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr


# A report shown right after the block that prints it is what that block prints (times aside).
REPORTS = [(code, shown) for (lang, code), (next_lang, shown) in zip(BLOCKS, BLOCKS[1:])
         if lang == "python" and next_lang == "text" and shown.startswith("hotswap: ")]


@pytest.mark.parametrize("code, shown", REPORTS,
                         ids=[f"shown-{i}" for i in range(len(REPORTS))])
def test_a_report_shown_is_what_its_block_prints(code: str, shown: str, tmp_path: Path) -> None:
    script = tmp_path / "block.py"
    script.write_text(code)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env=dict(os.environ,
                                                              PYTHONDONTWRITEBYTECODE="1"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert timeless(done.stdout) == timeless(shown)


@pytest.mark.parametrize("command", COMMANDS)
def test_demo_command_runs(command: str) -> None:
    argv = shlex.split(command)
    assert argv[0] == "python"
    done = subprocess.run([sys.executable, *argv[1:]], capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "checks passed" in done.stdout
