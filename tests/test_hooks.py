"""Migration hooks: per instance (``__hotswap_migrate__(self)``) and per module
(``__hotswap_migrate__(old_globals)``), and an update refused when a hook raises."""

from __future__ import annotations

import pytest

import hotswap


def test_class_hook_runs_once_on_every_old_instance_including_subclasses(modules):
    common = """
        CALLS = []

        class Account:
            def __init__(self, cents):
                self.cents = cents
    """
    mf = modules(common + """
        class Savings(Account):
            pass

        def unrelated():
            return 1
    """)
    Account, Savings = mf.module.Account, mf.module.Savings
    a, b, s = Account(150), Account(99), Savings(1000)
    calls = mf.module.CALLS

    v2 = common + """
            def __hotswap_migrate__(self):
                CALLS.append(id(self))
                self.dollars = self.cents / 100

            def describe(self):
                return f"${self.dollars:.2f}"

        class Savings(Account):
            pass

        def unrelated():
            return 1
    """
    report = mf.update(v2)

    assert mf.module.Account is Account and mf.module.Savings is Savings
    assert sorted(calls) == sorted([id(a), id(b), id(s)])  # once each, subclass included
    assert (a.dollars, b.dollars, s.dollars) == (1.5, 0.99, 10.0)
    assert a.describe() == "$1.50"
    assert s.describe() == "$10.00"
    assert a.cents == 150  # existing state untouched
    assert any(entry.startswith(f"{mf.name}.Account") for entry in report.instances)
    assert any(entry.startswith(f"{mf.name}.Savings") for entry in report.instances)
    # new instances are not migrated; a later update that does not touch the class does
    # not offer the hook again
    fresh = Account(5)
    assert not hasattr(fresh, "dollars")
    mf.update(v2.replace("return 1", "return 2"))
    assert mf.module.unrelated() == 2
    assert sorted(calls) == sorted([id(a), id(b), id(s)])


def test_module_hook_receives_previous_globals(modules):
    mf = modules("""
        VERSION = 1
        COUNTER = 0

        def bump():
            global COUNTER
            COUNTER += 1
            return COUNTER
    """)
    old_bump = mf.module.bump
    for _ in range(7):
        mf.module.bump()
    assert mf.module.COUNTER == 7

    report = mf.update("""
        VERSION = 2
        COUNTER = 100
        RECEIVED = {}

        def bump():
            global COUNTER
            COUNTER += 1
            return COUNTER

        def __hotswap_migrate__(old):
            global COUNTER
            RECEIVED.update(old)
            RECEIVED["__type__"] = type(old)
            COUNTER = old["COUNTER"] + COUNTER
    """)

    received = mf.module.RECEIVED
    assert received["__type__"] is dict
    assert received["VERSION"] == 1  # the globals as they were before the update
    assert received["COUNTER"] == 7
    assert received["bump"] is old_bump
    assert "RECEIVED" not in received and "__hotswap_migrate__" not in received
    assert mf.module.VERSION == 2
    assert mf.module.COUNTER == 107
    assert mf.module.bump() == 108
    assert report.changed


def test_raising_class_hook_aborts_and_changes_nothing(modules):
    mf = modules("""
        CALLS = []

        def helper():
            return "helper1"

        class Item:
            def __init__(self, n):
                self.n = n

            def show(self):
                return "show1"
    """)
    Item = mf.module.Item
    items = [Item(1), Item(2), Item(3)]
    states = [dict(i.__dict__) for i in items]
    helper = mf.module.helper
    class_dict = dict(Item.__dict__)
    module_dict = dict(mf.module.__dict__)
    show_code = Item.__dict__["show"].__code__
    helper_code = helper.__code__

    with pytest.raises(hotswap.UpdateError) as info:
        mf.update("""
            CALLS = []

            def helper():
                return "helper2"

            class Item:
                def __init__(self, n):
                    self.n = n

                def show(self):
                    return "show2"

                def added(self):
                    return "added"

                def __hotswap_migrate__(self):
                    CALLS.append(self.n)
                    self.n = self.n * 100
                    self.tag = "migrated"
                    if len(CALLS) == 3:
                        raise RuntimeError("migration failed")
        """)

    assert isinstance(info.value.__cause__, RuntimeError)
    calls = mf.module.CALLS
    assert len(calls) == 3  # two hooks ran (and changed their instance) before the third raised
    by_n = {i.n if i.n in (1, 2, 3) else i.n // 100: i for i in items}
    ran_before = [by_n[n] for n in calls[:2]]
    failing = by_n[calls[2]]
    # instances whose hook completed before the failing one are restored
    for item in ran_before:
        assert item.__dict__ == states[items.index(item)]
    # and so is the instance whose hook raised half-way through
    assert failing.__dict__ == states[items.index(failing)]
    assert [dict(i.__dict__) for i in items] == states
    assert [i.n for i in items] == [1, 2, 3]
    assert not any(hasattr(i, "tag") for i in items)
    # functions and the class are as before
    assert mf.module.helper is helper
    assert helper.__code__ is helper_code
    assert helper() == "helper1"
    assert Item.__dict__["show"].__code__ is show_code
    assert items[0].show() == "show1"
    assert dict(Item.__dict__) == class_dict
    assert not hasattr(Item, "added")
    assert not hasattr(Item, "__hotswap_migrate__")
    assert mf.module.Item is Item
    assert dict(mf.module.__dict__) == module_dict
    assert hotswap.generation(mf.module) == 0
