# ruff: noqa: E501  (tables of source edits read best one edit a line)
"""attrs: everyday edits of ``@define`` and ``@frozen`` classes, compared with a fresh
process importing the new source, through the classes held since before the update
(also by another module) and old instances, which keep their values and behave like
instances the new class makes from them."""

from __future__ import annotations

import itertools
import textwrap

import pytest

from helpers.fw_fresh import fresh, live

pytestmark = pytest.mark.heavy
pytest.importorskip("attrs")

SOURCE = '''
import attrs
from attrs import define, field, frozen


def positive(instance, attribute, value):
    if value < 0:
        raise ValueError(f"{attribute.name} must be positive")


@define
class Point:
    x: int = field(validator=positive)
    y: int = 0

    def norm(self):
        return abs(self.x) + abs(self.y)


@frozen
class Money:
    amount: int
    currency: str = "EUR"

    def show(self):
        return f"{self.amount} {self.currency}"
'''

PROBE = '''
import attrs

POINTS = [{"x": 1, "y": 2}, {"x": 3}]
MONIES = [{"amount": 5}]
NEW = [{"x": 4}, {"x": -1}, {"x": 200}, {"x": 1, "y": 1, "z": 3}, {"x": 1, "y": -3}]


def outcome(make, show):
    try:
        obj = make()
    except Exception as exc:
        return ["error", type(exc).__name__, str(exc)]
    return ["ok", repr(obj), show(obj)]


def answers(mod, olds):
    P, M = mod.Point, mod.Money
    out = {"fields": [a.name for a in attrs.fields(P)], "mfields": [a.name for a in attrs.fields(M)]}
    for i, data in enumerate(NEW):
        out[f"new {i}"] = outcome(lambda: P(**data), lambda p: [p.norm(), attrs.asdict(p)])
    out["money"] = outcome(lambda: M(7), lambda m: [m.show(), attrs.asdict(m), hash(m) == hash(M(7))])
    for i, old in enumerate(olds):
        cls = type(old)
        names = [a.name for a in attrs.fields(cls)]
        twin = attrs.evolve(old)  # made by the class from the old instance's values
        out[f"old {i}"] = [isinstance(old, (P, M)), repr(old) == repr(twin), old == twin,
                           attrs.asdict(old) == attrs.asdict(twin),
                           all(hasattr(old, n) for n in names)]
    return out
'''

CASES = {
    "method body (define)": [("return abs(self.x) + abs(self.y)", "return self.x * 10 + self.y")],
    "method body (frozen)": [('return f"{self.amount} {self.currency}"',
                              'return f"{self.currency}{self.amount}"')],
    "field added with a default (define)": [("    y: int = 0\n", "    y: int = 0\n    z: int = 9\n")],
    "field added with a default (frozen)": [('    currency: str = "EUR"\n',
                                             '    currency: str = "EUR"\n    cents: int = 0\n')],
    "default changed": [("    y: int = 0\n", "    y: int = 5\n")],
    "validator body changed": [("    if value < 0:", "    if value < 0 or value > 100:")],
    "validator added": [("    y: int = 0\n", "    y: int = field(default=0, validator=positive)\n")],
}

_ids = itertools.count()


@pytest.mark.parametrize("case", list(CASES))
def test_attrs_edit_behaves_as_a_fresh_start(case, modules, tmp_path):
    name = f"attrs_mod_{next(_ids)}"
    mf = modules(SOURCE, name)
    user = modules(f"from {name} import Point, Money\n", name + "_user")
    mod = mf.module
    olds = [mod.Point(**d) for d in live(PROBE, "POINTS")] + \
        [mod.Money(**d) for d in live(PROBE, "MONIES")]
    before = live(PROBE, "answers(mod, olds)", mod=mod, olds=olds)
    source = textwrap.dedent(SOURCE)
    for old, new in CASES[case]:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    report = mf.update(source)
    assert user.module.Point is mod.Point and user.module.Money is mod.Money
    after = live(PROBE, "answers(mod, olds)", mod=user.module, olds=olds)
    expected = fresh(tmp_path, PROBE + f"\nimport {name} as mod\n"
                     "olds = [mod.Point(**d) for d in POINTS] + [mod.Money(**d) for d in MONIES]\n",
                     "answers(mod, olds)")
    assert after == expected, str(report)
    assert after != before
