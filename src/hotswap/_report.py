"""What one update did, as data for programs and as one readable summary for people."""

from __future__ import annotations

from ._plain import asdict, dataclass, field

_COUNTS = (  # (field, singular, plural), in the order a one-line summary lists them
    ("functions", "function", "functions"),
    ("classes", "class", "classes"),
    ("rebuilt", "class rebuilt", "classes rebuilt"),
    ("replaced", "class replaced", "classes replaced"),
    ("redecorated", "re-decorated", "re-decorated"),
    ("closures", "closure", "closures"),
    ("instances", "instance migrated", "instances migrated"),
    ("added", "name added", "names added"),
    ("removed", "name removed", "names removed"),
    ("rebound", "name rebound", "names rebound"),
    ("rerun", "statement re-run", "statements re-run"),
)


@dataclass
class Report:
    """The outcome of ``update`` (or of ``plan``, with ``dry_run`` set).

    Every list holds qualified names (``"mod.Cls.method"``) so a log line says where to look.
    ``skipped`` pairs a name with the reason it was left on its old version: nothing is
    dropped silently.
    """

    module: str
    changed: bool = False
    dry_run: bool = False
    generation: int = 0
    duration: float = 0.0
    functions: list[str] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    rebuilt: list[str] = field(default_factory=list)
    redecorated: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    closures: list[str] = field(default_factory=list)
    instances: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    rebound: list[str] = field(default_factory=list)
    rerun: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # what may now differ from a fresh start of the new source, for the author to act on
    # (also logged as warnings): a statement not re-run, instances lacking new attributes
    warnings: list[str] = field(default_factory=list)
    heap_walks: int = 0
    unchanged: int = 0  # top-level statements left alone (not re-run)
    error: str | None = None  # a dry run's refusal: what `update` would raise

    def skip(self, name: str, reason: str) -> None:
        self.skipped.append((name, reason))

    def __str__(self) -> str:
        verb = "would update" if self.dry_run else "updated"
        ms = f"{self.duration * 1000:.1f} ms"
        if self.error is not None:
            return f"hotswap: would refuse to update {self.module}: {self.error}"
        if not self.changed:
            head = f"hotswap: {self.module} unchanged ({ms})"
            return "\n".join([head, *(f"  note: {n}" for n in self.notes)])
        # a dry run's generation is the one in force; applying would make the next one
        target = self.generation + 1 if self.dry_run else self.generation
        head = f"hotswap: {verb} {self.module} to generation {target} in {ms}"
        lines = [head]
        for label, items in (
            ("functions patched", self.functions),
            ("classes updated", self.classes),
            ("classes rebuilt (header re-run)", self.rebuilt),
            ("re-decorated", self.redecorated),
            ("classes replaced", self.replaced),
            ("closures patched", self.closures),
            ("instances migrated", self.instances),
            ("names added", self.added),
            ("names removed", self.removed),
            ("names rebound", self.rebound),
            ("statements re-run", self.rerun),
        ):
            if items:
                lines.append(f"  {label} ({len(items)}): {', '.join(items)}")
        if self.unchanged:
            lines.append(f"  left alone: {self.unchanged} unchanged top-level statement(s), "
                         "not re-run")
        for name, why in self.skipped:
            lines.append(f"  left on old version: {name}: {why}")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)

    def summary(self, timing: bool = True) -> str:
        """One line: ``hotswap: updated app.rules (2 functions, 1 class) in 1.3 ms``, for
        a runner's or a notebook's output (``str(report)`` is the full form)."""
        parts = []
        for field_name, one, many in _COUNTS:
            n = len(getattr(self, field_name))
            if n:
                parts.append(f"{n} {one if n == 1 else many}")
        if self.skipped:
            parts.append(f"{len(self.skipped)} left on the old version")
        if self.warnings:
            parts.append(f"{len(self.warnings)} warning{'s' if len(self.warnings) > 1 else ''}")
        verb = "would update" if self.dry_run else "updated"
        line = f"hotswap: {verb} {self.module} ({', '.join(parts) or 'no code changed'})"
        return line + (f" in {self.duration * 1000:.1f} ms" if timing else "")

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


# -- the wording of the notes the engine and the planner add ------------------------------
# Kept here, beside the rest of what a report says, so that the pipeline's modules say
# what happened and this one says how it reads.

SOURCE_UNCHANGED = "source unchanged: nothing to do"
BASELINE_UNKNOWN = ("the source this module was built from is unknown: every statement was "
                    "re-run in staging; identities were kept")
NO_CODE_CHANGED = "no code changed (comments, formatting or layout only)"


def followers_not_staged(followers: dict[str, set[str]]) -> list[str]:
    """A dry run's notes on the importers an update would refresh."""
    return [f"{m} would then run again its statements reading {', '.join(sorted(names))} "
            "(a dry run does not stage importers)" for m, names in followers.items()]


def replanned(attempts: int, gave_up: bool) -> str:
    """The update was planned `attempts` times (`gave_up`: the last plan applied stale)."""
    return (f"planned {attempts} times: other threads made objects of the old version "
            "while the update was planned"
            + ("; those made during the last planning may keep the old code"
               if gave_up else ""))


def applied_inside(inside: list[str]) -> str:
    return ("applied while other threads were still running the module's code "
            f"({'; '.join(inside)}): those calls may finish on a mix of old and new code")


def stalled(held: float, interval: float) -> str:
    return (f"this thread was stalled while applying the update (held the interpreter lock "
            f"{held * 1e3:.1f} ms, more than the {interval * 1e3:.1f} ms that keep other "
            "threads out): calls made meanwhile in other threads may have seen part of it")


def withdrawn(label: str, count: int) -> str:
    return f"{label}: {count} definition(s) removed from the source withdrawn"


def relined(module: str, count: int, factories: list[str]) -> list[str]:
    """Notes on code that only moved: `count` functions relined; closures made by
    `factories` (qualified names) left on their old line numbers."""
    notes = []
    if count:
        notes.append(f"line numbers moved for {count} unchanged function(s)")
    if factories:
        notes.append(
            "closures made earlier by " + ", ".join(f"{module}.{q}" for q in factories)
            + " and not held by a module keep their old line numbers in tracebacks until the "
            "nested function next changes (finding them would walk the heap)")
    return notes


def whole_module_ran(first: str, again: list[str]) -> str:
    """Staging only the changed statements failed with `first` where a fresh import would
    not: the whole module ran in staging; `again` are the unchanged statements that ran
    only to compute the others."""
    ran = (f"; unchanged statements that ran again there, their names keeping their "
           f"live values: {', '.join(again)}" if again else "")
    return (f"running only the changed statements could not reproduce a fresh import "
            f"({first}): the whole module ran again in staging instead, and only what "
            "changed (with what reads it or what it changes in place) was bound"
            f"{ran}; identities were kept")


def old_effects_stay(lineno: int, old: str, changed: list[str]) -> str:
    """A statement of the previous source, gone or changed, that changed module objects in
    place when it ran (`changed`, by name): nothing can take its effect back, and a fresh
    import of the new source would not have it."""
    return (f"`{old}` (line {lineno} of the previous source) changed {', '.join(changed)} "
            "in place when it ran; it is gone from the source or changed, and nothing "
            "undoes what it did, which a fresh import would not have done")
