"""The incremental diff must segment a new source exactly as a full parse would."""

from __future__ import annotations

import ast

from hypothesis import given, settings
from hypothesis import strategies as st

from hotswap._diff import diff, dump, segment

BLOCKS = [
    "import os\n",
    "X = 1\n",
    "Y = [\n    1,\n    2,\n]\n",
    '"""Module docstring\n\nspanning lines at column 0\n"""\n',
    "def f(a, b=2):\n    return a + b\n",
    "@decorator\ndef g():\n    return 'g'\n",
    "class C:\n    K = 1\n\n    def m(self):\n        return self.K\n",
    "S = '''\ndef not_code():\n    pass\n'''\n",
    "a = 1; b = 2\n",
    "# a comment\n",
    "\n",
    "if X:\n    Z = 1\nelse:\n    Z = 2\n",
    "async def h():\n    return 3\n",
    "T = (1 +\n2)\n",
]


def shape(text: str) -> list[tuple[int, int, str]]:
    return [(s.start, s.end, dump(s.nodes)) for s in segment(text, "<m>").stmts]


@settings(max_examples=300, deadline=None)
@given(old=st.lists(st.sampled_from(BLOCKS), max_size=12),
       new=st.lists(st.sampled_from(BLOCKS), max_size=12))
def test_incremental_segmentation_equals_full_parse(old: list[str], new: list[str]) -> None:
    old_text, new_text = "".join(old), "".join(new)
    d = diff(segment(old_text, "<m>"), new_text, "<m>")
    assert [(s.start, s.end, dump(s.nodes)) for s in d.new.stmts] == shape(new_text)
    # every statement of the new text is either unchanged or in the changes
    changed = {id(c.new) for c in d.changes}
    assert d.unchanged == len(d.new.stmts) - len(changed)


@settings(max_examples=200, deadline=None)
@given(blocks=st.lists(st.sampled_from(BLOCKS), min_size=1, max_size=10),
       at=st.integers(min_value=0), insert=st.sampled_from(['"""\n', "(\n", "x = '''\n"]))
def test_an_edit_that_opens_a_string_is_rediffed_whole(blocks: list[str], at: int,
                                                        insert: str) -> None:
    old_text = "".join(blocks)
    lines = old_text.splitlines(keepends=True)
    k = at % (len(lines) + 1)
    new_text = "".join(lines[:k] + [insert] + lines[k:])
    try:
        ast.parse(new_text)
    except SyntaxError:
        try:
            diff(segment(old_text, "<m>"), new_text, "<m>")
        except SyntaxError:
            return
        raise AssertionError("a source that does not parse was accepted")
    d = diff(segment(old_text, "<m>"), new_text, "<m>")
    assert [(s.start, s.end, dump(s.nodes)) for s in d.new.stmts] == shape(new_text)


def test_a_body_edit_changes_one_statement() -> None:
    old = "".join(BLOCKS[4:7]) + "X = 1\n"
    new = old.replace("return a + b", "return a - b")
    d = diff(segment(old, "<m>"), new, "<m>")
    assert [c.new.definition for c in d.changes] == [("def", "f")]
    assert d.changes[0].old is not None and not d.removed


def test_lines_inserted_above_shift_the_definitions_below() -> None:
    old = BLOCKS[4] + BLOCKS[6]
    d = diff(segment(old, "<m>"), "\n\n" + old, "<m>")
    assert not d.changes and not d.removed
    assert sorted(delta for _, delta in d.shifted) == [2, 2]


def test_a_def_whose_text_did_not_change_pairs_with_itself_among_defs_of_its_name():
    """``def h_2`` renamed ``_`` ahead of an unchanged ``def _``: the unchanged one is not
    taken for a changed version of the other (it pairs with its own old text, and the
    renamed one is new), however the defs of the name are ordered."""
    old = "@f.register(int)\ndef h_2(x):\n    return 0\n\n@f.register(float)\ndef _(x):\n" \
        "    return 1\n\nX = 1\n"
    new = old.replace("def h_2", "def _").replace("X = 1", "X = 2")
    d = diff(segment(old, "<m>"), new, "<m>")
    # the renamed def is new; ``X = 2`` is a rewrite of ``X = 1``
    assert [(c.new.definition, c.old is None) for c in d.changes] == [(("def", "_"), True),
                                                                      (None, False)]
    assert [s.definition for s in d.removed] == [("def", "h_2")]


def test_a_parse_cpython_311_miscounts_is_asked_again() -> None:
    """gh-106905: before 3.11.8 a parse could fail with a bookkeeping SystemError while
    another thread parsed; the source is fine, so it is parsed once more. Any other
    SystemError is hotswap's to see."""
    import ast

    from hotswap import _diff

    real, calls = ast.parse, []

    def flaky(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 1:
            raise SystemError("AST constructor recursion depth mismatch (before=129, after=18)")
        return real(*args, **kwargs)

    def broken(*args, **kwargs):
        raise SystemError("something else")

    ast.parse = flaky  # (pytest parses too: put back before anything is asserted)
    try:
        tree = _diff.parse("x = 1\n")
        ast.parse = broken
        try:
            _diff.parse("x = 1\n")
            other = None
        except SystemError as exc:
            other = str(exc)
    finally:
        ast.parse = real
    assert ast.dump(tree) == ast.dump(real("x = 1\n")) and len(calls) == 2
    assert other == "something else"
