"""The cache of source distributions, outside the repository.

Downloads go through pip (``pip download --no-deps --no-binary NAME``), the ordinary
client, once; every later replay reads the unpacked trees. The folder is
``$HOTSWAP_REPLAY_CACHE`` or ``~/.cache/hotswap-replay``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

from .catalogue import Library

FILL_COMMAND = "python -m benchmarks.replay --fill"


def cache_dir() -> Path:
    """Where sdists and their unpacked trees live (never inside the repository)."""
    env = os.environ.get("HOTSWAP_REPLAY_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "hotswap-replay"


def unpacked(lib: Library, version: str) -> Path:
    """The unpacked source tree of `lib` at `version` (it may not exist yet)."""
    return cache_dir() / "src" / f"{lib.dist}-{version}"


def is_filled(lib: Library, versions: tuple[str, ...]) -> bool:
    """Whether every version in `versions` is unpacked in the cache."""
    return all((unpacked(lib, v) / ".complete").exists() for v in versions)


def fill(lib: Library, versions: tuple[str, ...] | None = None) -> None:
    """Download and unpack the missing versions of `lib` (all of its catalogue's by
    default). A marker file written last makes a half-unpacked tree count as missing."""
    for version in versions or lib.versions:
        target = unpacked(lib, version)
        if (target / ".complete").exists():
            continue
        archive = _download(lib, version)
        _unpack(archive, target)
        (target / ".complete").write_text(archive.name + "\n")


def _download(lib: Library, version: str) -> Path:
    folder = cache_dir() / "sdists" / f"{lib.dist}-{version}"
    folder.mkdir(parents=True, exist_ok=True)
    found = [p for p in folder.iterdir() if p.name.endswith((".tar.gz", ".zip"))]
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "--no-binary", lib.dist, "-d", str(folder),
                        f"{lib.dist}=={version}"], check=True)
        found = [p for p in folder.iterdir() if p.name.endswith((".tar.gz", ".zip"))]
    if len(found) != 1:
        raise RuntimeError(f"expected one sdist of {lib.dist} {version} in {folder}")
    return found[0]


def _unpack(archive: Path, target: Path) -> None:
    """Unpack the sdist's single top folder as `target` itself."""
    import shutil
    import tempfile

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        if archive.name.endswith(".zip"):
            shutil.unpack_archive(archive, tmp)
        else:
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, filter="data")
        (top,) = Path(tmp).iterdir()
        if target.exists():
            shutil.rmtree(target)
        top.rename(target)
