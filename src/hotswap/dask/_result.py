"""What a cluster update tells its caller: a report per process and one summary line."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .._errors import UpdateError
from .._report import Report


@dataclass
class ClusterReport:
    """``reports`` maps each process's address (``"client"`` for the caller's own
    process) to the hotswap reports of the modules it changed (empty: it had nothing to
    change). ``lost`` names the workers that died or left during the update, and why."""

    module: str
    action: str = "updated"  # or "rolled back"
    generation: int = 0
    roles: dict[str, str] = field(default_factory=dict)  # address -> client/scheduler/worker
    reports: dict[str, list[Report]] = field(default_factory=dict)
    placed: dict[str, list[str]] = field(default_factory=dict)  # address -> first imports
    lost: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    duration: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds: lock, prepare, ...

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.phases[phase] = time.perf_counter() - start

    def count(self, role: str) -> int:
        return sum(1 for r in self.roles.values() if role in r.split("+"))

    def summary(self) -> str:
        """``updated mod on 1 scheduler + 8 workers to generation 3 in 41 ms``."""
        schedulers, workers = self.count("scheduler"), self.count("worker")
        parts = [f"{schedulers} scheduler" + ("s" if schedulers != 1 else "")] \
            if schedulers else []
        parts.append(f"{workers} worker" + ("s" if workers != 1 else ""))
        if self.reports.get("client") or self.placed.get("client"):
            parts.append("the client" + (" (the scheduler's process)"
                                         if "scheduler" in self.roles["client"] else ""))
        line = (f"{self.action} {self.module} on {' + '.join(parts)} to generation "
                f"{self.generation} in {self.duration * 1000:.0f} ms")
        if self.lost:
            line += f" ({len(self.lost)} lost: {', '.join(sorted(self.lost))})"
        return line

    def __str__(self) -> str:
        lines = [self.summary()]
        for address, reports in self.reports.items():
            done = "; ".join(_line(r) for r in reports if r.changed)
            placed = self.placed.get(address)
            if placed:
                done = "; ".join(filter(None, [done, f"imported {', '.join(placed)}"]))
            role = self.roles.get(address, "?")
            who = role if address == "client" else f"{role} {address}"
            lines.append(f"  {who}: {done or 'already current'}")
        lines.extend(f"  lost {a}: {why}" for a, why in self.lost.items())
        lines.extend(f"  note: {n}" for n in self.notes)
        if self.phases:
            lines.append("  phases: " + ", ".join(f"{k} {v * 1000:.0f} ms"
                                                   for k, v in self.phases.items()))
        return "\n".join(lines)


def _line(report: Report) -> str:
    """One process's part: the report's one-line summary, or what a rollback did."""
    undone = [n for n in report.notes if n.startswith("rolled back")]
    if undone:
        return f"{report.module} {undone[0]}"
    return report.summary(timing=False).removeprefix("hotswap: ")


class ClusterUpdateError(UpdateError):
    """A cluster update that was refused or failed: no process is left on the new code
    (the reasons name each process). ``reasons`` maps address -> reason; ``report`` holds
    what was known (lost workers, undo results)."""

    def __init__(self, message: str, *, module: str, reasons: dict[str, str],
                 report: ClusterReport) -> None:
        super().__init__(message, module=module)
        self.reasons = reasons
        self.report = report
