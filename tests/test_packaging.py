"""What the package declares: its version once (``hotswap.__version__``, which the build
reads), type information for checkers (``py.typed``), and an import that stays cheap."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import hotswap

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_version_is_declared_once_in_the_package() -> None:
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    dynamic = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "hotswap.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+|a\d+|b\d+|rc\d+)?", hotswap.__version__)
    # What the installed distribution says is what the package says.
    assert importlib.metadata.version("hotswap") == hotswap.__version__


def test_the_package_ships_its_type_information() -> None:
    package = Path(hotswap.__file__).parent
    assert (package / "py.typed").is_file()
    data = PYPROJECT["tool"]["setuptools"]["package-data"]["hotswap"]
    assert "py.typed" in data and "*.pyi" in data
    assert (package / "_scan.pyi").is_file()


def test_importing_hotswap_reads_no_distribution_metadata() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import sys, hotswap; print(hotswap.__version__, "
         "'importlib.metadata' in sys.modules)"],
        capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == [hotswap.__version__, "False"]
