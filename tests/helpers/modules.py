"""A module on disk for a test: written, imported, rewritten and updated.

The `modules` fixture of conftest.py hands out a `Modules`; tests that build their own
module files (test_real_modules.py) use `ModuleFile` directly."""

from __future__ import annotations

import importlib
import itertools
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import hotswap

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
