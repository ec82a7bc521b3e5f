"""Getting ready for the first update before the first save.

The first update of a process used to pay for what the later ones do not: importing the
engine (and the standard-library modules it needs), parsing the source each module was
built from into the chunks later sources are compared with (`_diff.segment`, a whole
``ast.parse``: 8 ms for a 1,300-line module), and, the first time lines moved, parsing
every module of the program's own to learn which import from which
(`_imports._from_imports`: 0.6 s for 30 modules here). A game loop dropped frames on the first save;
a service's first hot fix was its slowest. Whoever sets up updating ahead of time (a
`Watcher`, ``python -m hotswap run``, ``%load_ext hotswap``, or a program calling
`hotswap.prepare`) has both done now, a `Watcher` on a thread of its own.

Nothing here changes what an update does: the engine would segment the same baseline the
same way at the first update (`_engine._one`); this only does it earlier, and gives the
result to the module's state only while it still matches the module's baseline.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterable
from types import ModuleType

from ._sources import REGISTRY, source_path

# What the first update imports beyond the engine's own imports (those inside functions).
_LATE = ("._patch.classes",)


def load_engine() -> None:
    """Import the engine and what the first update would import late."""
    from importlib import import_module

    from . import _engine  # noqa: F401 - imported for its own sake

    for name in _LATE:
        import_module(name, __package__)


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
    """`prepare` on a daemon thread of its own, for modules given now and later (a
    `Watcher` picks up modules as they are imported). `ready` waits for it."""

    def __init__(self) -> None:
        self._todo: list[ModuleType | str] = []
        self._engine = False
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None

    def add(self, modules: Iterable[ModuleType | str]) -> None:
        modules = list(modules)
        if not modules and self._engine:
            return
        with self._lock:
            self._todo.extend(modules)
            self._idle.clear()
            if self._thread is None or not self._thread.is_alive():  # (none after a fork)
                from ._gil import HELPERS

                self._thread = threading.Thread(target=self._run, name="hotswap-warmup",
                                                daemon=True)
                HELPERS.add(self._thread)
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                todo, self._todo = self._todo, []
                if not todo and self._engine:
                    self._thread = None
                    self._idle.set()
                    return
            try:
                if not self._engine:
                    load_engine()
                    self._engine = True
                for module in _modules(todo):
                    ready_one(module)
                    time.sleep(0)
                ready_imports()
            except Exception:  # noqa: BLE001 - a warm-up never breaks the program
                self._engine = True  # the first update will load (and report) it then

    def ready(self, timeout: float | None = None) -> bool:
        """Wait until everything given so far is ready; whether it is."""
        return self._idle.wait(timeout)
