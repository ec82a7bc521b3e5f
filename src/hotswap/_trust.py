"""Who may change the code a process runs.

A watcher executes whatever source lands in the files it watches, so by default it applies
a file only if the file and its directory belong to the user the process runs as (or to
root) and are writable by no one else: the rule ssh applies to its keys. Symlinks are
resolved first and the real location is what gets checked. Other layouts must be trusted
explicitly, path by path.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable

Stat = Callable[[str], os.stat_result]


class Trust:
    """The ownership rule plus the paths a user explicitly trusts (files or directories)."""

    def __init__(self, trusted: Iterable[str | os.PathLike[str]] = (),
                 stat_fn: Stat = os.stat) -> None:
        self.trusted = tuple(os.path.realpath(os.fspath(p)) for p in trusted)
        self._stat = stat_fn  # injectable: tests fake ownership through the same path

    def _trusted(self, real: str) -> bool:
        return any(real == t or real.startswith(t.rstrip(os.sep) + os.sep)
                   for t in self.trusted)

    def refusal(self, path: str) -> str | None:
        """Why `path` must not be applied (None: it may)."""
        real = os.path.realpath(path)
        if self._trusted(real):
            return None
        me = os.geteuid() if hasattr(os, "geteuid") else None
        for item in (real, os.path.dirname(real)):
            try:
                st = self._stat(item)
            except OSError as exc:
                return f"cannot check {item}: {exc.strerror}"
            if me is not None and st.st_uid not in (me, 0):
                return (f"{item} is owned by uid {st.st_uid}, not by this process's user "
                        f"(uid {me}) or root")
            if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                return (f"{item} is writable by group or others "
                        f"(mode {stat.filemode(st.st_mode)})")
        return None

    def describe(self, path: str) -> str:
        real = os.path.realpath(path)
        shown = path if real == os.path.abspath(path) else f"{path} (-> {real})"
        return shown
