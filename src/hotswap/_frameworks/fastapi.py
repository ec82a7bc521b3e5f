"""FastAPI and Starlette: ``@app.get(...)`` derives an ``APIRoute`` from the endpoint (its
parameters and dependency graph from the signature, its body and response fields from
the models, its OpenAPI description from the docstring) and keeps it in the router's
``routes``; the app caches its OpenAPI schema and builds its middleware stack (with the
exception handlers) at the first request.

A route re-derived by the engine (the endpoint's shape or the decorator's arguments
changed) takes the old route object's place: the old object gets the new one's state,
so the app, its included routers and the test client all serve the new route. A route
whose models were rebuilt, or whose dependencies' signatures changed, is rebuilt from
its own arguments. Then every router is marked changed (FastAPI rebuilds what it derived
from its routes, the OpenAPI schema too), and an app whose middleware or exception
handlers changed builds its middleware stack again at its next request."""

from __future__ import annotations

import contextlib
import inspect
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route, Router

from .._safe import instance_dict, is_a
from .._ops import Call, Op
from . import Adapter
from ._annotations import mentions
from ._transplant import transplant


def _api_route() -> Any:
    """FastAPI's route class, if the program uses FastAPI (Starlette alone: None; this
    adapter never imports a framework the program did not)."""
    routing = sys.modules.get("fastapi.routing")
    return getattr(routing, "APIRoute", None)


def _apps_and_routers() -> tuple[list[Any], list[Any]]:
    """Every Starlette/FastAPI app and router a loaded module holds (and the routers
    they include)."""
    apps: dict[int, Any] = {}
    routers: dict[int, Any] = {}
    for module in list(sys.modules.values()):
        if not is_a(module, types.ModuleType):
            continue
        for value in list((instance_dict(module) or {}).values()):
            if is_a(value, Starlette):
                apps[id(value)] = value
                value = value.router
            if is_a(value, Router):
                routers[id(value)] = value
    stack = list(routers.values())
    while stack:
        router = stack.pop()
        for route in router.routes:
            inner = getattr(route, "original_router", None) or getattr(route, "app", None)
            if is_a(inner, Router) and id(inner) not in routers:
                routers[id(inner)] = inner
                stack.append(inner)
    return list(apps.values()), list(routers.values())


def _calls(route: Any) -> Iterator[Any]:
    """The functions a route's dependency graph calls (the endpoint first)."""
    stack = [getattr(route, "dependant", None)]
    while stack:
        dep = stack.pop()
        if dep is None:
            continue
        if dep.call is not None:
            yield dep.call
        stack.extend(dep.dependencies)


def _reads(route: Any, classes: set[int], functions: set[int]) -> bool:
    """Whether `route` was derived from one of the rebuilt `classes` (as a parameter's
    or a dependency's annotation, or its response model) or from a function whose
    signature changed."""
    if mentions(getattr(route, "response_model", None), classes):
        return True
    for call in _calls(route):
        if id(call) in functions:
            return True
        for ann in getattr(call, "__annotations__", {}).values():
            if mentions(ann, classes):
                return True
    return False


def _rebuilt(route: Any) -> Any:
    """A new route made from `route`'s own arguments (FastAPI keeps every one)."""
    params = inspect.signature(type(route).__init__).parameters
    kwargs = {name: getattr(route, name) for name in params
              if name not in ("self", "path", "endpoint") and hasattr(route, name)}
    return type(route)(route.path, route.endpoint, **kwargs)


class FastAPIAdapter(Adapter):
    module = "starlette"
    name = "FastAPI/Starlette"

    def refers(self, record: Any) -> Callable[..., Any] | None:
        if is_a(record, Route):
            return record.endpoint
        return None

    def rebuild(self, old: Any, new: Any) -> Callable[[], None] | None:
        if type(old) is not type(new):
            return None
        return transplant(old, new)

    @contextlib.contextmanager
    def late_setup(self) -> Iterator[None]:
        """Starlette refuses ``add_middleware`` once the stack is built: while decorators
        run again, an app's own ``add_middleware`` adds to its list all the same; `after`
        builds the stack again if the middleware changed. The stack itself stays: a
        request served meanwhile (by the server's thread) would build one from a list
        that staging is changing, and the guard would then refuse the new middleware."""
        apps, _ = _apps_and_routers()
        lifted = [(app, app.__dict__.get("add_middleware", _ABSENT)) for app in apps
                  if app.middleware_stack is not None]
        for app, _before in lifted:
            app.__dict__["add_middleware"] = _unguarded(app)
        try:
            yield
        finally:
            for app, before in lifted:
                if before is _ABSENT:
                    app.__dict__.pop("add_middleware", None)
                else:
                    app.__dict__["add_middleware"] = before

    def after(self, update: Any) -> list[Op]:
        apps, routers = _apps_and_routers()
        if not routers:
            return []
        classes = {id(c) for c in update.classes}
        if classes and "pydantic" in sys.modules:
            from .pydantic import dependents

            classes |= dependents(update.classes)
        functions = {id(f) for f in update.reshaped}
        done = {id(old) for old, _ in update.records}
        api_route = _api_route()
        stale = [r for router in routers for r in router.routes
                 if api_route is not None and is_a(r, api_route) and id(r) not in done
                 and (classes or functions) and _reads(r, classes, functions)]
        update.rederived.extend(stale)  # not named by the safety net
        containers = {id(c) for c in update.containers}
        restack = [app for app in apps if id(app.user_middleware) in containers
                   or id(app.exception_handlers) in containers]
        undo: list[Callable[[], None]] = []
        stacks = [(app, app.middleware_stack) for app in restack]

        def do() -> None:
            for route in stale:
                undo.append(transplant(route, _rebuilt(route)))
            for app in restack:
                app.middleware_stack = None
            _changed(apps, routers)

        def back() -> None:
            while undo:
                undo.pop()()
            for app, stack in stacks:
                app.middleware_stack = stack
            _changed(apps, routers)
        return [Call(do, back, "FastAPI: re-derive routes, refresh OpenAPI and middleware")]


_ABSENT = object()


class _Unstarted:
    """An app seen as not started yet (no middleware stack), for its class's own
    ``add_middleware`` to run on: everything else is the app's."""

    middleware_stack = None

    def __init__(self, app: Any) -> None:
        object.__setattr__(self, "_app", app)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._app, name, value)


def _unguarded(app: Any) -> Callable[..., None]:
    """`app`'s own ``add_middleware``, without the started-app guard."""
    add = type(app).add_middleware

    def add_middleware(*args: Any, **kwargs: Any) -> None:
        add(_Unstarted(app), *args, **kwargs)
    return add_middleware


def _changed(apps: list[Any], routers: list[Any]) -> None:
    """Make FastAPI derive again what it derived from its routes (the effective routes
    of included routers, the OpenAPI schema)."""
    for router in routers:
        mark = getattr(router, "_mark_routes_changed", None)
        if mark is not None:
            mark()
    for app in apps:
        if hasattr(app, "openapi_schema"):
            app.openapi_schema = None


ADAPTER = FastAPIAdapter()
