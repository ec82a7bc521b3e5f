"""The fixtures every test file may ask for by name, and the hooks that order and filter
the collection. What the fixtures are built from lives in tests/helpers/."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.fresh_tree import Tree
from helpers.modules import Modules

sys.dont_write_bytecode = True  # a rewritten file must never be shadowed by a stale .pyc


@pytest.fixture
def modules(tmp_path: Path) -> Iterator[Modules]:
    """`modules(source)` writes a uniquely named module in `tmp_path` and imports it
    (helpers/modules.py); every module made is forgotten afterwards."""
    sys.path.insert(0, str(tmp_path))
    m = Modules(tmp_path)
    try:
        yield m
    finally:
        sys.path.remove(str(tmp_path))
        for name in m.created:
            for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
                del sys.modules[key]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the heavy tests (real frameworks, a cluster) last, in their collected order.

    What they leave alive (frameworks' modules, apps, models) is hundreds of thousands of
    objects, and every heap pass of a core test walks them all: test_heap's property test
    took minutes instead of seconds after them."""
    items.sort(key=lambda item: item.get_closest_marker("heavy") is not None)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """A run that leaves out the heavy tests (``-m "not heavy"``) does not even import the
    test files that are heavy as a whole (``pytestmark = pytest.mark.heavy``): importing
    FastAPI, Django, SQLAlchemy and the rest at collection leaves hundreds of thousands of
    objects alive, and every heap pass of the core tests walks them (test_heap's pass by
    type took twice as long)."""
    only_light = str(config.getoption("markexpr", "")).replace(" ", "") == "notheavy"
    if only_light and collection_path.suffix == ".py" and collection_path.is_file():
        if "\npytestmark = pytest.mark.heavy\n" in collection_path.read_text():
            return True
    return None  # pytest's own rules decide (--ignore, collect_ignore)


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[Tree]:
    """A package tree in `tmp_path`, importable while the test runs, then forgotten
    (tests/helpers/fresh_tree.py: the same tree live and in a fresh interpreter)."""
    sys.path.insert(0, str(tmp_path))
    t = Tree(tmp_path)
    try:
        yield t
    finally:
        sys.path.remove(str(tmp_path))
        t.unload()


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    """`tmp_path`, importable while the test runs (modules written there with
    helpers.files.write)."""
    sys.path.insert(0, str(tmp_path))
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    yield tmp_path
    sys.path.remove(str(tmp_path))
    sys.dont_write_bytecode = saved
