"""A tree of modules on disk, imported live and, for comparison, in a fresh interpreter.

The strongest test of an update: the live program's answers after ``hotswap.update`` are
the answers a fresh process importing the new sources gives.
"""

from __future__ import annotations

import importlib
import itertools
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

_counter = itertools.count()


class Tree:
    """Modules under one unique top-level package, written into `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.package = f"hs_tree_{os.getpid()}_{next(_counter)}"
        (root / self.package).mkdir(parents=True)
        (root / self.package / "__init__.py").write_text("")

    def path(self, name: str) -> Path:
        if name == "__init__":
            return self.root / self.package / "__init__.py"
        return self.root / self.package / f"{name}.py"

    def write(self, **files: str) -> None:
        for name, source in files.items():
            self.path(name).write_text(textwrap.dedent(source))
        importlib.invalidate_caches()

    def load(self, name: str = "__init__") -> ModuleType:
        importlib.invalidate_caches()
        return importlib.import_module(self.dotted(name))

    def dotted(self, name: str) -> str:
        return self.package if name == "__init__" else f"{self.package}.{name}"

    def live(self, probe: str) -> Any:
        """`probe` (an expression; ``pkg`` is the package) evaluated in this process."""
        return json.loads(json.dumps(eval(probe, {"pkg": sys.modules[self.package],
                                                  "importlib": importlib})))

    def fresh(self, probe: str) -> Any:
        """`probe` evaluated in a fresh interpreter importing the sources as they are now
        (the modules loaded here, in the order they were loaded)."""
        loaded = [k for k in sys.modules if k.startswith(self.package + ".")]
        code = (f"import importlib, json; pkg = importlib.import_module({self.package!r}); "
                f"[importlib.import_module(n) for n in {loaded!r}]; "
                f"print(json.dumps({probe}))")
        out = subprocess.run([sys.executable, "-c", code], cwd=self.root, capture_output=True,
                             text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def unload(self) -> None:
        for key in [k for k in sys.modules if k == self.package
                    or k.startswith(self.package + ".")]:
            del sys.modules[key]
