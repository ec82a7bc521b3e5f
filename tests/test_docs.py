"""Every code block of docs/*.md runs as written (the convention every page follows).

The ```python blocks of one page run in order, in one fresh interpreter per page (they
write and import modules of their own, so they must not share a process with other
tests or other pages), with a temporary folder as the working directory and ``src``
importable; the page passes when that process exits 0. Tracebacks point at the page's
own lines. ```text and ```sh blocks are shown, never run. A page whose first line is
``<!-- heavy -->`` drives a real framework or cluster: its test is marked heavy.

Pages are found when the tests are collected, so a new page is checked without touching
this file. The README's blocks are checked by tests/test_readme.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.reports import timeless

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
HEAVY = "<!-- heavy -->"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)
SHOWN_ONLY = {"text", "sh"}

# Runs the blocks of one page (a JSON list of [first line, code]) in one namespace; each
# block is compiled at its own lines of the page, and what it prints is also collected,
# block by block, into the file named second.
_RUNNER = """\
import contextlib, io, json, sys
page, blocks, printed = sys.argv[1], json.load(open(sys.argv[2])), []
namespace = {"__name__": "__main__"}
for first, code in blocks:
    out = io.StringIO()
    class Tee(io.TextIOBase):
        def write(self, s):
            out.write(s)
            return sys.__stdout__.write(s)
    with contextlib.redirect_stdout(Tee()):
        exec(compile("\\n" * (first - 1) + code, page, "exec"), namespace)
    printed.append(out.getvalue())
json.dump(printed, open(sys.argv[3], "w"))
"""


def blocks(page: Path) -> list[tuple[str, int, str]]:
    """(language, line of the block's first code line, code) for each fenced block."""
    text = page.read_text()
    return [(m.group(1).strip(), text.count("\n", 0, m.start(2)) + 1, m.group(2))
            for m in FENCE.finditer(text)]


def _param(page: Path, runs: bool = False) -> object:
    """`page` as a test parameter; one that runs a heavy page's blocks is marked heavy."""
    heavy = runs and page.read_text().lstrip().startswith(HEAVY)
    return pytest.param(page, id=page.name, marks=[pytest.mark.heavy] if heavy else [])


def run_page(page: Path, folder: Path) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    code = [(line, text) for lang, line, text in blocks(page) if lang == "python"]
    (folder / "blocks.json").write_text(json.dumps(code))
    (folder / "runner.py").write_text(_RUNNER)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"),
                                                         os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, str(folder / "runner.py"), str(page),
                           str(folder / "blocks.json"), str(folder / "printed.json")],
                          capture_output=True, text=True, timeout=600, cwd=folder, env=env)
    printed = json.loads((folder / "printed.json").read_text()) if done.returncode == 0 else []
    return done, printed


def test_there_are_pages_to_check() -> None:
    assert {"limits.md", "architecture.md", "testing.md", "usage.md"} <= {p.name for p in DOCS}
    assert sum(lang == "python" for p in DOCS for lang, _, _ in blocks(p)) >= 5


@pytest.mark.parametrize("page", [_param(p) for p in DOCS])
def test_every_block_is_run_or_shown(page: Path) -> None:
    """A block in another language would be neither run nor knowingly shown."""
    langs = {lang for lang, _, _ in blocks(page)}
    assert langs <= SHOWN_ONLY | {"python"}, f"{page.name}: blocks in {langs - SHOWN_ONLY}"


@pytest.mark.parametrize("page", [_param(p, runs=True) for p in DOCS
                                  if any(lang == "python" for lang, _, _ in blocks(p))])
def test_python_blocks_run(page: Path, tmp_path: Path) -> None:
    done, printed = run_page(page, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    # A report shown right after a block that prints one is what that block prints.
    found = blocks(page)
    runs = iter(printed)
    for (lang, _, _), (next_lang, line, shown) in zip(found, found[1:] + [("", 0, "")]):
        out = next(runs) if lang == "python" else None
        if out is not None and next_lang == "text" and shown.startswith("hotswap: "):
            assert timeless(out) == timeless(shown), f"{page.name}:{line}"


def _anchors(page: Path) -> set[str]:
    """The anchors GitHub makes of a page's headings."""
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M)
    return {re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
            for title in re.findall(r"^#+ (.*)$", text, re.M)}


@pytest.mark.parametrize("page", [_param(p) for p in [*DOCS, ROOT / "README.md"]])
def test_relative_links_lead_to_files(page: Path) -> None:
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M)
    for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", text):
        if "://" in target or target.startswith("mailto:"):
            continue
        linked = page.parent / target if target else page
        assert linked.exists(), f"{page.name}: link to {target}"
        if anchor and linked.suffix == ".md":
            assert anchor in _anchors(linked), f"{page.name}: no #{anchor} in {target}"
