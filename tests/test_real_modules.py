"""Real code: copies of pure-Python standard library modules, edited and updated live.

Each module is copied at test time (from its ``__file__``, byte for byte) into a uniquely
named package and imported from there. Live state is built from the copy (instances,
bound methods, references to its functions), then the copy's file is edited and
``hotswap.update`` is called. The live copy must then behave like a fresh import of the
edited file:

* the same calls give the same results, also through the references and the instances
  taken before the update (the module's ``probe``);
* the module's own doctests give the same per-docstring results (and all the edits that
  preserve behaviour leave them exactly as they were on the unedited copy);
* functions and classes keep their identity, the module has the same names as the fresh
  import (added names arrive, removed names leave);
* (for the edits that move code around) every function's code carries the line numbers a
  fresh import gives, so tracebacks and ``inspect`` point at the right lines.

Edits are generated from each module's syntax tree (comments and blank lines, docstrings,
renamed locals, a method moved within its class, a function added and one removed), plus a
few hand-written behaviour changes per module (a constant, a default, a return
expression, a dataclass field, an enum member).
"""

from __future__ import annotations

import ast
import calendar
import colorsys
import cProfile
import dataclasses
import difflib
import doctest
import fractions
import functools
import http
import io
import itertools
import pstats
import re
import shlex
import statistics
import string
import textwrap
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import hotswap

from helpers.modules import ModuleFile
from helpers.outcomes import outcome as outcome_of

_ids = itertools.count()


# -- outcomes -----------------------------------------------------------------------------

def _unnamed(message: str) -> str:
    """`message` without the copies' module names, which differ between live and fresh."""
    return re.sub(r"hs_real_\d+", "hs_real_N", message)


# what a thunk gives, a failure compared by type and message
outcome = functools.partial(outcome_of, clean=_unnamed)


def run_all(thunks: list[Callable[[], Any]]) -> list[tuple[Any, ...]]:
    return [outcome(t) for t in thunks]


# -- probes: live state built before the update, calls compared after ---------------------

def colorsys_setup(m: Any) -> dict[str, Any]:
    return {"yiq": m.rgb_to_yiq, "from_yiq": m.yiq_to_rgb, "hls": m.rgb_to_hls,
            "from_hls": m.hls_to_rgb, "hsv": m.rgb_to_hsv, "from_hsv": m.hsv_to_rgb}


def colorsys_probe(m: Any, s: dict[str, Any]) -> list[Any]:
    out = []
    for rgb in [(0.2, 0.4, 0.6), (1.0, 0.0, 0.0), (0.5, 0.5, 0.5), (0.9, 0.1, 0.3)]:
        for key, name in (("yiq", "rgb_to_yiq"), ("hls", "rgb_to_hls"), ("hsv", "rgb_to_hsv")):
            out.append(outcome(lambda: s[key](*rgb)))
            out.append(outcome(lambda: getattr(m, name)(*rgb)))
    for trip in [(0.3, 0.4, 0.5), (0.9, 0.2, 0.1)]:
        for key in ("from_yiq", "from_hls", "from_hsv"):
            out.append(outcome(lambda: s[key](*trip)))
    return out


def fractions_setup(m: Any) -> dict[str, Any]:
    F = m.Fraction
    a, b, c = F(3, 4), F("1.25"), F(1, 3)
    return {"F": F, "a": a, "b": b, "c": c, "limit": c.limit_denominator,
            "from_float": F.from_float, "table": {"half": F(1, 2)}}


def fractions_probe(m: Any, s: dict[str, Any]) -> list[Any]:
    a, b, c, F = s["a"], s["b"], s["c"], s["F"]
    return run_all([
        lambda: repr(a + b), lambda: repr(a * c), lambda: str(b), lambda: float(c),
        lambda: repr(c.limit_denominator(10)), lambda: repr(s["limit"]()),
        lambda: repr(s["limit"](2)), lambda: repr(s["from_float"](0.1).limit_denominator()),
        lambda: hash(a) == hash(0.75), lambda: a < b, lambda: repr(m.Fraction(7, -21)),
        lambda: format(a, ".3f"), lambda: repr(round(b)), lambda: repr(a ** 2),
        lambda: isinstance(a, m.Fraction), lambda: type(a) is m.Fraction, lambda: F is m.Fraction,
        lambda: b.as_integer_ratio(), lambda: repr(s["table"]["half"] - a),
        lambda: repr(m.Fraction(355, 113).limit_denominator()),
    ])


def statistics_setup(m: Any) -> dict[str, Any]:
    return {"nd": m.NormalDist(100, 15), "nd2": m.NormalDist.from_samples([2.5, 3.1, 2.1, 2.4]),
            "mean": m.mean, "median_low": m.median_low, "cdf": m.NormalDist(0, 1).cdf}


def statistics_probe(m: Any, s: dict[str, Any]) -> list[Any]:
    nd, nd2 = s["nd"], s["nd2"]
    data = [1, 3, 5, 7, 9, 11]
    return run_all([
        lambda: s["mean"](data), lambda: m.median(data), lambda: s["median_low"](data),
        lambda: m.median_low(data), lambda: m.median_high(data), lambda: m.mode([1, 1, 2]),
        lambda: m.stdev(data), lambda: m.pvariance(data), lambda: m.quantiles(range(1, 11), n=4),
        lambda: m.fmean(data), lambda: m.geometric_mean(data), lambda: m.harmonic_mean(data),
        lambda: repr(nd), lambda: nd.cdf(110), lambda: nd.inv_cdf(0.9),
        lambda: nd.overlap(m.NormalDist(110, 10)), lambda: repr(nd2), lambda: repr(nd + 5),
        lambda: s["cdf"](1.5), lambda: m.correlation([1, 2, 3], [1, 2, 4]),
        lambda: tuple(m.linear_regression([1, 2, 3], [2, 4, 7])),
        lambda: m.median_grouped([1, 2, 2, 3, 4]), lambda: m.multimode("aabbc"),
    ])


TEXT = ("The quick brown fox jumps over the lazy dog.  It was not amused; the dog, that is, "
        "who had seen foxes before and would see them again.")


def textwrap_setup(m: Any) -> dict[str, Any]:
    w = m.TextWrapper(width=30, initial_indent="* ")
    return {"w": w, "wrap": w.wrap, "fill": m.fill, "shorten": m.shorten}


def textwrap_probe(m: Any, s: dict[str, Any]) -> list[Any]:
    return run_all([
        lambda: s["w"].wrap(TEXT), lambda: s["wrap"](TEXT), lambda: s["fill"](TEXT),
        lambda: m.fill(TEXT), lambda: m.wrap(TEXT, 20), lambda: s["shorten"](TEXT, 40),
        lambda: m.shorten(TEXT, width=50), lambda: m.dedent("    a\n      b\n"),
        lambda: m.indent("a\n\nb", "> "), lambda: m.TextWrapper().fill(TEXT),
        lambda: m.TextWrapper(width=25, max_lines=2).fill(TEXT),
    ])


def shlex_setup(m: Any) -> dict[str, Any]:
    lex = m.shlex("a 'b c' d@e f", posix=True)
    first = lex.get_token()
    return {"lex": lex, "first": first, "quote": m.quote, "split": m.split, "join": m.join}


def shlex_probe(m: Any, s: dict[str, Any]) -> list[Any]:
    lex = s["lex"]
    return run_all([
        lambda: s["first"], lambda: lex.get_token(), lambda: lex.get_token(),
        lambda: lex.get_token(), lambda: lex.get_token(), lambda: s["quote"]("a@b"),
        lambda: m.quote("x y"), lambda: m.quote("safe"), lambda: s["split"]("x 'y z' # c", True),
        lambda: s["join"](["a b", "c@d"]), lambda: list(m.shlex("p;q&&r", punctuation_chars=True)),
    ])


def calendar_setup(m: Any) -> dict[str, Any]:
    tc = m.TextCalendar(firstweekday=6)
    return {"tc": tc, "isleap": m.isleap, "monthrange": m.monthrange, "fmt": tc.formatmonth}


def calendar_probe(m: Any, s: dict[str, Any]) -> list[Any]:
    tc = s["tc"]
    return run_all([
        lambda: s["isleap"](2100), lambda: s["isleap"](2000), lambda: m.isleap(1900),
        lambda: m.leapdays(1890, 2110), lambda: s["monthrange"](2100, 2),
        lambda: s["fmt"](2100, 2), lambda: tc.formatyear(2024), lambda: m.timegm((2000, 1, 1, 0, 0, 0)),
        lambda: m.weekday(2024, 5, 17), lambda: m.month_name[3],
        lambda: list(tc.itermonthdays(2024, 2)), lambda: m.HTMLCalendar().formatmonth(2024, 2),
        lambda: m.month(2100, 2),
    ])


def string_setup(m: Any) -> dict[str, Any]:
    t = m.Template("$who likes $what")
    return {"capwords": m.capwords, "t": t, "fmt": m.Formatter(), "sub": t.safe_substitute}


def string_probe(m: Any, s: dict[str, Any]) -> list[Any]:
    t = s["t"]
    return run_all([
        lambda: s["capwords"]("hello  world"), lambda: m.capwords("a-b c-d", "-"),
        lambda: t.substitute(who="x", what="y"), lambda: s["sub"](who="x"),
        lambda: s["fmt"].format("{0}-{x!r}", 1, x=2), lambda: list(s["fmt"].parse("a{b}c")),
        lambda: m.ascii_letters, lambda: isinstance(t, m.Template),
        lambda: m.Template("${a} $b").substitute(a=1, b=2),
    ])


def difflib_setup(m: Any) -> dict[str, Any]:
    sm = m.SequenceMatcher(None, "abcd efgh", "abxd efgi")
    return {"sm": sm, "ratio": sm.ratio, "differ": m.Differ(), "gcm": m.get_close_matches}


def difflib_probe(m: Any, s: dict[str, Any]) -> list[Any]:
    sm = s["sm"]
    words = ["ape", "apple", "peach", "puppy", "apples"]
    return run_all([
        lambda: sm.ratio(), lambda: s["ratio"](), lambda: sm.get_opcodes(),
        lambda: [tuple(b) for b in sm.get_matching_blocks()], lambda: s["gcm"]("appel", words),
        lambda: m.get_close_matches("pech", words), lambda: m.get_close_matches("x", words, n=5),
        lambda: list(m.unified_diff(["a\n", "b\n"], ["a\n", "c\n"])),
        lambda: list(s["differ"].compare(["one\n", "two\n"], ["one\n", "tree\n"])),
        lambda: list(m.ndiff(["x\n"], ["y\n"])), lambda: m.IS_CHARACTER_JUNK(" "),
        lambda: m.SequenceMatcher(None, "kitten", "sitting").ratio(),
    ])


def _profile() -> cProfile.Profile:
    prof = cProfile.Profile()
    prof.enable()
    sorted(range(50), key=lambda x: -x)
    prof.disable()
    return prof


_PROFILE: list[cProfile.Profile] = []


def pstats_setup(m: Any) -> dict[str, Any]:
    if not _PROFILE:
        _PROFILE.append(_profile())
    st = m.Stats(_PROFILE[0], stream=io.StringIO())
    st.sort_stats(m.SortKey.CALLS)
    fp = m.FunctionProfile("1", 0.5, 0.5, 0.25, 0.25, "f.py", 3)
    return {"st": st, "fp": fp, "time": m.SortKey.TIME, "f8": m.f8, "kinds": {"fp": fp}}


def pstats_probe(m: Any, s: dict[str, Any]) -> list[Any]:
    st, fp = s["st"], s["fp"]
    return run_all([
        lambda: (st.total_calls, st.prim_calls), lambda: sorted(k[2] for k in st.stats),
        lambda: m.SortKey("cumtime") is m.SortKey.CUMULATIVE, lambda: s["time"].value,
        lambda: s["time"] is m.SortKey.TIME, lambda: [k.value for k in m.SortKey],
        lambda: sorted(m.SortKey.__members__), lambda: outcome(lambda: m.SortKey("hs").value),
        lambda: repr(fp), lambda: repr(s["kinds"]["fp"]),
        lambda: [f.name for f in dataclasses.fields(m.FunctionProfile)],
        lambda: fp == m.FunctionProfile("1", 0.5, 0.5, 0.25, 0.25, "f.py", 3),
        lambda: hash(fp) == hash(m.FunctionProfile("1", 0.5, 0.5, 0.25, 0.25, "f.py", 3)),
        lambda: isinstance(fp, m.FunctionProfile),
        lambda: sorted((k, p.ncalls) for k, p in st.get_stats_profile().func_profiles.items()),
        lambda: m.func_std_string(("~", 0, "<x>")), lambda: s["f8"](1.23456), lambda: m.f8(2.5),
    ])


def http_setup(m: Any) -> dict[str, Any]:
    S = m.HTTPStatus
    return {"S": S, "ok": S.OK, "nf": S(404), "table": {"teapot": S(418)}}


def http_probe(m: Any, s: dict[str, Any]) -> list[Any]:
    S, ok = s["S"], s["ok"]
    return run_all([
        lambda: S is m.HTTPStatus, lambda: (int(ok), ok.phrase, ok.description),
        lambda: (int(s["nf"]), s["nf"].phrase), lambda: S(200) is ok, lambda: S["OK"] is ok,
        lambda: m.HTTPStatus.OK is ok, lambda: len(m.HTTPStatus),
        lambda: [int(x) for x in m.HTTPStatus], lambda: s["table"]["teapot"].phrase,
        lambda: (int(S(299)), S(299).phrase, S(299).description),
        lambda: isinstance(ok, m.HTTPStatus), lambda: sorted(m.HTTPStatus.__members__)[:10],
        lambda: [x.phrase for x in m.HTTPStatus],
    ])


@dataclass
class Case:
    setup: Callable[[Any], dict[str, Any]]
    probe: Callable[[Any, dict[str, Any]], list[Any]]
    changes: list[tuple[str, str]]  # (exact snippet, replacement): the behaviour edit
    module: types.ModuleType
    filename: str = ""

    def source(self) -> str:
        return Path(self.module.__file__).read_bytes().decode("utf-8")  # type: ignore[arg-type]


CASES: dict[str, Case] = {
    "colorsys": Case(colorsys_setup, colorsys_probe, [
        ("ONE_SIXTH = 1.0/6.0", "ONE_SIXTH = 1.0/7.0"),
        ("    return (y, i, q)", "    return (y, q, i)"),
    ], colorsys),
    "fractions": Case(fractions_setup, fractions_probe, [
        ("return '%s(%s, %s)' % (", "return '%s(%s / %s)' % ("),
        ("def limit_denominator(self, max_denominator=1000000):",
         "def limit_denominator(self, max_denominator=100):"),
    ], fractions),
    "statistics": Case(statistics_setup, statistics_probe, [
        ("        return data[n // 2 - 1]", "        return data[n // 2]"),
        ("return f'{type(self).__name__}(mu={self._mu!r}, sigma={self._sigma!r})'",
         "return f'{type(self).__name__}<mu={self._mu!r}, sigma={self._sigma!r}>'"),
    ], statistics),
    "textwrap": Case(textwrap_setup, textwrap_probe, [
        ("def fill(text, width=70, **kwargs):", "def fill(text, width=50, **kwargs):"),
        ("placeholder=' [...]'):", "placeholder=' <...>'):"),
    ], textwrap),
    "shlex": Case(shlex_setup, shlex_probe, [
        ("_find_unsafe = re.compile(r'[^\\w@%+=:,./-]', re.ASCII).search",
         "_find_unsafe = re.compile(r'[^\\w%+=:,./-]', re.ASCII).search"),
        ("    return ' '.join(quote(arg) for arg in split_command)",
         "    return ' | '.join(quote(arg) for arg in split_command)"),
    ], shlex),
    "calendar": Case(calendar_setup, calendar_probe, [
        ("return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)", "return year % 4 == 0"),
    ], calendar),
    "string": Case(string_setup, string_probe, [
        ("return (sep or ' ').join(map(str.capitalize, s.split(sep)))",
         "return (sep or ' ').join(map(str.upper, s.split(sep)))"),
    ], string),
    "difflib": Case(difflib_setup, difflib_probe, [
        ("def get_close_matches(word, possibilities, n=3, cutoff=0.6):",
         "def get_close_matches(word, possibilities, n=3, cutoff=0.3):"),
        ("        return 2.0 * matches / length", "        return 1.5 * matches / length"),
    ], difflib),
    "pstats": Case(pstats_setup, pstats_probe, [
        ("    line_number: int\n", "    line_number: int\n    hs_note: str = 'n/a'\n"),
        ("    TIME = 'time', 'tottime'\n", "    TIME = 'time', 'tottime'\n    HS = 'hstest', 'hs'\n"),
        ('    return "%8.3f" % x', '    return "%8.4f" % x'),
    ], pstats),
    "http": Case(http_setup, http_probe, [
        ("    IM_USED = 226, 'IM Used'\n",
         "    IM_USED = 226, 'IM Used'\n    HS_TEST = 299, 'HS Test', 'Added by a test'\n"),
    ], http),
}


# -- edits generated from the syntax tree --------------------------------------------------

def _first_line(node: ast.stmt) -> int:
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])


def _indent(line: str) -> str:
    return line[:len(line) - len(line.lstrip())]


def _starts_line(lines: list[str], node: ast.stmt) -> bool:
    line = lines[node.lineno - 1].encode()
    return line[:node.col_offset].strip() == b""


def _defs(body: list[ast.stmt]) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Functions defined at module level and in (nested) class bodies."""
    out: list[Any] = []
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.append(node)
        elif isinstance(node, ast.ClassDef):
            out.extend(_defs(node.body))
    return out


def edit_reformat(src: str, top: bool = True, methods: bool = True,
                  bodies: bool = True) -> str:
    """Comments and blank lines: before top-level definitions (`top`), before definitions
    in class bodies (`methods`), inside function bodies (`bodies`)."""
    lines = src.splitlines(keepends=True)
    inserts: dict[int, list[str]] = {}

    def visit(body: list[ast.stmt], in_class: bool) -> None:
        for node in body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            first = _first_line(node)
            ind = _indent(lines[first - 1])
            if (methods if in_class else top):
                inserts.setdefault(first - 1, []).append(f"{ind}# hotswap test: a comment\n\n")
            if isinstance(node, ast.ClassDef):
                visit(node.body, True)
                continue
            head, last = node.body[0], node.body[-1]
            if bodies and head.lineno > node.lineno and _starts_line(lines, head):
                ind = _indent(lines[head.lineno - 1])
                inserts.setdefault(head.lineno - 1, []).append(f"{ind}# inside the body\n")
            if bodies and last is not head and _starts_line(lines, last):
                inserts.setdefault(last.lineno - 1, []).append("\n")

    visit(ast.parse(src).body, False)
    out = []
    for i, line in enumerate(lines):
        out.extend(inserts.get(i, []))
        out.append(line)
    return "".join(out)


def _docstring_node(node: Any) -> ast.Constant | None:
    body = getattr(node, "body", None)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[0].value
    return None


def _insert_at(lines: list[str], lineno: int, col: int, text: str) -> None:
    raw = lines[lineno - 1].encode()
    lines[lineno - 1] = (raw[:col] + text.encode() + raw[col:]).decode()


def edit_docstrings(src: str) -> str:
    """Change the module docstring and the first doctest-free docstring of a function, a
    class and a method."""
    tree = ast.parse(src)
    lines = src.splitlines(keepends=True)
    picks: list[ast.Constant] = []
    wanted = {"module": tree, "function": None, "class": None, "method": None}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and wanted["function"] is None:
            wanted["function"] = node if _docstring_ok(node) else None
        if isinstance(node, ast.ClassDef):
            if wanted["class"] is None and _docstring_ok(node):
                wanted["class"] = node
            for sub in node.body:
                if isinstance(sub, ast.FunctionDef) and wanted["method"] is None \
                        and _docstring_ok(sub):
                    wanted["method"] = sub
    for node in wanted.values():
        if node is not None and _docstring_ok(node):
            picks.append(_docstring_node(node))  # type: ignore[arg-type]
    assert picks
    for const in sorted(picks, key=lambda c: (c.end_lineno, c.end_col_offset), reverse=True):
        line = lines[const.end_lineno - 1].encode()  # type: ignore[operator]
        end = const.end_col_offset
        quote = 3 if line[end - 3:end] in (b'"""', b"'''") else 1  # type: ignore[operator]
        _insert_at(lines, const.end_lineno, end - quote, " (edited by a test)")  # type: ignore[arg-type, operator]
    return "".join(lines)


def _docstring_ok(node: Any) -> bool:
    const = _docstring_node(node)
    return const is not None and ">>>" not in const.value and not const.value.endswith("\\")


def _nested_scope(fn: ast.AST) -> bool:
    kinds = (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.ListComp,
             ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Global, ast.Nonlocal,
             ast.JoinedStr, ast.Import, ast.ImportFrom, ast.Match, ast.Try)
    return any(isinstance(n, kinds) for stmt in fn.body for n in ast.walk(stmt))  # type: ignore[attr-defined]


def edit_rename_locals(src: str, limit: int = 6,
                       select: Callable[[ast.FunctionDef], bool] | None = None) -> str:
    """Rename one local variable in each of the first `limit` simple functions (those
    `select` accepts; by default any but ``__new__``)."""
    tree = ast.parse(src)
    lines = src.splitlines(keepends=True)
    spots: list[tuple[int, int, int, str]] = []
    done = 0
    for fn in _defs(tree.body):
        if select is None:
            select = lambda fn: fn.name != "__new__"  # (an enum's has a test of its own)
        if done >= limit or _nested_scope(fn) or not select(fn):
            continue
        args = fn.args
        params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs,
                                  *filter(None, [args.vararg, args.kwarg])]}
        names = [n for stmt in fn.body for n in ast.walk(stmt) if isinstance(n, ast.Name)]
        stores = [n.id for n in names if isinstance(n.ctx, ast.Store) and n.id not in params]
        if not stores:
            continue
        old = stores[0]
        new = f"hs_renamed_{old}"
        if new in src:
            continue
        spots.extend((n.lineno, n.col_offset, n.end_col_offset, new)  # type: ignore[misc]
                     for n in names if n.id == old)
        done += 1
    if not done:
        return src  # (http: its only functions are enum __new__s)
    for lineno, start, end, new in sorted(spots, reverse=True):
        raw = lines[lineno - 1].encode()
        lines[lineno - 1] = (raw[:start] + new.encode() + raw[end:]).decode()
    return "".join(lines)


def edit_move_method(src: str) -> str:
    """In the class with the most methods, move the last uniquely named method to the top
    of the class body."""
    tree = ast.parse(src)
    lines = src.splitlines(keepends=True)
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    best = None
    for cls in sorted(classes, key=lambda c: -sum(isinstance(s, ast.FunctionDef) for s in c.body)):
        counts: dict[str, int] = {}
        for stmt in cls.body:
            for n in ast.walk(stmt):
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n in cls.body:
                    counts[n.name] = counts.get(n.name, 0) + 1
                elif isinstance(n, ast.Name):
                    counts[n.id] = counts.get(n.id, 0) + 1
        body = cls.body[1:] if _docstring_node(cls) is not None else cls.body
        methods = [s for s in body if isinstance(s, ast.FunctionDef) and counts[s.name] == 1]
        if len(methods) >= 1 and len(body) >= 2 and methods[-1] is not body[0]:
            best = (body[0], methods[-1])
            break
    if best is None:
        return src  # no class (colorsys): nothing to move
    target, method = best
    start, end = _first_line(method) - 1, method.end_lineno
    moved = lines[start:end]
    ind_from = _indent(lines[start])
    ind_to = _indent(lines[_first_line(target) - 1])
    assert ind_from == ind_to
    del lines[start:end]
    at = _first_line(target) - 1
    lines[at:at] = moved + ["\n"]
    return "".join(lines)


def edit_add_remove(src: str) -> str:
    """Append a new function; delete a top-level function nothing else names."""
    tree = ast.parse(src)
    lines = src.splitlines(keepends=True)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and src.count(node.name) == 1:
            del lines[_first_line(node) - 1:node.end_lineno]
            break
    text = "".join(lines)
    if not text.endswith("\n"):
        text += "\n"
    return text + "\n\ndef hs_added_function(x=2):\n    return ('added', x)\n"


def edit_behaviour(case: Case, src: str) -> str:
    for old, new in case.changes:
        assert src.count(old) == 1, f"snippet not found exactly once: {old!r}"
        src = src.replace(old, new)
    return src


def edit_preserving(src: str) -> str:
    return edit_reformat(edit_move_method(edit_rename_locals(edit_docstrings(src))))


PRESERVING: dict[str, Callable[[str], str]] = {
    "reformat": edit_reformat,
    "docstrings": edit_docstrings,
    "rename_locals": edit_rename_locals,
    "move_method": edit_move_method,
    "all_preserving": edit_preserving,
}
CHANGING = ["add_remove", "behaviour", "behaviour_and_reformat"]
ALL_EDITS = [*PRESERVING, *CHANGING]


def make_edit(case: Case, edit: str, src: str) -> str:
    if edit in PRESERVING:
        new = PRESERVING[edit](src)
    elif edit == "add_remove":
        new = edit_add_remove(src)
    elif edit == "behaviour":
        new = edit_behaviour(case, src)
    else:
        new = edit_reformat(edit_behaviour(case, src))
    assert new != src
    compile(new, "<edited>", "exec")
    return new


# -- the live copy and its oracle ---------------------------------------------------------

class Copy:
    """A standard library module copied into a uniquely named package of `modules`."""

    def __init__(self, modules: Any, stdname: str, text: str) -> None:
        self.modules = modules
        self.stdname = stdname
        self.mf = self._write(text)
        self.module = self.mf.module

    def _write(self, text: str) -> ModuleFile:
        name = f"hs_real_{next(_ids)}.{self.stdname}_copy"
        mf = ModuleFile(self.modules.root, name)
        mf.path.write_bytes(text.encode("utf-8"))
        self.modules.created.append(name.split(".")[0])
        mf.load()
        return mf

    def fresh(self, text: str) -> types.ModuleType:
        return self._write(text).module

    def update(self, text: str) -> hotswap.Report:
        self.mf.path.write_bytes(text.encode("utf-8"))
        return hotswap.update(self.module)


def doctest_results(mod: types.ModuleType) -> dict[str, tuple[int, int]]:
    """Per-docstring doctest results, keyed by the docstring's name inside the module."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(verbose=False)
    results = {}
    for test in finder.find(mod, mod.__name__):
        r = runner.run(test, out=lambda s: None)
        results[test.name[len(mod.__name__):]] = (r.failed, r.attempted)
    return results


def own_objects(mod: types.ModuleType) -> dict[str, Any]:
    """The module's functions and classes by name (those its source defines)."""
    out = {}
    for k, v in vars(mod).items():
        if type(v) is types.FunctionType and v.__globals__ is vars(mod):
            out[k] = v
        elif isinstance(v, type) and v.__module__ == mod.__name__ and v.__qualname__ == k:
            out[k] = v
    return out


def code_lines(code: types.CodeType) -> tuple[Any, ...]:
    """Where a code object and its nested ones say they are: the first line and the lines
    its instructions run, in order (not the bytecode itself: staging compiles a statement
    without the rest of the module, which CPython may turn into other, equivalent opcodes)."""
    children = tuple(code_lines(c) for c in code.co_consts if isinstance(c, types.CodeType))
    lines = [line for _, _, line in code.co_lines() if line is not None]
    runs = [line for i, line in enumerate(lines) if i == 0 or lines[i - 1] != line]
    return (code.co_name, code.co_firstlineno, tuple(runs), children)


def line_table(mod: types.ModuleType) -> dict[str, Any]:
    """Every function of the module's source (classes included) with its lines."""
    out: dict[str, Any] = {}
    filename = mod.__file__

    def add(key: str, fn: Any) -> None:
        if type(fn) is types.FunctionType and fn.__code__.co_filename == filename:
            out[key] = code_lines(fn.__code__)

    def visit_class(prefix: str, cls: type) -> None:
        for k, v in cls.__dict__.items():
            key = f"{prefix}.{k}"
            if isinstance(v, type) and v.__qualname__ == key:
                visit_class(key, v)
            elif isinstance(v, (staticmethod, classmethod)):
                add(key, v.__func__)
            elif isinstance(v, property):
                for role in ("fget", "fset", "fdel"):
                    add(f"{key}.{role}", getattr(v, role))
            else:
                add(key, v)

    for name, obj in own_objects(mod).items():
        if isinstance(obj, type):
            visit_class(name, obj)
        else:
            add(name, obj)
    return out


@dataclass
class Live:
    copy: Copy
    case: Case
    states: list[dict[str, Any]]  # each built before the first update, probed once
    objects: dict[str, Any] = field(default_factory=dict)


def start(modules: Any, stdname: str, checks: int = 2) -> tuple[Live, str]:
    case = CASES[stdname]
    text = case.source()
    copy = Copy(modules, stdname, text)
    states = [case.setup(copy.module) for _ in range(checks)]
    return Live(copy, case, states, own_objects(copy.module)), text


@dataclass
class Oracle:
    """What a fresh import of a text does (computed once per text: it is deterministic)."""

    want: list[Any]
    doctests: dict[str, tuple[int, int]]
    names: set[str]
    added: Any


_ORACLES: dict[tuple[str, str], Oracle] = {}


def oracle(live: Live, text: str) -> Oracle:
    key = (live.copy.stdname, text)
    if key not in _ORACLES:
        fresh = live.copy.fresh(text)
        _ORACLES[key] = Oracle(
            live.case.probe(fresh, live.case.setup(fresh)), doctest_results(fresh),
            set(vars(fresh)),
            fresh.hs_added_function(5) if "hs_added_function" in vars(fresh) else None)
    return _ORACLES[key]


def check_matches_fresh(live: Live, text: str) -> Oracle:
    """The live copy (and its state taken before) behaves like a fresh import of `text`."""
    fresh = oracle(live, text)
    mod = live.copy.module
    got = live.case.probe(mod, live.states.pop(0))
    for i, (g, w) in enumerate(zip(got, fresh.want)):
        assert g == w, f"{live.copy.stdname} probe #{i}: live {g!r} != fresh {w!r}"
    assert len(got) == len(fresh.want)
    assert doctest_results(mod) == fresh.doctests
    assert set(vars(mod)) == fresh.names, (
        f"names only live: {sorted(set(vars(mod)) - fresh.names)}, "
        f"only fresh: {sorted(fresh.names - set(vars(mod)))}")
    for name, obj in live.objects.items():
        if name in fresh.names:
            assert vars(mod)[name] is obj, f"{name} lost its identity"
    # From now on: what the module holds (a removed then re-added name is a new object).
    live.objects = {k: v for k, v in live.objects.items() if k in fresh.names}
    for k, v in own_objects(mod).items():
        live.objects.setdefault(k, v)
    if fresh.added is not None:
        assert mod.hs_added_function(5) == fresh.added == ("added", 5)
    return fresh


@pytest.fixture(autouse=True)
def _release_module_copies():
    """After each test, let go of the undo logs that keep its module copies alive (a
    hundred copies of statistics and difflib would make every later heap walk slow)."""
    yield
    hotswap.set_history_limit(0)
    hotswap.set_history_limit(8)  # the default


# -- tests --------------------------------------------------------------------------------

MODULE_NAMES = sorted(CASES)
# colorsys has no class; http's only functions are enums' __new__ (tested on their own)
NOT_APPLICABLE = {("colorsys", "move_method"), ("http", "rename_locals")}


def pairs(edits: list[str]) -> list[tuple[str, str]]:
    return [(m, e) for m in MODULE_NAMES for e in edits if (m, e) not in NOT_APPLICABLE]


@pytest.mark.parametrize(("stdname", "edit"), pairs(ALL_EDITS))
def test_edit_matches_fresh_import(modules, stdname, edit):
    live, original = start(modules, stdname)
    baseline = oracle(live, original)
    assert doctest_results(live.copy.module) == baseline.doctests
    edited = make_edit(live.case, edit, original)

    report = live.copy.update(edited)

    assert report.skipped == [], report.skipped
    fresh = check_matches_fresh(live, edited)
    if edit in PRESERVING:  # the edit really preserves behaviour
        assert fresh.doctests == baseline.doctests and fresh.want == baseline.want
    else:
        assert report.changed

    back = live.copy.update(original)  # and back again, with the same live state
    assert back.skipped == []
    check_matches_fresh(live, original)


LINE_EDITS: dict[str, Callable[[Case, str], str]] = {
    "comments above top-level definitions":
        lambda c, s: edit_reformat(s, methods=False, bodies=False),
    "comments above methods": lambda c, s: edit_reformat(s, top=False, bodies=False),
    "comments and blank lines inside function bodies":
        lambda c, s: edit_reformat(s, top=False, methods=False),
    "a method moved within its class": lambda c, s: edit_move_method(s),
    "locals renamed": lambda c, s: edit_rename_locals(s),
    "docstrings changed": lambda c, s: edit_docstrings(s),
    "behaviour changed": edit_behaviour,
}


@pytest.mark.parametrize("stdname", MODULE_NAMES)
def test_line_numbers_match_fresh_import(modules, stdname):
    """After each kind of edit, every function's code says the lines a fresh import says
    (tracebacks, ``inspect.getsource``, debuggers and coverage depend on it)."""
    stale: dict[str, list[str]] = {}
    for kind, make in LINE_EDITS.items():
        live, original = start(modules, stdname, checks=0)
        edited = make(live.case, original)
        if edited == original:
            continue  # (no class to move a method in)
        live.copy.update(edited)
        got, want = line_table(live.copy.module), line_table(live.copy.fresh(edited))
        assert set(got) == set(want)
        wrong = sorted(k for k in want if got[k] != want[k])
        if wrong:
            stale[kind] = wrong
    assert not stale, "functions left with stale line numbers: " + "; ".join(
        f"after {kind}: {len(w)} ({', '.join(w[:4])}{', ...' if len(w) > 4 else ''})"
        for kind, w in stale.items())


@pytest.mark.parametrize("stdname", MODULE_NAMES)
def test_editing_session(modules, stdname):
    """One live copy through a sequence of edits, each built on the previous text."""
    live, original = start(modules, stdname, checks=7)
    text = original
    steps = [lambda s: edit_behaviour(live.case, s), edit_reformat, edit_rename_locals,
             edit_docstrings, edit_move_method, edit_add_remove, lambda s: original]
    generations = []
    for step in steps:
        text = step(text)
        live.copy.update(text)
        check_matches_fresh(live, text)
        generations.append(hotswap.generation(live.copy.module))
    assert generations == sorted(generations)
    assert generations[-1] >= 4


@pytest.mark.parametrize("stdname", ["http", "pstats"])
def test_edit_inside_an_enum_new_keeps_value_lookup(modules, stdname):
    """HTTPStatus and pstats.SortKey have their own ``__new__``; EnumType keeps it aside
    (as ``_new_member_``) and makes ``HTTPStatus(200)`` a lookup. Renaming a local inside
    that ``__new__`` must leave ``HTTPStatus(200) is HTTPStatus.OK`` (and SortKey's alias
    values) working, as in a fresh import."""
    live, original = start(modules, stdname)
    edited = edit_rename_locals(original, limit=1, select=lambda fn: fn.name == "__new__")
    assert edited != original

    live.copy.update(edited)

    check_matches_fresh(live, edited)
    live.copy.update(original)
    check_matches_fresh(live, original)


def test_enum_member_definition_change_reaches_the_live_member(modules):
    """A member's definition changes (HTTPStatus.OK's description): the live member, which
    keeps its identity, describes itself as a fresh import's does."""
    live, original = start(modules, "http")
    ok = live.copy.module.HTTPStatus.OK
    edited = original.replace("OK = 200, 'OK', 'Request fulfilled, document follows'",
                              "OK = 200, 'OK', 'Request fulfilled (edited)'")
    assert edited != original

    live.copy.update(edited)

    assert live.copy.module.HTTPStatus.OK is ok
    assert live.copy.module.HTTPStatus(200) is ok
    check_matches_fresh(live, edited)
    assert ok.description == "Request fulfilled (edited)"
