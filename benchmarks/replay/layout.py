"""Laying one released version into the work folder, as an editor saving files would.

The library's files are overwritten in place (only those whose bytes changed, so a
module's file changes exactly when its release changed it), new files are added, files the
release dropped are deleted. The tests are not the live program: their folders are
replaced whole at every version.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .catalogue import Library

PYTEST_INI = "[pytest]\naddopts = -p no:cacheprovider\n"


@dataclass
class Changes:
    """What one version changed in the library, by module name."""

    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    data_files: int = 0  # non-Python files changed, added or removed
    data_paths: list[str] = field(default_factory=list)  # those files, relative to work


def lay(lib: Library, tree: Path, work: Path) -> Changes:
    """Make `work` hold `lib`'s packages and tests as the sdist `tree` has them.

    The project's own pytest configuration is not copied (it names plugins such as
    coverage and linters); a bare ``pytest.ini`` makes `work` the rootdir, so the live and
    the fresh run see the same test ids.
    """
    work.mkdir(parents=True, exist_ok=True)
    (work / "pytest.ini").write_text(PYTEST_INI)
    new = _library_files(lib, _source_root(lib, tree))
    old = _library_files(lib, work)
    changes = Changes()
    for rel in sorted(new.keys() | old.keys()):
        before, after = old.get(rel), new.get(rel)
        if before is not None and after is not None and before.read_bytes() == after.read_bytes():
            continue
        target = work / rel
        if after is None:
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(after.read_bytes())
        kind = "removed" if after is None else "added" if before is None else "changed"
        if rel.endswith(".py"):
            getattr(changes, kind).append(module_name(rel))
        else:
            changes.data_files += 1
            changes.data_paths.append(rel)
    _lay_tests(lib, tree, work)
    return changes


def with_old_data(lib: Library, work: Path, old_tree: Path, paths: list[str]) -> Path:
    """A copy of `work` whose non-Python library files `paths` are as the release in
    `old_tree` had them (absent where it had none): the control that tells a difference
    caused by data files (a translation catalogue the process cached) from one caused by
    code. The copy sits beside `work`; the caller removes it."""
    control = work.with_name(work.name + "-old-data")
    if control.exists():
        shutil.rmtree(control)
    shutil.copytree(work, control, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    root = _source_root(lib, old_tree)
    for rel in paths:
        source, target = root / rel, control / rel
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        elif target.exists():
            target.unlink()
    return control


def module_name(rel: str) -> str:
    """``toolz/curried/__init__.py`` -> ``toolz.curried``; ``six.py`` -> ``six``."""
    parts = rel[:-len(".py")].split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_test_path(lib: Library, rel: str) -> bool:
    """Whether `rel` (relative to the work folder) belongs to the tests, not the library."""
    return any(rel == t or rel.startswith(t.rstrip("/") + "/") for t in lib.tests)


def _source_root(lib: Library, tree: Path) -> Path:
    """The folder holding the packages: ``src/`` in a src layout, else the tree itself."""
    first = lib.packages[0]
    src = tree / "src"
    if (src / first).is_dir() or (src / f"{first}.py").is_file():
        return src
    return tree


def _library_files(lib: Library, root: Path) -> dict[str, Path]:
    """Every file of the library's packages under `root`, by path relative to `root`
    (tests, bytecode and caches excluded)."""
    files: dict[str, Path] = {}
    for name in lib.packages:
        single = root / f"{name}.py"
        if single.is_file():
            files[single.name] = single
        folder = root / name
        if not folder.is_dir():
            continue
        for path in folder.rglob("*"):
            rel = path.relative_to(root).as_posix()
            if (path.is_file() and "__pycache__" not in path.parts
                    and not rel.endswith(".pyc") and not is_test_path(lib, rel)):
                files[rel] = path
    return files


def _lay_tests(lib: Library, tree: Path, work: Path) -> None:
    for rel in lib.tests:
        target, source = work / rel, tree / rel
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        if source.is_dir():
            shutil.copytree(source, target,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif source.is_file():
            shutil.copyfile(source, target)
