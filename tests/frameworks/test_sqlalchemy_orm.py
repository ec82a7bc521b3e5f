# ruff: noqa: E501  (tables of source edits read best one edit a line)
"""SQLAlchemy 2 ORM on in-memory SQLite: everyday edits of a mapped class, compared with
a fresh process importing the new source (same rows), through the session and rows
loaded before the update. A change to the mapping (a column default) is refused, loudly,
and changes nothing: it must never corrupt the mapping."""

from __future__ import annotations

import itertools
import textwrap

import pytest

import hotswap

from helpers.fw_fresh import fresh, live

pytestmark = pytest.mark.heavy
pytest.importorskip("sqlalchemy")

SOURCE = '''
from sqlalchemy import String, create_engine, select
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, validates


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(30))
    qty: Mapped[int] = mapped_column(default=1)
    price: Mapped[int] = mapped_column(default=10)

    @hybrid_property
    def total(self):
        return self.qty * self.price

    @total.expression
    def total(cls):
        return cls.qty * cls.price

    @validates("name")
    def check_name(self, key, value):
        return value.strip()

    def label(self):
        return f"{self.name} x{self.qty}"


engine = create_engine("sqlite://")
Base.metadata.create_all(engine)
session = Session(engine)
session.add_all([Item(name="A", qty=2), Item(name="B")])  # as either validator keeps them
session.commit()


def big():
    query = select(Item).where(Item.total > 15).order_by(Item.id)
    return [i.name for i in session.scalars(query)]
'''

PROBE = '''
def answers(mod, rows):
    from sqlalchemy import select

    out = {"held": [[r.label(), r.total, r.qty] for r in rows], "big": mod.big()}
    obj = mod.Item(name=" z ")
    mod.session.add(obj)
    mod.session.flush()
    out["new"] = [obj.label(), obj.total, obj.qty, obj.price]
    out["all"] = [[i.label(), i.total] for i in mod.session.scalars(
        select(mod.Item).order_by(mod.Item.id))]
    out["extra"] = mod.cheap() if hasattr(mod, "cheap") else None
    mod.session.rollback()
    return out
'''

CASES = {
    "model method": [('return f"{self.name} x{self.qty}"', 'return f"{self.name} * {self.qty}"')],
    "hybrid property (instance side)": [("return self.qty * self.price",
                                         "return self.qty * self.price + 1")],
    "hybrid property (SQL side)": [("return cls.qty * cls.price", "return cls.qty * cls.price * 2")],
    "validates body": [("return value.strip()", "return value.strip().upper()")],
    "query function added": [("def big():", "def cheap():\n    return [i.name for i in session.scalars("
                              "select(Item).where(Item.price < 20))]\n\n\ndef big():")],
}

_ids = itertools.count()


def _setup(modules, name):
    mf = modules(SOURCE, name)
    rows = mf.module.session.scalars(mf.module.select(mf.module.Item)).all()
    return mf, rows


@pytest.mark.parametrize("case", list(CASES))
def test_sqlalchemy_edit_behaves_as_a_fresh_start(case, modules, tmp_path):
    name = f"sa_mod_{next(_ids)}"
    mf, rows = _setup(modules, name)
    mod = mf.module
    held = mod.Item
    before = live(PROBE, "answers(mod, rows)", mod=mod, rows=rows)
    source = textwrap.dedent(SOURCE)
    for old, new in CASES[case]:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    report = mf.update(source)
    assert mod.Item is held
    after = live(PROBE, "answers(mod, rows)", mod=mod, rows=rows)
    expected = fresh(tmp_path, PROBE + f"\nimport {name} as mod\n"
                     "rows = mod.session.scalars(mod.select(mod.Item)).all()\n",
                     "answers(mod, rows)")
    assert after == expected, str(report)
    assert after != before


@pytest.mark.parametrize("edit", [
    ("qty: Mapped[int] = mapped_column(default=1)", "qty: Mapped[int] = mapped_column(default=3)"),
    ("    price: Mapped[int] = mapped_column(default=10)\n",
     "    price: Mapped[int] = mapped_column(default=10)\n    note: Mapped[str] = mapped_column(default='')\n"),
])
def test_a_mapping_change_is_refused_and_changes_nothing(edit, modules):
    name = f"sa_mod_{next(_ids)}"
    mf, rows = _setup(modules, name)
    mod = mf.module
    before = live(PROBE, "answers(mod, rows)", mod=mod, rows=rows)
    qty = mod.Item.__dict__["qty"]
    source = textwrap.dedent(SOURCE)
    assert source.count(edit[0]) == 1
    with pytest.raises(hotswap.UpdateError) as caught:
        mf.update(source.replace(edit[0], edit[1]))
    message = str(caught.value)
    assert f"{name}.Item" in message and "SQLAlchemy" in message and "mapping" in message
    assert caught.value.lineno == 11  # the class statement
    assert mod.Item.__dict__["qty"] is qty  # still the instrumented attribute
    assert live(PROBE, "answers(mod, rows)", mod=mod, rows=rows) == before
