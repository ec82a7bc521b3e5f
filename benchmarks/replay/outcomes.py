"""Running one version's test suite and recording each test's outcome.

The same function runs the suite in the live process (``pytest.main`` in-process, test
modules imported afresh, the library left as the live program) and in a fresh
interpreter (the oracle), so the two sides differ only in the library's history.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .catalogue import Library

REPO = Path(__file__).resolve().parents[2]
# An outcome per test id: "passed", "failed" (a failing call, setup or teardown, or a
# test module that does not import) or "skipped" (xfail included).
Outcomes = dict[str, str]


class Collector:
    """A pytest plugin that keeps the worst outcome of each test id."""

    RANK = {"passed": 0, "skipped": 1, "failed": 2}

    def __init__(self) -> None:
        self.outcomes: Outcomes = {}
        self.messages: dict[str, str] = {}  # a failed test's last line of error

    def _record(self, nodeid: str, outcome: str) -> None:
        old = self.outcomes.get(nodeid)
        if old is None or self.RANK[outcome] > self.RANK[old]:
            self.outcomes[nodeid] = outcome

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.failed:
            self._record(report.nodeid, "failed")
            self._message(report)
        elif report.skipped:
            self._record(report.nodeid, "skipped")
        elif report.when == "call":
            self._record(report.nodeid, "passed")

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self._record(report.nodeid or "<collection>", "failed")
            self._message(report)

    def _message(self, report: Any) -> None:
        text = str(getattr(report, "longreprtext", "") or "").strip().splitlines()
        errors = [line for line in text if line.startswith("E ")]
        line = (errors or text or [""])[-1]
        self.messages.setdefault(report.nodeid or "<collection>", line[:300])


def run_suite(lib: Library, work: Path) -> Collector:
    """Run `lib`'s tests under `work` in this process; the collector holds the outcomes.

    Test modules (and conftest files) left from an earlier run are forgotten first, so each
    run imports the version's own tests, as a fresh process would.
    """
    forget_tests(lib, work)
    collector = Collector()
    tests = [t for t in lib.tests if (work / t).exists()]  # a release may move its tests
    # a test module that fails to import live must not stop the other modules' tests
    args = [*tests, "-q", "-p", "no:cacheprovider", "--rootdir", str(work),
            "--continue-on-collection-errors", *lib.pytest_args]
    with open(os.devnull, "w") as sink:
        old_out, old_err = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = sink  # the outcomes are the result, not the chatter
        try:
            pytest.main(args, plugins=[collector])
        except Exception as exc:  # a conftest pytest rejects: the whole run failed
            collector.outcomes["<session>"] = "failed"
            collector.messages["<session>"] = f"{type(exc).__name__}: {exc}"[:300]
        finally:
            sys.stdout, sys.stderr = old_out, old_err
    forget_tests(lib, work)
    return collector


def forget_tests(lib: Library, work: Path) -> None:
    """Drop from sys.modules every module loaded from the tests' paths or a conftest."""
    roots = [str(work / t) for t in lib.tests]
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None) or ""
        if any(path == r or path.startswith(r + os.sep) for r in roots) or \
                name.split(".")[-1] == "conftest":
            del sys.modules[name]


def environment(work: Path) -> dict[str, str]:
    """The environment of every replay process: the work folder first on the path, the
    repository after it (for this package), and no bytecode written (a rewritten file must
    never be shadowed by a .pyc of the same size and second)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(work), str(REPO)])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_fresh(lib: Library, work: Path, timeout: float = 600,
              runs: int = 2) -> tuple[Outcomes, list[str]]:
    """The oracle: the same suite on the same files in a fresh interpreter.

    The fresh process runs the suite twice: a test whose outcome changes on the second run
    depends on what an earlier run left in the process (a test that deletes entries of
    ``sys.modules``, say), so it cannot judge a live process, which has run every earlier
    version's suite. Returns the first run's outcomes and those tests' ids (none when
    `runs` is 1).
    """
    out = work.parent / f"{work.name}.fresh.json"
    code = ("import sys, json, pathlib; from benchmarks.replay.outcomes import run_suite;"
            "from benchmarks.replay.catalogue import library;"
            "lib, work = library(sys.argv[1]), pathlib.Path(sys.argv[2]);"
            "r = [run_suite(lib, work).outcomes for _ in range(int(sys.argv[4]))];"
            "pathlib.Path(sys.argv[3]).write_text(json.dumps(r))")
    subprocess.run([sys.executable, "-c", code, lib.dist, str(work), str(out), str(runs)],
                   cwd=work, env=environment(work), timeout=timeout, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = json.loads(out.read_text())
    first, second = results[0], results[-1]
    out.unlink()
    unstable = sorted(t for t in first.keys() | second.keys() if first.get(t) != second.get(t))
    return first, unstable
