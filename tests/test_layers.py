"""The package's imports run one way, in pipeline order, and its functions stay short.

`LAYERS` is the one table of the package's layers, from the user's entry points down to
the leaves: a module may import modules of its own layer or of a layer below it, never
one above, and the module import graph has no cycle. The graph is read from the source
(every ``import`` and ``from ... import`` statement, at module level and inside
functions, since those run too), not from what a run happens to load.

Imports under ``if TYPE_CHECKING:`` are left out of both checks: they never run, and
they name only types for annotations (``_derive`` annotates with `_stage.Staged`), so
they may point upward. Imports by name at run time (`importlib.import_module`) are the
lazy public names of ``hotswap/__init__`` and the modules `_warm` loads ahead of the
first update; a test of their own checks that they point downward too.

The module table of docs/architecture.md gives each module's layer in the same words and
order; `test_docs_table_agrees` keeps the two in step.

`LONG_FUNCTIONS` lists the functions allowed over `MAX_LINES` lines, each with why; every
other function of the package is at most that long (`test_functions_are_short`).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "hotswap"

# Layers, top to bottom, each with its modules (dotted names below ``hotswap``; "" is the
# package itself, ``name.*`` a package with every module in it).
LAYERS: list[tuple[str, list[str]]] = [
    ("entry", ["__main__"]),
    ("demos", ["demos.*"]),  # clients of the public API, as a user's program is
    ("api", [""]),
    ("front ends", ["_cli", "_ipython", "dask.*"]),
    ("watching", ["_watch", "_warm", "_trust"]),
    ("engine", ["_engine"]),
    ("planning", ["_plan"]),
    ("staging", ["_stage.*", "_fresh", "_inputs", "_readers", "_mutators"]),
    ("registries", ["_registries"]),
    ("surgery", ["_patch.*", "_derive", "_records", "_frameworks.*", "_stale", "_own", "_frames",
                 "_apply", "_gil", "_park", "_imports"]),
    ("operations", ["_ops"]),
    ("diff and heap", ["_diff", "_heap"]),
    ("leaves", ["_names", "_safe", "_sources", "_report", "_errors", "_frozen", "_scan",
                "_log", "_plain"]),
]



def _parse(text: str) -> ast.Module:
    """`ast.parse`, asked again (up to five times) on CPython's spurious 3.11
    ``SystemError`` (gh-106905: a warm-up thread left by an earlier test may be parsing at
    the same moment; once, twice in a row was seen under ``-n 2``)."""
    for _ in range(4):
        try:
            return ast.parse(text)
        except SystemError:
            pass
    return ast.parse(text)

def module_files() -> dict[str, Path]:
    """Every module of the package, by dotted name below ``hotswap`` ("" the package)."""
    out: dict[str, Path] = {}
    # a module compiled from C is known by its stub (`_scan.pyi`, beside `_scan.c`)
    stubs = [p for p in PACKAGE.rglob("*.pyi") if not p.with_suffix(".py").exists()]
    for path in sorted([*PACKAGE.rglob("*.py"), *stubs]):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = module_files()


def layer_of(module: str) -> int:
    """The index in `LAYERS` of `module`'s layer (an exact name beats a package's ``.*``)."""
    best: tuple[int, int] | None = None  # (length of the pattern matched, layer)
    for index, (_, patterns) in enumerate(LAYERS):
        for pattern in patterns:
            if pattern.endswith(".*"):
                stem = pattern[:-2]
                matched = module == stem or module.startswith(stem + ".")
            else:
                matched = module == pattern
            if matched and (best is None or len(pattern) > best[0]):
                best = (len(pattern), index)
    assert best is not None, (
        f"hotswap.{module} is in no layer: add it to LAYERS in tests/test_layers.py (at or "
        "below every module importing it, at or above every module it imports) and give "
        "it a row in docs/architecture.md's module table")
    return best[1]


def _is_type_checking(test: ast.expr) -> bool:
    return "TYPE_CHECKING" in ast.unparse(test)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    """The package modules a ``from ... import`` names: a submodule imported by name
    (``from . import _derive``), else the module the names come from."""
    if node.level:
        base = module.split(".") if module else []
        if not is_package:
            base = base[:-1]
        base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
        source = ".".join(base + ([node.module] if node.module else []))
    elif node.module == "hotswap" or (node.module or "").startswith("hotswap."):
        source = (node.module or "").removeprefix("hotswap").removeprefix(".")
    else:
        return []
    out = []
    for alias in node.names:
        sub = f"{source}.{alias.name}" if source else alias.name
        out.append(sub if sub in MODULES else source)
    return out


def imports(module: str) -> set[str]:
    """The package modules `module` imports when it runs (TYPE_CHECKING blocks left out)."""
    path = MODULES[module]
    tree = _parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "hotswap" or alias.name.startswith("hotswap."):
                    found.add(alias.name.removeprefix("hotswap").removeprefix("."))
        elif isinstance(node, ast.ImportFrom):
            found.update(m for m in _resolve(module, path.name == "__init__.py", node)
                         if m in MODULES)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found.discard(module)
    return found


def graph() -> dict[str, set[str]]:
    return {m: imports(m) for m in MODULES}


def _name(module: str) -> str:
    return f"hotswap.{module}" if module else "hotswap"


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer_of(module)


def test_no_import_goes_up() -> None:
    upward = [f"{_name(m)} ({LAYERS[layer_of(m)][0]}) imports {_name(t)} "
              f"({LAYERS[layer_of(t)][0]})"
              for m, targets in graph().items() for t in sorted(targets)
              if layer_of(t) < layer_of(m)]
    assert upward == []


def test_no_cycle() -> None:
    edges = graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []
    cycles: list[str] = []

    def walk(m: str) -> None:
        state[m] = 1
        path.append(m)
        for t in sorted(edges[m]):
            if state.get(t) == 1:
                cycles.append(" -> ".join(map(_name, path[path.index(t):] + [t])))
            elif t not in state:
                walk(t)
        path.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            walk(m)
    assert cycles == []


def test_the_check_sees_upward_and_circular_imports() -> None:
    """The checks above would fail on the two knots this table was made to untie."""
    heap = ast.parse("def f():\n    from . import _FROZEN_AT_IMPORT\n")
    node = heap.body[0].body[0]  # type: ignore[attr-defined]
    assert _resolve("_heap", False, node) == [""]
    assert layer_of("") < layer_of("_heap")
    classes = ast.parse("from .core import Stage\nfrom .._stage import Stage\n")
    assert _resolve("_patch.classes", False, classes.body[1]) == ["_stage"]  # type: ignore[arg-type]
    assert layer_of("_stage") < layer_of("_patch.classes")
    assert _resolve("_stage.classes", False, classes.body[0]) == ["_stage.core"]  # type: ignore[arg-type]


def test_imports_by_name_go_down() -> None:
    """The imports done with `importlib.import_module`: the public names ``hotswap``
    loads on first use, and the modules the warm-up loads ahead of the first update."""
    import hotswap
    from hotswap import _warm

    for target in hotswap._LAZY.values():
        assert layer_of(target.removeprefix(".")) >= layer_of(""), target
    for target in _warm._LATE:
        if target.startswith("."):
            assert layer_of(target.removeprefix(".")) >= layer_of("_warm"), target


_ROW = re.compile(r"^\| (`[^|]*) \| ([^|]+) \|")


def docs_layers() -> list[tuple[str, str]]:
    """(module, layer) of each row of docs/architecture.md's module table, in order;
    a ``name/`` row stands for a package and every module in it."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = text.split("## Every module, in pipeline order", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in table.splitlines():
        match = _ROW.match(line)
        if match:
            name = re.match(r"`([^`]+)`", match.group(1)).group(1)  # type: ignore[union-attr]
            rows.append((name, match.group(2).strip()))
    return rows


def _covered(row: str) -> list[str]:
    if row.endswith("/"):
        stem = row[:-1].replace("/", ".")
        return [m for m in MODULES if m == stem or m.startswith(stem + ".")]
    name = "" if row == "__init__" else row.removesuffix(".py").replace("/", ".")
    return [name] if name in MODULES else []


def test_docs_table_agrees() -> None:
    rows = docs_layers()
    names = [layer for layer, _ in LAYERS]
    seen: dict[str, str] = {}
    previous = 0
    for row, layer in rows:
        assert layer in names, f"docs/architecture.md: {row}: no layer named {layer!r}"
        index = names.index(layer)
        assert index >= previous, f"docs/architecture.md: {row} is listed above its layer"
        previous = index
        covered = _covered(row)
        assert covered, f"docs/architecture.md: {row} names no module"
        for module in covered:
            seen.setdefault(module, layer)
            assert LAYERS[layer_of(module)][0] == layer, \
                f"docs/architecture.md puts {_name(module)} in {layer!r}"
    missing = sorted(set(MODULES) - set(seen))
    assert missing == [], f"docs/architecture.md's module table lacks a row for {missing}"


MAX_LINES = 60
# Functions allowed over MAX_LINES, by dotted name below ``hotswap``, each with why.
LONG_FUNCTIONS = {
    "demos.game._play": "the demo's script, a straight sequence read as its output reads",
    "demos.service._play": "the demo's script, a straight sequence read as its output reads",
}


def long_in(tree: ast.AST, prefix: str = "") -> dict[str, int]:
    """The functions of `tree` (methods and nested functions included) over `MAX_LINES`
    lines, decorators and docstring included, by dotted name after `prefix`."""
    out: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                length = (child.end_lineno or child.lineno) - first + 1
                if length > MAX_LINES:
                    out[prefix + child.name] = length
                visit(child, prefix + child.name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            else:
                visit(child, prefix)

    visit(tree, prefix)
    return out


def long_functions() -> dict[str, int]:
    """Every function of the package over `MAX_LINES` lines, with its length."""
    out: dict[str, int] = {}
    for module, path in MODULES.items():
        out.update(long_in(_parse(path.read_text(encoding="utf-8")),
                           f"{module}." if module else ""))
    return out


def test_functions_are_short() -> None:
    """A function a reader can hold in their head: over `MAX_LINES` lines only when
    listed in `LONG_FUNCTIONS`, with why, and saying so in its docstring."""
    found = long_functions()
    assert {name: n for name, n in found.items() if name not in LONG_FUNCTIONS} == {}
    assert sorted(set(LONG_FUNCTIONS) - set(found)) == [], "no longer long: unlist them"


def test_long_functions_are_measured() -> None:
    """Methods and nested functions count; decorators count; a function of exactly
    `MAX_LINES` lines does not."""
    body = "    x = 1\n" * (MAX_LINES - 1)
    source = (f"def ok():\n{body}"
              f"class C:\n    @staticmethod\n    def m():\n" + body.replace("    ", "        ")
              + f"def outer():\n    def inner():\n{body.replace('    ', '        ')}")
    assert long_in(ast.parse(source), "mod.") == {"mod.C.m": MAX_LINES + 1,
                                                  "mod.outer": MAX_LINES + 1}


# The private words of the code that a newcomer meets: each has a glossary entry.
PRIVATE_WORDS = ["rider", "follower", "twin", "family", "taker", "handed", "park", "root",
                 "shell", "canonical", "holder", "guards", "stale", "layer", "kind", "body",
                 "lend", "planner"]


def test_private_words_are_in_the_glossary() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    glossary = text.split("## Glossary", 1)[1]
    entries = re.findall(r"^\*\*([^*]+)\*\*", glossary, re.M)
    words = {w.strip() for entry in entries for w in re.split(r"[,/]", entry)}
    assert sorted(w for w in PRIVATE_WORDS if not any(x.split()[0] == w for x in words)) == []
