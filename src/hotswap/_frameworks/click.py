"""click: a command is derived from its function by ``@click.command`` (its parameters
from the option decorators, its help from the docstring) and kept as a ``Command``, held
by the module's name, by its group's ``commands`` and by whoever imported it.

A body edit patches the callback in place (the engine finds it on the command). A shape
change (an option added, a default or the docstring changed) runs the decorators again;
the held ``Command`` object takes the new one's state, so every holder runs the new
command; a group keeps the subcommands registered on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from .._safe import is_a
from . import Adapter
from ._transplant import transplant


class ClickAdapter(Adapter):
    module = "click"
    name = "click"

    def refers(self, record: Any) -> Callable[..., Any] | None:
        if not is_a(record, click.Command):
            return None
        fn: Any = record.callback
        while fn is not None and getattr(fn, "__wrapped__", None) is not None:
            fn = fn.__wrapped__  # pass_context and friends wrap the user's function
        return fn

    def rebuild(self, old: Any, new: Any) -> Callable[[], None] | None:
        if type(old) is not type(new):
            return None
        return transplant(old, new, keep=("commands",) if is_a(old, click.Group) else ())


ADAPTER = ClickAdapter()
