"""Flask: ``@app.route`` derives a werkzeug ``Rule`` (path, methods) kept in the app's URL
map, whose matcher is built from the rules; ``view_functions``, ``error_handler_spec``
and the ``before_request`` lists hold the functions; a blueprint records its routes and
plays them on the apps it is registered with. Once an app has served a request (and a
blueprint has been registered), Flask refuses any setup method, for safety at start-up.

While decorators run again that guard is lifted (the matcher is set aside, so staging
cannot change what requests see). A rule re-derived (its path or ``methods=`` changed)
takes the old rule's place; after the update the URL map's matcher is rebuilt from its
rules, and a route added to a registered blueprint is played on the apps holding it."""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

from flask import Blueprint, Flask
from werkzeug.routing import Rule
from werkzeug.routing.matcher import StateMachineMatcher

from .._safe import instance_dict, is_a
from .._ops import Call, Op
from . import Adapter


def _apps() -> list[Any]:
    found: dict[int, Any] = {}
    for module in list(sys.modules.values()):
        if is_a(module, types.ModuleType):
            for value in list((instance_dict(module) or {}).values()):
                if is_a(value, Flask):
                    found[id(value)] = value
    return list(found.values())


def _blueprints(apps: list[Any]) -> list[Any]:
    return list({id(bp): bp for app in apps for bp in app.blueprints.values()
                 if is_a(bp, Blueprint)}.values())


def _rematch(url_map: Any) -> Callable[[], None]:
    """Build the map's matcher again from its rules (what ``Map.add`` builds)."""
    before = url_map._matcher
    matcher = StateMachineMatcher(before.merge_slashes)
    for rule in url_map._rules:
        if not rule.build_only:
            matcher.add(rule)
    url_map._matcher = matcher
    url_map._remap = True

    def undo() -> None:
        url_map._matcher = before
        url_map._remap = True
    return undo


class FlaskAdapter(Adapter):
    module = "flask"
    name = "Flask"

    def refers(self, record: Any) -> Callable[..., Any] | None:
        if not is_a(record, Rule) or record.map is None:
            return None
        for app in _apps():
            if app.url_map is record.map:
                fn: Callable[..., Any] | None = app.view_functions.get(record.endpoint)
                return fn
        return None

    @contextlib.contextmanager
    def late_setup(self) -> Iterator[None]:
        apps = _apps()
        bps = _blueprints(apps)
        saved = [(app, app._got_first_request, app.url_map._matcher) for app in apps]
        registered = [(bp, bp._got_registered_once) for bp in bps]
        for app in apps:
            app._got_first_request = False
            # staging's rules go into a matcher nobody matches against
            app.url_map._matcher = StateMachineMatcher(app.url_map.merge_slashes)
        for bp in bps:
            bp._got_registered_once = False
        try:
            yield
        finally:
            for app, got, matcher in saved:
                app._got_first_request = got
                app.url_map._matcher = matcher
                app.url_map._remap = True
            for bp, once in registered:
                bp._got_registered_once = once

    def after(self, update: Any) -> list[Op]:
        apps = _apps()
        if not apps:
            return []
        containers = {id(c) for c in update.containers}
        maps = [app for app in apps if id(app.url_map._rules_by_endpoint) in containers
                or any(id(v) in containers for v in app.url_map._rules_by_endpoint.values())]
        bps = [(bp, len(bp.deferred_functions)) for bp in _blueprints(apps)
               if id(bp.deferred_functions) in containers]
        if not maps and not bps:
            return []
        undo: list[Callable[[], None]] = []

        def do() -> None:
            for bp, known in bps:
                for app in apps:
                    if app.blueprints.get(bp.name) is bp:
                        undo.append(_replay(app, bp, bp.deferred_functions[known:]))
            for app in {id(a): a for a in [*maps, *(x for x in apps if undo)]}.values():
                undo.append(_rematch(app.url_map))

        def back() -> None:
            while undo:
                undo.pop()()
        return [Call(do, back, "Flask: rebuild the URL matcher, play new blueprint routes")]


def _replay(app: Any, bp: Any, deferred: list[Any]) -> Callable[[], None]:
    """Play a registered blueprint's new records (a route added) on `app`, as
    registering it did; returns the undo (the app's rules and views as they were)."""
    url_map = app.url_map
    rules = {k: (v, list(v)) for k, v in url_map._rules_by_endpoint.items()}
    views = dict(app.view_functions)
    prefix = _prefix(app, bp)
    state = bp.make_setup_state(app, {"url_prefix": prefix} if prefix is not None else {})
    got, matcher = app._got_first_request, url_map._matcher
    app._got_first_request = False
    url_map._matcher = StateMachineMatcher(matcher.merge_slashes)  # rebuilt after (_rematch)
    try:
        for record in deferred:
            record(state)
    finally:
        app._got_first_request = got
        url_map._matcher = matcher

    def undo() -> None:
        url_map._rules_by_endpoint.clear()
        for key, (lst, contents) in rules.items():  # the same lists: other undos edit them
            lst[:] = contents
            url_map._rules_by_endpoint[key] = lst
        app.view_functions.clear()
        app.view_functions.update(views)
    return undo


def _prefix(app: Any, bp: Any) -> str | None:
    """The URL prefix `bp` was registered with on `app` (register_blueprint's option,
    which Flask does not keep): read back from a rule it made before."""
    for record in bp.deferred_functions:
        cells = {}
        for name, cell in zip(record.__code__.co_freevars, record.__closure__ or (),
                              strict=False):
            try:
                cells[name] = cell.cell_contents
            except ValueError:  # an empty cell
                continue
        rule = cells.get("rule")
        endpoint = cells.get("endpoint") or getattr(cells.get("view_func"), "__name__", None)
        if not isinstance(rule, str) or endpoint is None:
            continue
        for made in app.url_map._rules_by_endpoint.get(f"{bp.name}.{endpoint}", ()):
            if made.rule.endswith(rule) or made.rule.endswith(rule.rstrip("/")):
                return made.rule[: len(made.rule) - len(rule)] or None
    return None


ADAPTER = FlaskAdapter()
