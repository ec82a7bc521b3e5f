"""Fixtures that write a module to disk, import it, and rewrite it for an update."""

from __future__ import annotations

import importlib
import itertools
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import hotswap
from fresh_tree import Tree

sys.dont_write_bytecode = True  # a rewritten file must never be shadowed by a stale .pyc

_counter = itertools.count()


class ModuleFile:
    """One module on disk: `write` a version, `load` it, `update` the live one."""

    def __init__(self, root: Path, name: str) -> None:
        self.root = root
        self.name = name
        parts = name.split(".")
        for i in range(1, len(parts)):
            pkg = root.joinpath(*parts[:i])
            pkg.mkdir(exist_ok=True)
            (pkg / "__init__.py").touch()
        self.path = root.joinpath(*parts[:-1], parts[-1] + ".py")

    def write(self, source: str) -> None:
        self.path.write_text(textwrap.dedent(source))

    def load(self) -> ModuleType:
        importlib.invalidate_caches()
        return importlib.import_module(self.name)

    @property
    def module(self) -> ModuleType:
        return sys.modules[self.name]

    def update(self, source: str | None = None, **kwargs: object) -> hotswap.Report:
        if source is not None:
            self.write(source)
        return hotswap.update(self.module, **kwargs)  # type: ignore[arg-type]


class Modules:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.created: list[str] = []

    def __call__(self, source: str, name: str | None = None) -> ModuleFile:
        """Write `source` as a fresh uniquely named module and import it."""
        name = name or f"hs_mod_{next(_counter)}"
        mf = ModuleFile(self.root, name)
        mf.write(source)
        self.created.append(name)
        mf.load()
        return mf

    def fresh(self, source: str) -> ModuleType:
        """Import `source` under a new name: the oracle a live module is compared with."""
        return self(source).module


@pytest.fixture
def modules(tmp_path: Path) -> Iterator[Modules]:
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
    (tests/fresh_tree.py: the same tree live and in a fresh interpreter)."""
    sys.path.insert(0, str(tmp_path))
    t = Tree(tmp_path)
    try:
        yield t
    finally:
        sys.path.remove(str(tmp_path))
        t.unload()
