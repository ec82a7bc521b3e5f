"""The ``game`` demo: a running simulation loop whose rules module is rewritten under it.

What a newcomer should see in ten seconds: the loop never stops; the objects it holds are
the same objects before and after the edit, keep their state, and follow the new code at
once; a broken edit is refused and changes nothing. Every claim the demo prints is also
checked, so it doubles as a smoke test: exit code 1 if any check fails.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import hotswap

from ._common import guarded, heading, indented, scratch_module, verdict

MODULE = "arena_rules"

# The file the demo edits while the loop runs. Entities are instances of its class and the
# loop calls its `step`; `stats` is live module state that no update may reset.
RULES_V1 = '''\
"""Rules of a tiny one-dimensional arena (the code the demo edits while it runs)."""

VERSION = 1
WIDTH = 24        # cells
SPEED = 1         # cells per frame
BUMP_DAMAGE = 2   # hp lost when hitting a wall

stats = {"frames": 0, "bumps": 0}   # live module state: must survive every update


class Entity:
    def __init__(self, name: str, x: int, vx: int, hp: int) -> None:
        self.name, self.x, self.vx, self.hp = name, x, vx, hp

    def move(self) -> None:
        """Walls bounce entities back, and hurt."""
        self.x += self.vx * SPEED
        if not 0 <= self.x < WIDTH:
            self.x = max(0, min(WIDTH - 1, self.x))
            self.vx = -self.vx
            self.hp -= BUMP_DAMAGE
            stats["bumps"] += 1


def step(world: list[Entity]) -> None:
    stats["frames"] += 1
    for e in world:
        e.move()
'''

# v2: a changed constant, a changed method body, an added method and constant, a new
# field (filled in on live entities by a migration hook), and a changed function that
# calls the new method.
RULES_V2 = '''\
"""Rules of a tiny one-dimensional arena (the code the demo edits while it runs)."""

VERSION = 2
WIDTH = 24        # cells
SPEED = 2         # cells per frame
BUMP_DAMAGE = 2   # hp lost when hitting a wall
MAX_HP = 10

stats = {"frames": 0, "bumps": 0}   # live module state: must survive every update


class Entity:
    def __init__(self, name: str, x: int, vx: int, hp: int) -> None:
        self.name, self.x, self.vx, self.hp = name, x, vx, hp
        self.regen_rate = 1

    def __hotswap_migrate__(self) -> None:
        """Entities made before v2 never ran the new __init__: give them the new field."""
        self.regen_rate = 1

    def move(self) -> None:
        """The arena is a ring now: leaving one side enters the other."""
        self.x = (self.x + self.vx * SPEED) % WIDTH

    def regen(self) -> None:
        self.hp = min(MAX_HP, self.hp + self.regen_rate)


def step(world: list[Entity]) -> None:
    stats["frames"] += 1
    for e in world:
        e.move()
        e.regen()
'''

# v3: an edit saved half-way through, as happens in an editor with autosave.
BROKEN_LINE = "        self.hp = min(MAX_HP, self.hp + 5"
RULES_V3 = (RULES_V2.replace("VERSION = 2", "VERSION = 3")
            .replace("        self.hp = min(MAX_HP, self.hp + self.regen_rate)", BROKEN_LINE))

State = tuple[int, int, int]


def state(e: Any) -> State:
    return (e.x, e.vx, e.hp)


def v2_rule(e: Any) -> State:
    """What one v2 frame must do to `e` (WIDTH 24, SPEED 2, MAX_HP 10 written out), so the
    check does not trust the code it is checking."""
    return ((e.x + e.vx * 2) % 24, e.vx, min(10, e.hp + 1))


class Demo:
    """The loop's own bookkeeping: frame counter, printed checks, failures."""

    def __init__(self, rules: ModuleType, delay: float) -> None:
        self.rules = rules
        self.delay = delay
        self.frame = 0
        self.checks = 0
        self.failures: list[str] = []

    def check(self, ok: bool, claim: str) -> bool:
        self.checks += 1
        print(f"  [{'ok' if ok else 'FAIL'}] {claim}")
        if not ok:
            self.failures.append(claim)
        return ok

    def run(self, step: Callable[[list[Any]], None], world: list[Any], frames: int,
            rule: Callable[[Any], State] | None = None) -> bool:
        """Run `frames` frames; True if every entity followed `rule` (when given)."""
        followed = True
        for _ in range(frames):
            expected = [rule(e) for e in world] if rule is not None else None
            step(world)
            self.frame += 1
            print(f"  frame {self.frame:>2}  v{self.rules.VERSION}  {self.render(world)}")
            if expected is not None and expected != [state(e) for e in world]:
                followed = False
            time.sleep(self.delay)
        return followed

    def render(self, world: list[Any]) -> str:
        cells = ["."] * self.rules.WIDTH
        for e in world:
            if 0 <= e.x < len(cells):
                cells[e.x] = e.name[0] if cells[e.x] == "." else "*"
        hp = "  ".join(f"{e.name} {e.hp:>2}hp" for e in world)
        return f"|{''.join(cells)}|  {hp}"


def main(delay: float = 0.08) -> int:
    """Run the demo; 0 if everything it showed really happened, 1 otherwise."""
    with scratch_module(MODULE, RULES_V1) as (rules, path):
        return guarded(lambda: _play(rules, path, delay))


def _play(rules: ModuleType, path: Path, delay: float) -> int:
    """The demo's script, scene by scene, in the order its output reads.

    A straight sequence (print, edit the file, update, show, check), kept in one piece on
    purpose: a reader follows the story as the terminal shows it, and split into
    functions it would be scattered for no reuse.
    """
    demo = Demo(rules, delay)
    print("hotswap demo: a game loop whose rules change while it runs")
    print("The loop holds entities built from a rules module. The demo rewrites that")
    print("module's file and calls hotswap.update(rules); the loop never restarts.")
    print(f"  rules file: {path}")
    print("  each frame: rules version | the arena (a=ant b=bee c=cat) | hit points")

    heading("1. Rules v1: speed 1, walls bounce and cost 2 hp")
    world = [rules.Entity("ant", 3, -1, 9), rules.Entity("bee", 12, 1, 10),
             rules.Entity("cat", 20, 1, 8)]
    step = rules.step          # the loop keeps these references across every update
    entity_class = rules.Entity
    stats = rules.stats
    demo.run(step, world, 6)
    originals = list(world)
    before = [state(e) for e in world]
    print("  the loop holds these objects, plus `step = rules.step` taken at start:")
    for e in world:
        print(f"    {e.name}  id={id(e):#x}  x={e.x:>2} hp={e.hp:>2}")

    heading("2. Edit the file to v2, then call hotswap.update(rules)")
    print(f"  the demo rewrites {path.name} with these changes:")
    print("    VERSION = 1 -> 2, SPEED = 1 -> 2    changed constants")
    print("    Entity.move(): the arena is a ring  a changed method")
    print("    Entity.regen(): +1 hp, MAX_HP = 10  an added method and constant")
    print("    Entity.regen_rate = 1               a new field; __hotswap_migrate__ fills it in")
    print("                                        on the entities already alive")
    print("    step(): also calls e.regen()        a changed function")
    path.write_text(RULES_V2)
    try:
        report = hotswap.update(rules)
    except hotswap.UpdateError as exc:
        demo.check(False, f"the v2 update was applied (it raised: {exc})")
        return _finish(demo)
    print("  report = hotswap.update(rules); print(report):")
    print(indented(str(report)))

    heading("3. Same objects, same state, new behaviour")
    for old, e in zip(originals, world, strict=False):
        same = "same object" if e is old else "A DIFFERENT OBJECT"
        print(f"    {e.name}  id={id(e):#x}  x={e.x:>2} hp={e.hp:>2}  {same}")
    demo.check(report.changed, "the report says the module changed")
    demo.check(all(a is b for a, b in zip(originals, world, strict=False))
               and [state(e) for e in world] == before,
               "every entity is the same object, with the same position and hp")
    demo.check(rules.Entity is entity_class and all(type(e) is entity_class for e in world)
               and hasattr(world[0], "regen"),
               "rules.Entity is the same class, and its live instances gained regen()")
    demo.check(all(vars(e).get("regen_rate") == 1 for e in world),
               "the live entities gained the new field regen_rate = 1 (the hook ran once each)")
    demo.check(rules.step is step, "`step`, held since v1, is rules.step: old references "
                                   "run the new code")
    demo.check(rules.stats is stats and stats["frames"] == 6,
               f"module state kept: rules.stats is the same dict (frames={stats['frames']}, "
               "not reset to 0)")
    followed = demo.run(step, world, 6, v2_rule)
    demo.check(followed, "those frames followed the v2 rules: speed 2, ring arena, +1 hp")

    heading("4. A broken edit (v3) is refused and changes nothing")
    bad_line = RULES_V3.splitlines().index(BROKEN_LINE) + 1
    print("  v3 sets VERSION = 3 and regen() to +5 hp, but was saved mid-edit:")
    print(f"    line {bad_line}: {BROKEN_LINE.strip()}     <- no closing parenthesis")
    namespace = dict(vars(rules))
    codes = _codes(rules, step)
    path.write_text(RULES_V3)
    try:
        hotswap.update(rules)
    except hotswap.UpdateError as exc:
        print("  hotswap.update(rules) raised UpdateError:")
        print(indented(str(exc)))
        demo.check(exc.filename == str(path) and exc.lineno == bad_line
                   and f"{path}:{bad_line}" in str(exc),
                   f"the error names the file and line {bad_line}")
    else:
        demo.check(False, "the broken v3 was refused with UpdateError")
    print("  the loop keeps running the v2 code:")
    followed = demo.run(step, world, 4, v2_rule)
    unchanged = (vars(rules).keys() == namespace.keys()
                 and all(vars(rules)[k] is v for k, v in namespace.items())
                 and codes == _codes(rules, step))
    kept = all(a is b for a, b in zip(originals, world, strict=False))
    demo.check(followed and unchanged and kept,
               "nothing changed: same module namespace and code, same objects, v2 rules")
    return _finish(demo)


def _codes(rules: ModuleType, step: Any) -> list[Any]:
    """The code objects the loop runs, to tell that a refused update swapped none."""
    fns = (step, getattr(rules.Entity, "move", None), getattr(rules.Entity, "regen", None))
    return [getattr(f, "__code__", None) for f in fns]


def _finish(demo: Demo) -> int:
    return verdict(demo.failures, demo.checks)
