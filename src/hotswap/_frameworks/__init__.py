"""Framework adapters: what is specific to one framework's derived state.

The engine does the generic work (see `hotswap._derive`): a decorated def whose shape
changed runs its decorators again, the registration they make replaces the one made with
the old shape, a class generated from its body is rebuilt, and whatever still holds an old
shape is named in the report. An adapter only tells the engine what it cannot guess about
one framework:

- ``refers(record)``: the user function a registration object (a route, a command) was
  made from, so the new registration can take the old one's place;
- ``rebuild(old, new)``: make the old registration object become the new one in place
  (so whoever holds it sees the new shape); return an undo, or None to have the engine
  put the new object in the old one's place in the containers instead;
- ``generated(cls)``: whether a class is generated from its body (fields, annotations,
  config) by its metaclass or base class, so an edit of its fields rebuilds it;
- ``refuse(cls)``: why a class generated from its body cannot be rebuilt live (None: it
  can); the update is then refused with that reason, naming the class and the framework;
- ``fill(new, live)``: the fields of a rebuilt class and how to give their default to
  old instances (and which names old instances must lose); ``instance(obj, added,
  removed)`` adjusts what else the framework keeps on such an instance;
- ``after(update)``: operations to run once the update is applied (rebuild what embeds a
  changed definition, clear the framework's caches); each comes with its undo;
- ``late_setup()``: a context manager that lifts the framework's guard against setting
  up after start (re-running a decorator on an app that has served requests).

An adapter is active only while its framework is imported (``module`` is in
``sys.modules``): nothing here imports a framework, and a program without one pays one
dictionary look-up per adapter and update.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .._log import log

if TYPE_CHECKING:
    from .._derive import Update
    from .._ops import Op

Undo = Callable[[], None]


class Adapter:
    """The questions hotswap asks about one framework. Every answer defaults to "nothing
    special": subclass it and override what your framework needs."""

    #: the framework's top-level module: the adapter is used while it is imported
    module: str = ""
    #: the name the report and errors use
    name: str = ""

    def refers(self, record: Any) -> Callable[..., Any] | None:
        """The user function `record` (a registration object) was derived from."""
        return None

    def rebuild(self, old: Any, new: Any) -> Undo | None:
        """Make `old` (a registration made with the old shape) be `new` in place."""
        return None

    def generated(self, cls: type) -> bool:
        """Whether `cls` is generated from its body when created (its fields)."""
        return False

    def refuse(self, cls: type) -> str | None:
        """Why `cls`, generated from its body, cannot be rebuilt live (None: it can)."""
        return None

    def fill(self, new: type, live: type) -> tuple[dict[str, Callable[[], Any]], list[str]]:
        """For old instances of `live` rebuilt as `new`: the new fields with a default (a
        factory each) and the names of removed fields."""
        return {}, []

    def instance(self, obj: Any, added: list[str], removed: list[str]) -> Undo:
        """An old instance of a rebuilt class was given the new fields' defaults
        (`added`) and lost the removed fields (`removed`) in its ``__dict__``: adjust
        what else the framework keeps about its fields. Returns the undo."""
        return lambda: None

    def after(self, update: Update) -> list[Op]:
        """Operations that re-derive what embeds the changed definitions, and clear the
        framework's caches, once the update is applied."""
        return []

    @contextlib.contextmanager
    def late_setup(self) -> Iterator[None]:
        """While decorators run again: allow setting up an app that already started."""
        yield


# Adapters shipped with hotswap: framework module -> our module defining `ADAPTER`.
_BUILTIN = {
    "click": "click",
    "pydantic": "pydantic",
    "fastapi": "fastapi",
    "starlette": "fastapi",
    "attr": "attrs",
    "sqlalchemy": "sqlalchemy",
    "flask": "flask",
    "django": "django",
}
_loaded: dict[str, Adapter | None] = {}
_user: list[Adapter] = []


def register(adapter: Adapter) -> None:
    """Add an adapter for a framework of your own (used while `adapter.module` is
    imported). Registering the same object twice registers it once."""
    if not isinstance(adapter, Adapter):
        raise TypeError("an adapter is a hotswap.Adapter (subclass it)")
    if not any(a is adapter for a in _user):
        _user.append(adapter)


def unregister(adapter: Adapter) -> None:
    _user[:] = [a for a in _user if a is not adapter]


def active() -> list[Adapter]:
    """The adapters of the frameworks imported now (user adapters last)."""
    modules = sys.modules
    out: list[Adapter] = []
    for framework, ours in _BUILTIN.items():
        if framework in modules:
            adapter = _loaded.get(ours)
            if adapter is None:
                adapter = _loaded[ours] = _load(ours)
            if adapter is not None and adapter not in out:
                out.append(adapter)
    out.extend(a for a in _user if not a.module or a.module in modules)
    return out


def _load(ours: str) -> Adapter | None:
    """Our adapter module for a framework; None (and a warning, once) if that version of
    the framework does not have what it uses: updates then go on without it."""
    try:
        return importlib.import_module(f"{__name__}.{ours}").ADAPTER
    except Exception as exc:  # noqa: BLE001 - a framework version we do not know
        log.warning(
            "hotswap: the %s adapter could not be loaded (%s: %s); what that framework "
            "derives is not refreshed", ours, type(exc).__name__, exc)
        return None


@contextlib.contextmanager
def late_setup() -> Iterator[None]:
    """Every active adapter's `late_setup`, for the time decorators run again."""
    adapters = active()
    if not adapters:
        yield
        return
    with contextlib.ExitStack() as stack:
        for adapter in adapters:
            stack.enter_context(adapter.late_setup())
        yield


def refers(record: Any, adapters: list[Adapter]) -> tuple[Any, Adapter] | None:
    """The function `record` was derived from, and the adapter that said so."""
    for adapter in adapters:
        fn = adapter.refers(record)
        if fn is not None:
            return fn, adapter
    return None
