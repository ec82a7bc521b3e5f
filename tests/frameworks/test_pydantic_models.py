# ruff: noqa: E501  (tables of source edits read best one edit a line)
"""pydantic v2: everyday edits of models, compared with a fresh process importing the new
source: validation, serialization and JSON schema through the classes held since before
the update (also by another module), and old instances, which must behave like
instances the new class makes from the same data."""

from __future__ import annotations

import itertools
import textwrap

import pytest

from helpers.fw_fresh import fresh, live

pytestmark = pytest.mark.heavy
pytest.importorskip("pydantic")

MODELS = '''
from pydantic import (BaseModel, ConfigDict, Field, computed_field, field_serializer,
                      field_validator, model_validator)


class Address(BaseModel):
    city: str


class User(BaseModel):
    name: str
    age: int = Field(default=0, ge=0)
    address: Address | None = None

    @field_validator("name")
    @classmethod
    def strip(cls, v):
        return v.strip()

    @model_validator(mode="after")
    def check(self):
        return self

    @field_serializer("name")
    def ser_name(self, v):
        return v

    @computed_field
    @property
    def label(self) -> str:
        return f"{self.name}:{self.age}"

    def greet(self):
        return f"hi {self.name}"


class Team(BaseModel):
    members: list[User] = []
'''

PROBE = '''
DATA = [{"name": " ann ", "age": 3, "address": {"city": "x"}}, {"name": "bob"}]
INPUTS = [{"name": "c", "age": 5}, {"name": "d", "age": -1}, {"name": "e", "age": "x"},
          {"name": "f", "age": 101, "extra": 1}, {"name": "g", "age": 2.5},
          {"name": "h", "address": {"city": "y", "zip": "9"}}]


def outcome(make):
    try:
        obj = make()
    except Exception as exc:
        errors = getattr(exc, "errors", None)
        return ["error", type(exc).__name__,
                sorted(e["type"] for e in errors()) if errors else str(exc)]
    return ["ok", repr(obj), obj.model_dump(), obj.model_dump_json()]


def answers(mod, olds):
    User, Team = mod.User, mod.Team
    out = {"schema": User.model_json_schema(), "team": Team.model_json_schema()}
    for i, data in enumerate(INPUTS):
        out[f"input {i}"] = outcome(lambda: User(**data))
        out[f"team {i}"] = outcome(lambda: Team(members=[data]))
    for i, old in enumerate(olds):
        # An old instance keeps its values as they are; it behaves like an instance the
        # new class makes from them (new fields at their default, removed ones gone).
        fields = User.model_fields
        twin = User.model_construct(
            _fields_set={k for k in old.model_fields_set if k in fields},
            **{k: v for k, v in vars(old).items() if k in fields})
        out[f"old {i}"] = [repr(old) == repr(twin), old.model_dump() == twin.model_dump(),
                           old.model_dump_json() == twin.model_dump_json(), old == twin,
                           old.greet() == twin.greet(), old.label == twin.label,
                           isinstance(old, User), old.model_fields_set == twin.model_fields_set,
                           sorted(vars(old)) == sorted(vars(twin))]
        out[f"copy {i}"] = repr(old.model_copy(update={"name": "z"})) == repr(
            twin.model_copy(update={"name": "z"}))
    out["greet"] = User(name="q").greet()
    out["validate"] = outcome(lambda: User.model_validate({"name": " v ", "age": 4}))
    return out
'''

CASES = {
    "field added with a default": [("    address: Address | None = None\n",
                                     "    address: Address | None = None\n    nick: str = 'n'\n")],
    "field removed": [("    address: Address | None = None\n", "")],
    "field type changed": [("    age: int = Field(default=0, ge=0)",
                            "    age: float = Field(default=0, ge=0)")],
    "default changed": [("default=0, ge=0", "default=7, ge=0")],
    "constraint changed": [("default=0, ge=0", "default=0, ge=0, le=100")],
    "model_config changed": [("    name: str\n    age",
                              "    model_config = ConfigDict(extra='forbid')\n\n"
                              "    name: str\n    age")],
    "field validator body": [("return v.strip()", "return v.strip().title()")],
    "model validator body": [("    def check(self):\n        return self",
                              "    def check(self):\n        if self.age > 100:\n"
                              "            raise ValueError('too old')\n        return self")],
    "serializer body": [("    def ser_name(self, v):\n        return v",
                         "    def ser_name(self, v):\n        return v.upper()")],
    "computed field body": [('return f"{self.name}:{self.age}"', 'return f"{self.name}/{self.age}"')],
    "plain method": [('return f"hi {self.name}"', 'return f"hello {self.name}"')],
    "nested model gains a field": [("    city: str\n", "    city: str\n    zip: str = '0'\n")],
}

_ids = itertools.count()


@pytest.mark.parametrize("case", list(CASES))
def test_pydantic_edit_behaves_as_a_fresh_start(case, modules, tmp_path):
    name = f"pd_models_{next(_ids)}"
    models = modules(MODELS, name)
    user = modules(f"from {name} import User, Team\n", name + "_user")
    mod = models.module
    held = (mod.User, mod.Team)
    olds = [mod.User(**d) for d in live(PROBE, "DATA")]
    before = live(PROBE, "answers(mod, olds)", mod=mod, olds=olds)
    source = textwrap.dedent(MODELS)
    for old, new in CASES[case]:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    report = models.update(source)
    assert (mod.User, mod.Team) == held and (user.module.User, user.module.Team) == held
    after = live(PROBE, "answers(mod, olds)", mod=user.module, olds=olds)
    expected = fresh(tmp_path, PROBE + f"\nimport {name} as mod\n"
                     "olds = [mod.User(**d) for d in DATA]\n", "answers(mod, olds)")
    assert after == expected, str(report)
    assert after != before
    # every holder was re-derived (the other module's names are the live classes)
    assert not [n for n, why in report.skipped if "not re-derived" in why], report


SHOP = """
from pydantic import BaseModel


class Item(BaseModel):
    name: str
"""

HOLDERS = """
from pydantic import TypeAdapter

import {shop}

MODELS = {{"item": {shop}.Item}}  # an in-house registry
ITEMS = TypeAdapter(list[{shop}.Item])  # a pydantic object no adapter re-derives
"""

HOLDERS_PROBE = """
import holders


def answers():
    try:
        return [i.model_dump() for i in holders.ITEMS.validate_python([{"name": "a"}])]
    except Exception as exc:
        return type(exc).__name__
"""


def test_holders_of_a_rebuilt_model_are_named(modules, tmp_path, caplog):
    """A model rebuilt (a field added) while an in-house registry dict and a pydantic
    ``TypeAdapter`` (built from the old schema; no adapter re-derives it) hold it, in
    another module: the report names both, and the log says so."""
    shop = modules(SHOP, "shop")
    holders = modules(HOLDERS.format(shop="shop"), "holders")
    with caplog.at_level("INFO", logger="hotswap"):
        report = shop.update(SHOP + "    qty: int = 1\n")
    skipped = dict(report.skipped)
    assert "holders.MODELS" in skipped and "shop.Item" in skipped["holders.MODELS"], report
    adapter = [n for n in skipped if n.startswith("holders.ITEMS.")]
    assert adapter and "shop.Item" in skipped[adapter[0]], report
    assert "holders.MODELS" in caplog.text and adapter[0] in caplog.text
    # what it warns about: the adapter validates with the old schema
    assert shop.module.Item(name="a").model_dump() == {"name": "a", "qty": 1}
    live_answers = live(HOLDERS_PROBE, "answers()", holders=holders.module)
    assert live_answers != fresh(tmp_path, HOLDERS_PROBE, "answers()")
