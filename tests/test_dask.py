"""hotswap.dask: the cluster cases (tests/helpers/dask_cases.py, a real LocalCluster of worker
processes) run in a pytest process of their own, one test here per case; the demo; and
the light tests of what is shipped and reported, which need no cluster."""

from __future__ import annotations

import ast
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hotswap
from hotswap.dask._bundle import read_bundle
from hotswap.dask._process import _write
from hotswap.dask._result import ClusterReport

from helpers.files import write

heavy = pytest.mark.heavy
CASES = Path(__file__).parent / "helpers" / "dask_cases.py"
NAMES = [f.name for f in ast.parse(CASES.read_text()).body
         if isinstance(f, ast.FunctionDef) and f.name.startswith("test_")]


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str | None]:
    """Run every cluster case once, in a child pytest: name -> None (passed) or what
    failed."""
    pytest.importorskip("distributed")
    xml = tmp_path_factory.mktemp("dask") / "cases.xml"
    run = subprocess.run([sys.executable, "-m", "pytest", str(CASES), "-q", "-p",
                          "no:cacheprovider", "-o", "python_files=dask_cases.py",
                          f"--junitxml={xml}"], capture_output=True, text=True, timeout=600)
    if not xml.exists():
        pytest.fail(f"the cluster cases did not run:\n{run.stdout}\n{run.stderr}")
    outcome: dict[str, str | None] = {}
    for case in ET.parse(xml).iter("testcase"):
        bad = [c for c in case if c.tag in ("failure", "error", "skipped")]
        outcome[case.get("name", "")] = (
            None if not bad else f"{bad[0].tag}: {bad[0].get('message')}\n{bad[0].text}")
    return outcome


@heavy
@pytest.mark.parametrize("name", NAMES)
def test_cluster_case(cases: dict[str, str | None], name: str) -> None:
    assert name in cases, f"{name} did not run"
    assert cases[name] is None, cases[name]


@heavy
def test_demo_compares_upload_file_with_hotswap() -> None:
    run = subprocess.run([sys.executable, "-m", "hotswap", "demo", "dask"],
                         capture_output=True, text=True, timeout=240)
    out = run.stdout
    assert run.returncode == 0, out + run.stderr
    assert "upload_file" in out and "hotswap.dask.update" in out
    assert "FAIL" not in out


def test_import_hotswap_never_imports_distributed() -> None:
    code = ("import sys, hotswap, hotswap.dask; "
            "assert 'distributed' not in sys.modules and 'dask' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_bundle_holds_every_module_of_a_package_parents_first(folder: Path) -> None:
    write(folder, "hsb_pkg/__init__.py", "")
    write(folder, "hsb_pkg/a.py", "A = 1\n")
    write(folder, "hsb_pkg/sub/__init__.py", "")
    write(folder, "hsb_pkg/sub/b.py", "B = 2\n")
    write(folder, "hsb_pkg/notes/readme.py", "")  # no __init__.py: not part of the package
    by_name = read_bundle("hsb_pkg")
    assert by_name.files == {
        "hsb_pkg": ("hsb_pkg/__init__.py", ""), "hsb_pkg.a": ("hsb_pkg/a.py", "A = 1\n"),
        "hsb_pkg.sub": ("hsb_pkg/sub/__init__.py", ""),
        "hsb_pkg.sub.b": ("hsb_pkg/sub/b.py", "B = 2\n")}
    assert by_name.load == ("hsb_pkg",)
    assert read_bundle(folder / "hsb_pkg").files == by_name.files
    one = read_bundle(folder / "hsb_pkg" / "sub" / "b.py")
    assert one.root == "hsb_pkg.sub.b" and list(one.files) == ["hsb_pkg.sub.b"]
    with pytest.raises(hotswap.UpdateError, match="hsb_missing"):
        read_bundle("hsb_missing")


names = st.sampled_from(["a", "b", "c", "core", "x1"])
trees = st.recursive(st.dictionaries(names, st.text("xy =1\n", max_size=12), max_size=3),
                     lambda inner: st.dictionaries(names, inner, min_size=1, max_size=3),
                     max_leaves=8)


@settings(max_examples=40, deadline=None)
@given(tree=trees)
def test_a_shipped_package_is_written_back_as_the_same_tree(tree: dict[str, Any]) -> None:
    """Whatever the package's shape, writing its bundle under another folder (as a worker
    does) reproduces every module file with its text, and nothing else."""
    import tempfile

    with tempfile.TemporaryDirectory() as src, tempfile.TemporaryDirectory() as dst:
        expected = _make_tree(Path(src) / "hsp", tree)
        bundle = read_bundle(Path(src) / "hsp")
        _write(dst, bundle)
        written = {p.relative_to(dst).as_posix(): p.read_text()
                   for p in Path(dst).rglob("*.py")}
        assert written == expected


def _make_tree(folder: Path, tree: dict[str, Any]) -> dict[str, str]:
    """A package in `folder` (dict values: a module's text, or a subpackage)."""
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    made = {f"{folder.name}/__init__.py": ""}
    for name, value in tree.items():
        if isinstance(value, dict):
            made.update({f"{folder.name}/{k}": v
                         for k, v in _make_tree(folder / name, value).items()})
        else:
            (folder / f"{name}.py").write_text(value)
            made[f"{folder.name}/{name}.py"] = value
    return made


def test_the_summary_line_counts_processes_and_names_the_lost() -> None:
    report = ClusterReport("mod", generation=3, duration=0.041,
                           roles={"tcp://s:1": "scheduler", "tcp://w:1": "worker",
                                  "tcp://w:2": "worker", "client": "client"},
                           lost={"tcp://w:3": "lost during apply: CommClosedError"})
    assert report.summary() == ("updated mod on 1 scheduler + 2 workers to generation 3 "
                                "in 41 ms (1 lost: tcp://w:3)")
    report.reports["client"] = [hotswap.Report("mod", changed=True)]
    assert "+ 2 workers + the client to" in report.summary()
