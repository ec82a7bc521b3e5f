"""What one cluster update ships: the sources of a module or a package, read on the client.

The client's files are the truth: each process is brought to exactly these texts, whatever
its own disk holds, so a worker on another machine (or in another container) needs no
shared file system. A package travels whole (every ``.py`` file under its folder): a
process updates the modules it has loaded whose text differs and just places the rest.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from dataclasses import dataclass, field
from types import ModuleType

from .._errors import UpdateError
from .._sources import read_source, source_path


@dataclass(frozen=True)
class Bundle:
    """Sources keyed by dotted module name, each with its path relative to a folder on
    ``sys.path`` (``pkg/sub.py``, ``pkg/__init__.py``), in import order (parents first)."""

    root: str  # the module or package the user named
    files: dict[str, tuple[str, str]]  # name -> (relative path, text)
    load: tuple[str, ...]  # modules every worker must have imported afterwards
    token: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def names(self) -> list[str]:
        return list(self.files)


def read_bundle(target: ModuleType | str | os.PathLike[str]) -> Bundle:
    """The current sources of `target` (a module, a dotted name, or a ``.py`` file or
    package folder) as they are now on this machine. Raises UpdateError if they cannot be
    read; a syntax error is left for every process's own dry run to report."""
    name, path = _locate(target)
    package = os.path.basename(path) == "__init__.py"
    base = os.path.dirname(path)
    for _ in name.split(".")[:-1] + ([name] if package else []):
        base = os.path.dirname(base)  # the folder on sys.path that holds the root
    paths = _package_files(os.path.dirname(path)) if package else [path]
    files: dict[str, tuple[str, str]] = {}
    for file in paths:
        rel = os.path.relpath(file, base)
        modname = _module_name(rel)
        try:
            files[modname] = (rel.replace(os.sep, "/"), read_source(file))
        except (OSError, UnicodeDecodeError, SyntaxError) as exc:
            raise UpdateError(f"{file}: cannot read the source of {modname!r}: {exc}",
                              module=modname, filename=file) from exc
    load = tuple(n for n in files if n == name or n in sys.modules)
    return Bundle(name, files, load)


def _locate(target: ModuleType | str | os.PathLike[str]) -> tuple[str, str]:
    """(dotted name, source file) of what the user named."""
    if isinstance(target, ModuleType):
        path = source_path(target)
        if path is None:
            raise UpdateError(f"module {target.__name__!r} has no Python source file",
                              module=target.__name__)
        return target.__name__, path
    text = os.fspath(target)
    if text.endswith(".py") or os.sep in text or os.path.isdir(text):
        return _from_path(os.path.abspath(text))
    module = sys.modules.get(text)
    if isinstance(module, ModuleType):
        return _locate(module)
    spec = importlib.util.find_spec(text)
    if spec is None or not isinstance(spec.origin, str) or not spec.origin.endswith(".py"):
        raise UpdateError(f"module {text!r} is neither imported nor found as a Python "
                          "source file on sys.path", module=text)
    return text, spec.origin


def _from_path(path: str) -> tuple[str, str]:
    """A file's module name: the one a loaded module from that file has, else the name
    its folders give (each folder holding an ``__init__.py`` is a package level)."""
    if os.path.isdir(path):
        path = os.path.join(path, "__init__.py")
    if not os.path.isfile(path):
        raise UpdateError(f"{path}: no such Python source file")
    real = os.path.realpath(path)
    for name, module in list(sys.modules.items()):
        loaded = source_path(module) if isinstance(module, ModuleType) else None
        if loaded is not None and os.path.realpath(loaded) == real:
            return name, path
    folder, stem = os.path.split(path)
    parts = [] if stem == "__init__.py" else [stem[:-3]]
    if stem == "__init__.py":
        folder, stem = os.path.split(folder)
        parts.append(stem)
    while os.path.isfile(os.path.join(folder, "__init__.py")):
        folder, stem = os.path.split(folder)
        parts.append(stem)
    return ".".join(reversed(parts)), path


def _package_files(folder: str) -> list[str]:
    """Every module file of the package in `folder`, parents before children."""
    found: list[str] = []
    for here, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs
                         if os.path.isfile(os.path.join(here, d, "__init__.py")))
        ordered = sorted(names, key=lambda n: (n != "__init__.py", n))
        found.extend(os.path.join(here, n) for n in ordered if n.endswith(".py"))
    return found


def _module_name(rel: str) -> str:
    parts = rel[:-3].split(os.sep)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)
