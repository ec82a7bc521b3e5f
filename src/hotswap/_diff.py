"""Old source vs new source: which top-level statements changed, were added, were removed.

A module's source is kept as a *segmentation*: its top-level statements with their line
ranges. Only the first segmentation of a module needs a full ``ast.parse``; after that a
new version is diffed line by line, the changed region is widened to whole statements of
the old version, and only that region of the new text is parsed. The text before it is
identical, so the tokenizer is at a clean statement boundary where the region starts, and
a region that parses as complete statements ends at one too: statements below it are the
old ones, shifted. A one-line body edit in a huge module therefore parses one function.
"""

from __future__ import annotations

import __future__
import ast
import enum
import functools
import sys
from collections.abc import Callable, Sequence
from typing import NamedTuple

from ._plain import dataclass, field
from ._names import bound_names, deleted_names, reads


class Kind(enum.StrEnum):
    """What a statement is, as far as staging a body treats it differently."""

    DEF = "def"  # one def (async included): matched by name, patched in place
    CLASS = "class"  # one class statement: matched by name, its body staged in turn
    TEXT = "text"  # a lone string constant: a docstring where it comes first
    OTHER = "other"  # everything else: run again when changed


class Definition(NamedTuple):
    """A lone def or class statement's kind and name: how the old and new versions of a
    definition are matched. (A string enum, so that it still equals ``("def", name)``.)"""

    kind: Kind
    name: str


@dataclass(frozen=True)
class Stmt:
    """One top-level statement (several, when written on one line with ``;``)."""

    start: int  # 0-based index of its first line (decorators included)
    end: int  # exclusive
    nodes: tuple[ast.stmt, ...]
    names: frozenset[str]  # bound by it
    deleted: frozenset[str] = frozenset()  # unbound by a top-level `del`
    text: str | None = None  # its exact source, when known: a cheap first equality test
    reads: frozenset[str] = frozenset()  # names it reads while running (see _names.reads)

    def shifted(self, delta: int) -> Stmt:
        return self if delta == 0 else Stmt(self.start + delta, self.end + delta, self.nodes,
                                            self.names, self.deleted, self.text, self.reads)

    definition: Definition | None = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "definition", _definition(self.nodes))

    @property
    def lineno(self) -> int:
        return self.start + 1

    @property
    def kind(self) -> Kind:
        if self.definition is not None:
            return self.definition.kind
        node = self.nodes[0] if len(self.nodes) == 1 else None
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str):
            return Kind.TEXT
        return Kind.OTHER

    def same_code(self, other: Stmt) -> bool:
        if self.text is not None and self.text == other.text:
            return True
        return dump(self.nodes) == dump(other.nodes)


def _definition(nodes: tuple[ast.stmt, ...]) -> Definition | None:
    """The kind and name of a lone definition, which is matched by name."""
    if len(nodes) != 1:
        return None
    node = nodes[0]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return _def_named(node.name)
    if isinstance(node, ast.ClassDef):
        return _class_named(node.name)
    return None


# Every statement made (shifted ones included) gets its definition: a NamedTuple costs
# ten times a plain tuple to make, so each is made once per name and shared.
@functools.lru_cache(maxsize=4096)
def _def_named(name: str) -> Definition:
    return Definition(Kind.DEF, name)


@functools.lru_cache(maxsize=4096)
def _class_named(name: str) -> Definition:
    return Definition(Kind.CLASS, name)


def dump(nodes: Sequence[ast.AST] | ast.AST | None) -> str:
    """A statement's meaning without its position or formatting."""
    if nodes is None:
        return ""
    if isinstance(nodes, ast.AST):
        return ast.dump(nodes, include_attributes=False)
    return "\n".join(ast.dump(n, include_attributes=False) for n in nodes)


@dataclass
class Segmentation:
    lines: list[str]
    stmts: list[Stmt]

    @property
    def text(self) -> str:
        return "".join(self.lines)


def _parse(text: str, filename: str, first_line: int = 0) -> ast.Module:
    """Parse `text` as if it started at 0-based line `first_line` of `filename`."""
    return parse("\n" * first_line + text, filename)


def parse(text: str, filename: str = "<unknown>") -> ast.Module:
    """`ast.parse`, asked once more when CPython 3.11 reports its own bookkeeping error.

    Before 3.11.8 the converter from the parser's tree to `ast` objects keeps its depth
    count in the interpreter's state, shared by every thread, and loses count on some
    paths (gh-106905, Python/Python-ast.c): a parse then fails with ``SystemError: AST
    constructor recursion depth mismatch`` though the source is fine. hotswap parses on a
    warm-up thread while the program (or its test runner) may parse on another; the
    source is the same each time, so its answer is the one a fresh parse gives. Asked up to
    three times: twice in a row was seen while another thread kept parsing.
    """
    for _ in range(2):
        try:
            return ast.parse(text, filename, type_comments=False)
        except SystemError as exc:
            if "recursion depth mismatch" not in str(exc):
                raise
    return ast.parse(text, filename, type_comments=False)


def mangle(private: str | None, name: str) -> str:
    """A name as a class body named `private` stores it (``__x`` in ``class C`` is ``_C__x``)."""
    if private is None or not name.startswith("__") or name.endswith("__") or "." in name:
        return name
    owner = private.lstrip("_")
    return f"_{owner}{name}" if owner else name


def demangle(private: str, name: str) -> str:
    """The name as written in the source, for a class dict key (``_C__x`` is ``__x``)."""
    prefix = "_" + private.lstrip("_")
    if prefix != "_" and name.startswith(prefix + "__") and not name.endswith("__"):
        return name[len(prefix):]
    return name


def group(body: list[ast.stmt], lines: list[str] | None = None, base: int = 0,
          private: str | None = None) -> list[Stmt]:
    """Statements of a body, those sharing a line (``a = 1; b = 2``) kept together.

    With the source `lines` at hand (``lines[0]`` being line `base` + 1 of the file), each
    statement also keeps its exact text. In a class body named `private`, the names bound
    are the mangled ones the class dict holds.
    """
    stmts: list[Stmt] = []
    for node in body:
        first = min([node.lineno] + [deco.lineno for deco in getattr(node, "decorator_list", [])])
        start, end = first - 1, node.end_lineno or node.lineno
        if stmts and start < stmts[-1].end:
            prev = stmts.pop()
            stmts.append(Stmt(prev.start, max(prev.end, end), prev.nodes + (node,),
                              prev.names | bound_names(node),
                              prev.deleted | deleted_names(node), None,
                              prev.reads | reads(node)))
        else:
            stmts.append(Stmt(start, end, (node,), bound_names(node), deleted_names(node),
                              None, reads(node)))
    if lines is not None or private is not None:
        stmts = [Stmt(s.start, s.end, s.nodes,
                      frozenset(mangle(private, n) for n in s.names),
                      frozenset(mangle(private, n) for n in s.deleted),
                      None if lines is None else "".join(lines[s.start - base:s.end - base]),
                      s.reads)
                 for s in stmts]
    return stmts


def final_names(stmts: list[Stmt]) -> set[str]:
    """Names a body leaves bound once it has run, honouring `del` of temporaries."""
    names: set[str] = set()
    for s in stmts:
        names -= s.deleted
        names |= s.names
    return names


def segment(text: str, filename: str) -> Segmentation:
    """Full parse: the way in for a module seen for the first time. Raises SyntaxError."""
    lines = text.splitlines(keepends=True)
    return Segmentation(lines, group(_parse(text, filename).body, lines))


@dataclass
class Change:
    """A statement of the new source that must run (``old`` is its previous version)."""

    new: Stmt
    old: Stmt | None = None
    layout: bool = False  # same code, other lines: recompiled only to move line numbers
    refresh: bool = False  # unchanged, but it reads a name an earlier change rebound
    # same code, all of it annotated assignments: only their annotations are stored again
    # (the ``annotations`` future import changed, see `annotated`); nothing is rebound
    annotations: bool = False


@dataclass
class ModuleDiff:
    old: Segmentation | None
    new: Segmentation
    changes: list[Change] = field(default_factory=list)
    removed: list[Stmt] = field(default_factory=list)
    unchanged: int = 0  # statements not run again (layout-only changes included)
    shifted: list[tuple[Stmt, int]] = field(default_factory=list)  # (old stmt, line delta)
    # the ``annotations`` future import came or went: every annotated statement changed
    reannotated: bool = False

    @property
    def empty(self) -> bool:
        """Nothing that changes behaviour (line numbers may still move)."""
        return not self.removed and all(c.layout for c in self.changes)


def _common(equal: Callable[[int], bool], n: int) -> int:
    """The largest k <= n with equal(k), for a monotone test: a binary search whose every
    step is one C-level list comparison, instead of a Python loop over the lines."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if equal(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _region(old: Segmentation, new_lines: list[str]) -> tuple[int, int, int, int, int]:
    """Indices (i, j) of the old statements touched by the edit and the line span to parse.

    Returns (i, j, first_line, old_end_line, new_end_line): statements old.stmts[i:j] are
    replaced by whatever new_lines[first_line:new_end_line] parses to.
    """
    a, b = old.lines, new_lines
    n = min(len(a), len(b))
    p = _common(lambda k: a[:k] == b[:k], n)
    s = _common(lambda k: a[len(a) - k:] == b[len(b) - k:], n - p)
    old_end, new_end = len(a) - s, len(b) - s
    stmts = old.stmts
    i = 0
    while i < len(stmts) and stmts[i].end <= p:
        i += 1
    j = i
    while j < len(stmts) and (stmts[j].start < old_end or stmts[j].start < p):
        j += 1
    first = min(p, stmts[i].start) if i < j else p
    last = max(old_end, stmts[j - 1].end) if i < j else old_end
    return i, j, first, last, last + (new_end - old_end)


def diff(old: Segmentation | None, new_text: str, filename: str) -> ModuleDiff:
    """Diff `new_text` against the old segmentation (None: baseline unknown, all is new).

    Raises SyntaxError (with the real file position) when the new text does not parse.
    """
    if old is None:
        new = segment(new_text, filename)
        return ModuleDiff(None, new, [Change(s) for s in new.stmts])
    new_lines = new_text.splitlines(keepends=True)
    i, j, first, old_last, new_last = _region(old, new_lines)
    try:
        middle = group(_parse("".join(new_lines[first:new_last]), filename, first).body,
                       new_lines)
        delta = new_last - old_last
        new_stmts = old.stmts[:i] + middle + [s.shifted(delta) for s in old.stmts[j:]]
        shifted = [(s, delta) for s in old.stmts[j:]] if delta else []
        old_middle = old.stmts[i:j]
    except SyntaxError:
        # Either a real error (the full parse re-raises it with the true position) or an
        # edit that changed how the text around it tokenizes (an opened string): rediff all.
        full = segment(new_text, filename)
        new_stmts, middle, old_middle, shifted = full.stmts, full.stmts, old.stmts, []
    reannotated = bool((future_flags(old.stmts) ^ future_flags(new_stmts)) & ANNOTATIONS)
    if reannotated:  # annotated statements outside the edit changed too: pair them all
        middle, old_middle, shifted = new_stmts, old.stmts, []
    result = ModuleDiff(old, Segmentation(new_lines, new_stmts), shifted=shifted,
                        reannotated=reannotated)
    result.changes, result.removed, moved = pair(old_middle, middle, reannotated)
    result.shifted.extend(m for m in moved if m[1])
    result.unchanged = len(new_stmts) - sum(not c.layout for c in result.changes)
    return result


def pair(old: list[Stmt], new: list[Stmt], reannotated: bool = False
         ) -> tuple[list[Change], list[Stmt], list[tuple[Stmt, int]]]:
    """Match statements: definitions by kind and name, everything else by its code.

    Returns the new statements that must run (with their old version when there is one),
    the old statements that are gone, and unchanged definitions that moved (with the line
    delta), in that order. `reannotated` (the ``annotations`` future import came or went):
    a statement holding an annotation compiles differently, so it changed even when its
    code did not.
    """
    changes: list[Change] = []
    removed: list[Stmt] = []
    moved: list[tuple[Stmt, int]] = []
    by_def: dict[Definition, list[Stmt]] = {}
    by_code: dict[str, list[Stmt]] = {}
    for s in old:
        key = s.definition
        if key is not None:
            by_def.setdefault(key, []).append(s)
        else:
            by_code.setdefault(dump(s.nodes), []).append(s)
    same_text = _same_text(new, by_def)
    for s in new:
        key = s.definition
        if key is not None:
            olds = by_def.get(key)
            prev = same_text.get(id(s)) or (olds.pop(0) if olds else None)
            recompiled = reannotated and annotated(s.nodes)
            if prev is not None and prev.text is not None and prev.text == s.text \
                    and not recompiled:
                moved.append((prev, s.start - prev.start))  # delta 0: did not move
                continue
            changes.append(Change(s, prev, layout=prev is not None and prev.same_code(s)
                                  and not recompiled))
        else:
            olds = by_code.get(dump(s.nodes))
            if olds:
                prev = olds.pop(0)
                if reannotated and annotated(s.nodes):
                    changes.append(Change(s, prev, annotations=all(
                        isinstance(n, ast.AnnAssign) for n in s.nodes)))
                continue
            changes.append(Change(s))
    # A statement rewritten in place (same names bound: `OPS = {...}` with a new lambda)
    # still has a previous version: the planner moves new code into its live functions.
    by_names: dict[frozenset[str], list[Stmt]] = {}
    for olds in by_code.values():
        for s in olds:
            if s.names:
                by_names.setdefault(s.names, []).append(s)
    for c in changes:
        if c.old is None and c.new.definition is None and by_names.get(c.new.names):
            c.old = by_names[c.new.names].pop(0)
            by_code[dump(c.old.nodes)].remove(c.old)
    for olds in (*by_def.values(), *by_code.values()):
        removed.extend(olds)
    return changes, removed, moved


def _same_text(new: list[Stmt], by_def: dict[Definition, list[Stmt]]) -> dict[int, Stmt]:
    """Several defs of one name (``@f.register(int) def _``): one whose text did not change
    is that old def, wherever it stands now (taken out of `by_def`, by the new one's id);
    the others pair in order."""
    same_text: dict[int, Stmt] = {}
    for s in new:
        olds = by_def.get(s.definition) if s.definition is not None else None
        if olds and s.text is not None:
            for i, o in enumerate(olds):
                if o.text == s.text:
                    same_text[id(s)] = olds.pop(i)
                    break
    return same_text


def whole(module_diff: ModuleDiff) -> ModuleDiff:
    """`module_diff` with every statement of the new source to run, in order: the changed
    ones with their old versions, the others as their own (run again unchanged, see `Change`). What
    left the source still leaves it. An unchanged statement that binds and deletes nothing
    (``register(handler)``, ``print(...)``) is not run again: its effect on the program
    is there already, and later statements read nothing from it."""
    changed = {id(c.new): c for c in module_diff.changes}
    changes = [changed.get(id(s)) or Change(s, s, refresh=True) for s in module_diff.new.stmts
               if id(s) in changed or s.names or s.deleted]
    return ModuleDiff(module_diff.old, module_diff.new, changes, module_diff.removed,
                      module_diff.unchanged, module_diff.shifted, module_diff.reannotated)


def with_refreshes(stmts: list[Stmt], changes: list[Change], live_defs: set[str],
                   dirty: set[str] | frozenset[str] = frozenset()) -> list[Change]:
    """The changes plus the unchanged statements that must run again, in source order.

    A fresh import computes ``DOUBLE = LIMIT * 2`` and ``def clip(x, hi=LIMIT)`` from the
    current LIMIT: when a change rebinds a name, every later statement reading it while it
    runs is run again (and what that rebinds propagates further). A def or class that keeps
    its identity (it exists live: `live_defs`) rebinds nothing. `dirty` are names already
    rebound outside (a class body reads the module's).
    """
    def rebinds(s: Stmt) -> bool:
        definition = s.definition
        return definition is None or definition.name not in live_defs

    if not dirty and not any(rebinds(c.new) for c in changes
                             if not (c.layout or c.annotations)):
        return changes  # body edits only: nothing is rebound, nothing to refresh
    by_stmt = {id(c.new): c for c in changes}
    dirty = set(dirty)
    out: list[Change] = []
    for s in stmts:
        change = by_stmt.get(id(s))
        if change is None or change.layout or change.annotations:
            if not (dirty and s.reads & dirty):
                if change is not None:
                    out.append(change)
                continue
            change = Change(s, s, refresh=True)  # its own previous version: it is unchanged
        out.append(change)
        if rebinds(s):
            dirty |= s.names
    return out


def dirty_names(changes: list[Change], live_defs: set[str]) -> set[str]:
    """Names the changes rebind (definitions that keep their identity rebind nothing)."""
    out: set[str] = set()
    for c in changes:
        definition = c.new.definition
        if not (c.layout or c.annotations) and (definition is None
                                                or definition.name not in live_defs):
            out |= c.new.names
    return out


# -- the ``from __future__`` imports -------------------------------------------------------

ANNOTATIONS = __future__.annotations.compiler_flag  # the one that changes what compiles


def future_flags(stmts: list[Stmt]) -> int:
    """Compiler flags of the module's ``from __future__`` imports (they lead the file)."""
    flags = 0
    for s in stmts:
        futures = [n for n in s.nodes if isinstance(n, ast.ImportFrom)
                   and n.module == "__future__"]
        if not futures and s.kind is not Kind.TEXT:
            break
        for node in futures:
            for alias in node.names:
                feature = getattr(__future__, alias.name, None)
                if feature is not None:
                    flags |= feature.compiler_flag
    return significant(flags)


def significant(flags: int) -> int:
    """Of a module's ``__future__`` flags, those that change how it compiles here: a feature
    mandatory in the running Python (``absolute_import``, ``generator_stop``...) compiles
    the same with or without its import, so adding or removing one is a plain edit."""
    return flags & ~_MANDATORY


def _mandatory() -> int:
    flags = 0
    for name in __future__.all_feature_names:
        feature = getattr(__future__, name)
        mandatory = feature.getMandatoryRelease()
        if mandatory is not None and mandatory <= sys.version_info:
            flags |= feature.compiler_flag
    return flags


_MANDATORY = _mandatory()  # read once: every diff asks (see `diff`)


def annotated(nodes: Sequence[ast.AST]) -> bool:
    """Whether compiling `nodes` depends on the ``annotations`` future import: they hold an
    annotation (a parameter's, a return's, an annotated assignment's), at any depth."""
    for node in nodes:
        for n in ast.walk(node):
            if isinstance(n, ast.AnnAssign) or isinstance(n, ast.arg) and n.annotation \
                    or isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.returns:
                return True
    return False
