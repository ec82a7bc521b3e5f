"""The cluster's own record of its sources, kept in the scheduler's process.

The scheduler outlives clients and sees every worker join, so it holds what a joining
worker must be brought to (the current sources) and what a cluster rollback restores (the
sources before each update), whichever client made the update.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any

Files = dict[str, tuple[str, str]]  # module name -> (relative path, text)
_KEEP = 16


@dataclass
class _Entry:
    token: str
    root: str
    previous: dict[str, tuple[str, str] | None]  # None: not shipped before this update


@dataclass
class Ledger:
    files: Files = field(default_factory=dict)
    load: list[str] = field(default_factory=list)
    generations: dict[str, int] = field(default_factory=dict)
    history: list[_Entry] = field(default_factory=list)
    busy: tuple[str, float] | None = None  # (token, monotonic deadline) of the update running


LEDGER = Ledger()


def commit(token: str, root: str, files: Files, load: tuple[str, ...],
           dask_scheduler: Any = None) -> tuple[Files, tuple[str, ...], int]:
    """Record an applied cluster update; answer the current sources and root generation."""
    previous = {name: LEDGER.files.get(name) for name in files}
    LEDGER.history.append(_Entry(token, root, previous))
    del LEDGER.history[:-_KEEP]
    LEDGER.files.update(files)
    LEDGER.load.extend(n for n in load if n not in LEDGER.load)
    LEDGER.generations[root] = LEDGER.generations.get(root, 0) + 1
    return dict(LEDGER.files), tuple(LEDGER.load), LEDGER.generations[root]


def last(module: str, dask_scheduler: Any = None) -> tuple[str, str, Files] | None:
    """The newest recorded update that shipped `module`: (token, root, previous texts of
    the modules it shipped that existed before). None when there is none left."""
    for entry in reversed(LEDGER.history):
        if module in entry.previous or module == entry.root:
            kept = {n: v for n, v in entry.previous.items() if v is not None}
            return entry.token, entry.root, kept
    return None


def forget(token: str, dask_scheduler: Any = None
           ) -> tuple[Files, tuple[str, ...], int]:
    """Drop update `token` after a rollback: its modules go back to their previous
    sources. Answers the current sources and the root's generation."""
    entry = next(e for e in LEDGER.history if e.token == token)
    LEDGER.history.remove(entry)
    for name, before in entry.previous.items():
        if before is None:
            LEDGER.files.pop(name, None)
            if name in LEDGER.load:
                LEDGER.load.remove(name)
        else:
            LEDGER.files[name] = before
    LEDGER.generations[entry.root] = LEDGER.generations.get(entry.root, 1) - 1
    return dict(LEDGER.files), tuple(LEDGER.load), LEDGER.generations[entry.root]


def acquire(token: str, hold: float, dask_scheduler: Any = None
            ) -> tuple[str | None, tuple[str, int]]:
    """Let update `token` run for at most `hold` seconds: (None if it may, else the token
    of the update still running; the scheduler's host and pid). One cluster update at a
    time: two clients updating at once would otherwise interleave their phases. The
    deadline frees the cluster from a client that died while updating."""
    now = time.monotonic()
    where = socket.gethostname(), os.getpid()
    if LEDGER.busy is not None and LEDGER.busy[1] > now and LEDGER.busy[0] != token:
        return LEDGER.busy[0], where
    LEDGER.busy = (token, now + hold)
    return None, where


def release(token: str, dask_scheduler: Any = None) -> None:
    if LEDGER.busy is not None and LEDGER.busy[0] == token:
        LEDGER.busy = None
