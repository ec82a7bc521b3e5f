"""``from __future__ import annotations`` added or removed (issue 19: idna 3.19 and
humanize 4.16 did it in a release): the update applies as a fresh import of the new
source would, with the module's state kept. Only the statements whose compiled form
depends on the flag (those holding an annotation) count as changed."""

from __future__ import annotations

import sys
import textwrap

import pytest

import hotswap
from helpers.fresh_tree import Tree

sys.dont_write_bytecode = True

FUTURE = "from __future__ import annotations\n"

BODY = '''
import dataclasses
from typing import ClassVar

CACHE = {}
TABLE: dict[str, int] = {}
LIMIT: int = 10
plain_note: "list[str]"

def remember(key, value):
    CACHE[key] = TABLE[key] = value
    return len(CACHE)

def f(x: int, y: "str" = "a") -> list[int]:
    return [x, y]

def outer():
    def inner(a: float) -> None:
        return None
    return inner

def plain():
    return LIMIT + 1

class C:
    size: int = 3
    registry: dict = {}
    def method(self, n: int) -> dict:
        return {"n": n}
    class Inner:
        def g(self, z: bytes) -> bytes:
            return z

@dataclasses.dataclass
class D:
    x: int
    y: str = "b"
    count: ClassVar[int] = 0
'''

# typing.get_type_hints-independent answers: the annotations as written (reprs: a string
# after the future import, an evaluated object without it), the dataclass's fields, and
# what the functions return
PROBE = """[
    [{k: repr(v) for k, v in a.items()} for a in [
        pkg.m.f.__annotations__, pkg.m.outer().__annotations__,
        pkg.m.C.method.__annotations__, pkg.m.C.Inner.g.__annotations__,
        pkg.m.C.__annotations__, pkg.m.D.__annotations__, pkg.m.__annotations__,
        pkg.user.f.__annotations__, pkg.m.plain.__annotations__]],
    [[fl.name, repr(fl.type), repr(fl.default) if isinstance(fl.default, str) else None]
     for fl in __import__("dataclasses").fields(pkg.m.D)],
    repr(pkg.m.D(1)), pkg.m.D.count, pkg.m.f(2), pkg.m.C().method(4), pkg.m.plain(),
    pkg.m.C.Inner().g(b"z").decode(), pkg.m.C.size, pkg.m.LIMIT,
]"""


def _load(tree: Tree, source: str) -> object:
    tree.write(m=source, user="from .m import f\n")
    m = tree.load("m")
    tree.load("user")
    return m


@pytest.mark.parametrize("first, second", [("", FUTURE), (FUTURE, "")],
                         ids=["added", "removed"])
def test_a_future_annotations_change_applies_as_a_fresh_import(
        tree: Tree, first: str, second: str) -> None:
    m = _load(tree, first + BODY)
    m.remember("kept", 1)  # type: ignore[attr-defined]
    cache, table = m.CACHE, m.TABLE  # type: ignore[attr-defined]
    f, method, bound = m.f, m.C.method, m.C().method  # type: ignore[attr-defined]
    registry, d = m.C.registry, m.D(5)  # type: ignore[attr-defined]
    registry["kept"] = 2
    for version in (second, first):  # there and back again
        tree.write(m=version + BODY)
        report = hotswap.update(m)  # type: ignore[arg-type]
        assert tree.live(PROBE) == tree.fresh(PROBE), report
        # the module's state is kept: the unchanged assignment did not run again
        assert m.CACHE is cache and cache == {"kept": 1}  # type: ignore[attr-defined]
        assert m.TABLE is table and table == {"kept": 1}  # type: ignore[attr-defined]
        assert m.C.registry is registry and registry == {"kept": 2}  # type: ignore[attr-defined]
        assert isinstance(d, m.D) and d == m.D(5, "b")  # type: ignore[attr-defined]
        # functions held before the update see the new annotations
        assert m.f is f and m.C.method is method  # type: ignore[attr-defined]
        assert f.__annotations__ == m.f.__annotations__  # type: ignore[attr-defined]
        assert bound.__annotations__ == method.__annotations__
        want = "int" if version else int
        assert f.__annotations__["x"] == want and bound.__annotations__["n"] == want


def test_only_the_annotated_statements_run_again(tree: Tree) -> None:
    """Adding the import changes no statement without an annotation: a side-effecting
    one does not run again, an unchanged function keeps its code."""
    source = textwrap.dedent('''
        EVENTS = []
        EVENTS.append("imported")
        def plain(a, b=2):
            return a + b
        def typed(a: int, seen=[]) -> int:
            seen.append(a)
            return len(seen)
    ''')
    tree.write(m=source)
    m = tree.load("m")
    events, typed_code = m.EVENTS, m.typed.__code__
    seen = m.typed.__defaults__[0]
    assert m.typed(1) == 1
    tree.write(m=FUTURE + source)
    report = hotswap.update(m)
    assert m.EVENTS is events and events == ["imported"]
    # only the annotated def changed (the other one's lines moved, nothing more)
    assert [f.rsplit(".", 1)[-1] for f in report.functions] == ["typed"], report
    assert m.typed.__code__ is not typed_code
    assert m.typed.__annotations__ == {"a": "int", "return": "int"}
    # the def ran again for its annotations; its defaults are state, kept
    assert m.typed.__defaults__[0] is seen and m.typed(2) == 2


@pytest.mark.parametrize("feature", ["barry_as_FLUFL"])
def test_another_significant_future_change_is_refused_naming_file_and_line(
        tree: Tree, feature: str) -> None:
    tree.write(m="def f(x: int) -> int:\n    return x\n")
    m = tree.load("m")
    f_code = m.f.__code__
    tree.write(m=f'"""Doc."""\nfrom __future__ import {feature}\ndef f(x: int) -> int:\n'
                 '    return 2\n')
    with pytest.raises(hotswap.UpdateError, match="__future__") as info:
        hotswap.update(m)
    assert info.value.filename == str(tree.path("m"))
    assert info.value.lineno == 2
    assert m.f(1) == 1 and m.f.__code__ is f_code
