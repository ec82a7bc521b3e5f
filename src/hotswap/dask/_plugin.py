"""The worker plugin that brings a worker to the cluster's current sources as it joins.

Registered (again) by every cluster update and rollback, under one name, so the scheduler
holds exactly one: the cluster's current sources. distributed runs a plugin's setup on a
joining worker before that worker handles the scheduler's messages, so before it runs a
task; registering it also runs setup on the workers already there, where it finds every
module already at these texts and only checks them.
"""

from __future__ import annotations

from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from . import _process

NAME = "hotswap"


class SourcesPlugin(WorkerPlugin):
    """Carries the sources (module name -> (relative path, text)) and the modules every
    worker imports."""

    name = NAME

    def __init__(self, files: dict[str, tuple[str, str]], load: tuple[str, ...]) -> None:
        self.files = files
        self.load = load

    def setup(self, worker: Any) -> None:
        _process.install(self.files, self.load, worker)
