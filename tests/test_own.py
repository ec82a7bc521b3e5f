"""hotswap's own records, proven by reference counts (hotswap._own): what only hotswap
holds is its own, however deep in its records; a container the program holds too never
is, however hotswap reaches it (the safety net would otherwise never name it)."""

from __future__ import annotations

import sys

from hotswap import _ops, _own


def test_what_an_undo_alone_keeps_is_hotswaps_and_the_programs_container_is_not(
        monkeypatch):
    registry = {"handler": ["old"]}  # the program's: this frame holds it
    replaced = registry["handler"]
    undo = _ops.SetItem(registry, "handler", ["new"]).apply()
    # an undo log, kept in a global of hotswap's (where the history lives)
    monkeypatch.setattr(_own, "_TEST_LOG", [undo], raising=False)
    del undo
    replaced_id = id(replaced)
    del replaced  # from now on only the undo's closure keeps the old value

    ids = _own.ids(sys._getframe(), ())

    assert id(_own._TEST_LOG) in ids
    assert replaced_id in ids
    assert id(registry) not in ids  # held by the undo's closure, and by the program
    assert registry["handler"] == ["new"]


def test_containers_only_hotswap_holds_are_its_own_at_any_depth(monkeypatch):
    monkeypatch.setattr(_own, "_TEST_LOG", [_ops.SetItem({}, "k", {"k": [[1], {2: [3]}]})],
                        raising=False)

    ids = _own.ids(sys._getframe(), ())

    value = _own._TEST_LOG[0].value
    inner = [value, value["k"], value["k"][0], value["k"][1], value["k"][1][2]]
    assert all(id(c) in ids for c in inner)


def test_a_list_the_program_also_holds_is_not_looked_into(monkeypatch):
    kept = [{"k": [1]}]  # the program's list; the dict in it only the list holds
    monkeypatch.setattr(_own, "_TEST_LOG", [_ops.SetItem({}, "k", kept)], raising=False)

    ids = _own.ids(sys._getframe(), ())

    assert id(kept) not in ids and id(kept[0]) not in ids
