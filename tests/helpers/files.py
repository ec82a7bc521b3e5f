"""Files written by tests: a module's text at a path under a folder, and a stat that a
watcher sees move whatever the file system's clock granularity."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path


def write(folder: Path, rel: str, source: str) -> Path:
    """`source` (dedented) at `folder`/`rel`, its folders made as needed."""
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def bump_mtime(path: os.PathLike[str] | str) -> None:
    """Move the stat whatever the clock granularity (follows symlinks): two writes within
    one tick of a coarse clock would otherwise look like one to a watcher."""
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
