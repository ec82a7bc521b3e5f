"""Getting ready for the first update before the first save.

The first update of a process used to pay for what the later ones do not: importing the
engine (and the standard-library modules it needs), parsing the source each module was
built from into the chunks later sources are compared with (`_diff.segment`, a whole
``ast.parse``), and, the first time lines moved, parsing every module of the program's
own to learn which import from which (`_imports._from_imports`); both grow with the
program (benchmarks/README.md, the warm-up rows). A game loop dropped frames on the first save;
a service's first hot fix was its slowest. Whoever sets up updating ahead of time (a
`Watcher`, ``python -m hotswap run``, ``%load_ext hotswap``, or a program calling
`hotswap.prepare`) has both done now; a `Watcher` loads the engine as it is made and
parses on a thread of its own.

Nothing here changes what an update does: the engine would segment the same baseline the
same way at the first update (`_engine._one`); this only does it earlier, and gives the
result to the module's state only while it still matches the module's baseline.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import weakref
from collections.abc import Iterable
from types import ModuleType

from ._sources import REGISTRY, source_path

# What the first update imports beyond the engine's own imports (those inside functions),
# and what a warm-up may (decoding a source with a coding cookie: importlib.util).
_LATE = ("._stage.classes", "._diff", "._imports", "._apply", "._frames", "tokenize")


def load_engine() -> None:
    """Import the engine and what the first update would import late."""
    from importlib import import_module

    from . import _engine  # noqa: F401 - imported for its own sake

    for name in _LATE:
        import_module(name, __package__ if name.startswith(".") else None)


def prepare(modules: Iterable[ModuleType | str] | None = None) -> int:
    """Load the engine and parse the baselines of `modules` (module objects or dotted
    names; None: every module loaded from outside the standard library and site-packages
    whose source is known). Returns how many modules are ready."""
    load_engine()
    ready = 0
    for module in _modules(modules):
        ready += ready_one(module)
        time.sleep(0)  # one module at a time: other threads run in between
    ready_imports()
    return ready


def ready_imports() -> None:
    """Learn what each module of the program's own imports from which (what an update
    whose lines moved asks, of every such module, the first time), each module once."""
    from ._imports import _from_imports, _readable_modules

    for _, module, _ in list(_readable_modules(set())):
        _from_imports(module)
        time.sleep(0)


def _modules(modules: Iterable[ModuleType | str] | None) -> list[ModuleType]:
    if modules is None:
        return [m for name, m in list(sys.modules.items())
                if isinstance(m, ModuleType) and REGISTRY.known_text(name) is not None]
    if isinstance(modules, (ModuleType, str)):
        modules = [modules]
    out = []
    for m in modules:
        module = sys.modules.get(m) if isinstance(m, str) else m
        if isinstance(module, ModuleType):
            out.append(module)
    return out


def ready_one(module: ModuleType) -> bool:
    """Segment the source `module` was built from, if known and not done yet. Parsed
    outside the update lock (it may take milliseconds), given to the module's state under
    it, and only if that baseline is still the module's (an update may have run
    meanwhile)."""
    from . import _engine
    from ._apply import LOCK
    from ._diff import segment

    name = getattr(module, "__name__", None)
    path = source_path(module)
    if not isinstance(name, str) or sys.modules.get(name) is not module or path is None:
        return False
    baseline = REGISTRY.baseline(name, module)
    if baseline is None:
        return False
    state = _engine._STATES.get(name)
    if state is not None and state.segmentation is not None \
            and state.segmentation.text == baseline:
        return True
    try:
        segmentation = segment(baseline, path)
    except (SyntaxError, ValueError):  # the first update will say so, as it would have
        return False
    with LOCK:
        if REGISTRY.baseline(name, module) != baseline:
            return False
        state = _engine._state(name, module)
        if state.segmentation is None or state.segmentation.text != baseline:
            state.segmentation = segmentation
    return True


class Warmer:
    """`prepare` for modules given now and later (a `Watcher` picks up modules as they
    are imported): the engine loaded at once, on the caller's thread, and the baselines
    parsed on a daemon thread of its own. `ready` waits for it.

    The thread never imports: a fork() while it held an import lock would leave the
    child with a lock nobody releases, and the child's first update would wait on it
    forever. Parsing takes no lock but the Warmer's own, the source registry's and the
    update lock, which a forked child makes afresh (`_after_fork_in_child` here, in
    _sources and in _watch), and the work the thread had left goes to a thread of the
    child's own when the child adds or waits for more.
    """

    def __init__(self) -> None:
        self._todo: list[ModuleType | str] = []
        self._doing: list[ModuleType | str] = []  # what the thread has taken from _todo
        self._engine = False
        self._started = False
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None
        _WARMERS.add(self)

    def add(self, modules: Iterable[ModuleType | str]) -> None:
        modules = list(modules)
        self._load_engine()
        with self._lock:
            if not modules and self._started and self._idle.is_set():
                return  # nothing new, nothing left
            self._started = True
            self._todo.extend(modules)
            self._idle.clear()
            if self._thread is None or not self._thread.is_alive():  # (none after a fork)
                from ._gil import HELPERS

                self._thread = threading.Thread(target=self._run, name="hotswap-warmup",
                                                daemon=True)
                HELPERS.add(self._thread)
                self._thread.start()

    def _load_engine(self) -> None:
        """Import the engine here, before the thread starts (see the class docstring)."""
        if self._engine:
            return
        try:
            load_engine()
        except Exception:  # noqa: BLE001 - a warm-up never breaks the program
            pass  # the first update will load (and report) it then
        self._engine = True

    def _run(self) -> None:
        first = True  # the first round learns the imports even when no module is given
        while True:
            with self._lock:
                self._doing, self._todo = self._todo, []
                if not self._doing and not first:
                    self._thread = None
                    self._idle.set()
                    return
                todo = self._doing
            first = False
            try:
                for module in _modules(todo):
                    ready_one(module)
                    time.sleep(0)
                ready_imports()
            except Exception:  # noqa: BLE001 - a warm-up never breaks the program
                pass  # the first update does what is left, and reports what fails

    def ready(self, timeout: float | None = None) -> bool:
        """Wait until everything given so far is ready; whether it is."""
        if not self._idle.is_set():
            self.add([])  # in a forked child: the work its parent's thread had left
        return self._idle.wait(timeout)

    def _after_fork_in_child(self) -> None:
        """The thread did not survive the fork, and may have held the lock or been inside
        the event's: fresh ones, and its work (what it had taken too) left to do."""
        self._lock = threading.Lock()
        idle = self._idle.is_set()
        self._idle = threading.Event()
        if idle:
            self._idle.set()
        self._todo = self._doing + self._todo
        self._doing = []
        self._thread = None


_WARMERS: weakref.WeakSet[Warmer] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for warmer in list(_WARMERS):
        warmer._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
