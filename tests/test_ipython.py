"""The IPython extension: ``%load_ext hotswap`` updates changed user modules before each
cell of a real InteractiveShell, and ``%hotswap`` controls it."""

from __future__ import annotations

import atexit
import builtins
import itertools
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from hotswap import _ipython

_counter = itertools.count()


class Files:
    """User modules on disk, in a folder on sys.path, with unique names."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.names: list[str] = []

    def new(self, source: str) -> tuple[str, Path]:
        name = f"hs_ipy_{next(_counter)}"
        self.names.append(name)
        path = self.root / f"{name}.py"
        self.write(path, source)
        return name, path

    @staticmethod
    def write(path: Path, source: str) -> None:
        before = path.stat().st_mtime_ns if path.exists() else None
        path.write_text(textwrap.dedent(source))
        # Two saves within one tick of the filesystem clock could share an mtime (and a
        # size): move the clock on, as the seconds between a person's saves would.
        if before is not None and path.stat().st_mtime_ns <= before:
            os.utime(path, ns=(before + 10**9, before + 10**9))


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Files]:
    root = tmp_path / "src"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    f = Files(root)
    yield f
    for name in f.names:
        sys.modules.pop(name, None)


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    config = Config()
    config.HistoryManager.hist_file = ":memory:"  # no history thread, nothing on disk
    main = sys.modules["__main__"]  # the shell puts its own user module there
    names = set(vars(builtins))  # and adds __IPYTHON__ and display to the builtins
    sh = InteractiveShell.instance(config=config)
    try:
        yield sh
    finally:
        sh.extension_manager.unload_extension("hotswap")
        atexit.unregister(sh.atexit_operations)
        InteractiveShell.clear_instance()
        sys.modules["__main__"] = main
        for name in set(vars(builtins)) - names:
            delattr(builtins, name)


def run(shell: InteractiveShell, code: str):
    result = shell.run_cell(textwrap.dedent(code))
    assert result.error_before_exec is None and result.error_in_exec is None, result
    return result


V1 = """
    HISTORY = []

    def f():
        HISTORY.append("v1")
        return "v1"

    class Counter:
        def __init__(self):
            self.n = 0

        def bump(self):
            self.n += 1
            return self.n
"""

V2 = """
    HISTORY = []

    def f():
        HISTORY.append("v2")
        return "v2"

    class Counter:
        def __init__(self):
            self.n = 0

        def bump(self):
            self.n += 10
            return self.n
"""


def test_cells_run_new_code_on_the_same_objects_and_state(shell, files, capsys):
    name, path = files.new(V1)
    run(shell, "%load_ext hotswap")
    run(shell, f"""
        import {name} as m
        from {name} import f as g
        obj = m.Counter()
        obj.bump()
        oid = id(obj)
        m.f()
    """)
    capsys.readouterr()

    files.write(path, V2)
    run(shell, "res = (m.f(), g(), obj.bump(), id(obj) == oid, list(m.HISTORY))")

    assert shell.user_ns["res"] == ("v2", "v2", 11, True, ["v1", "v2", "v2"])
    assert shell.user_ns["obj"].n == 11
    out = capsys.readouterr().out
    assert f"hotswap: updated {name} (2 functions, 1 class)\n" in out

    run(shell, "again = m.f()")  # nothing changed since: nothing applied, nothing printed
    assert capsys.readouterr().out == ""


def test_a_broken_edit_prints_file_and_line_and_the_cell_runs_old_code(shell, files, capsys):
    name, path = files.new(V1)
    run(shell, "%load_ext hotswap")
    run(shell, f"import {name} as m; obj = m.Counter()")
    capsys.readouterr()

    files.write(path, V2.replace('return "v2"', 'return "v2" +'))  # line 6
    result = run(shell, "res = (m.f(), obj.bump())")

    assert result.success and shell.user_ns["res"] == ("v1", 1)
    err = capsys.readouterr().err
    assert err.count(f"{path}:6:") == 1
    assert "the cell runs on the old code" in err and "SyntaxError" in err

    run(shell, "again = m.f()")  # not retried (nor reprinted) until the file changes
    assert capsys.readouterr().err == "" and shell.user_ns["again"] == "v1"

    files.write(path, V2)
    run(shell, "res = (m.f(), obj.bump())")
    assert shell.user_ns["res"] == ("v2", 11)
    capsys.readouterr()

    shell.run_line_magic("hotswap", "")
    status = capsys.readouterr().out
    head, watched = status.splitlines()[:2]
    assert head.startswith("hotswap: on (verbose); ") and head.endswith(" checked before each cell")
    watching = _ipython._LOADED[shell].watcher.modules
    assert name in watching  # the line lists the first ten (sorted), then a count
    assert watched == "  watched: " + ", ".join(watching[:10]) + (
        f", ... ({len(watching) - 10} more)" if len(watching) > 10 else "")
    assert f"updated {name} (2 functions, 1 class)" in status
    assert f"{path}:6:" in status.split("last errors")[1]


def test_without_logging_configured_the_error_is_said_once(shell, files, capsys, caplog,
                                                          monkeypatch):
    name, path = files.new(V1)
    run(shell, "%load_ext hotswap")
    run(shell, f"import {name} as m")
    # No handler anywhere: logging's last resort would print the watcher's record to
    # stderr next to the extension's own line. (Under pytest the root logger has one.)
    monkeypatch.setattr(_ipython.log, "hasHandlers", lambda: False)

    files.write(path, V2.replace('return "v2"', 'return "v2" +'))
    run(shell, "res = m.f()")
    assert capsys.readouterr().err.count(f"{path}:6:") == 1
    assert not [r for r in caplog.records if r.name == "hotswap"]
    assert not _ipython.log.filters  # the filter is gone once the check is over


def test_loading_next_to_autoreload_warns(shell, capsys):
    run(shell, "%load_ext autoreload")
    run(shell, "%load_ext hotswap")
    assert "%autoreload is loaded too" in capsys.readouterr().err


def test_off_pauses_updates_and_on_applies_what_changed_meanwhile(shell, files, capsys):
    name, path = files.new(V1)
    run(shell, "%load_ext hotswap")
    run(shell, f"import {name} as m")
    run(shell, "%hotswap off")

    files.write(path, V2)
    run(shell, "res = m.f()")
    assert shell.user_ns["res"] == "v1"
    shell.run_line_magic("hotswap", "")
    assert "hotswap: off" in capsys.readouterr().out

    run(shell, "%hotswap on")
    run(shell, "res = m.f()")
    assert shell.user_ns["res"] == "v2"
    assert f"hotswap: updated {name}" in capsys.readouterr().out


def test_quiet_hides_the_notes_but_not_the_errors(shell, files, capsys):
    name, path = files.new(V1)
    run(shell, "%load_ext hotswap")
    run(shell, f"import {name} as m")
    run(shell, "%hotswap quiet")
    capsys.readouterr()

    files.write(path, V2)
    run(shell, "res = m.f()")
    assert shell.user_ns["res"] == "v2"
    assert "hotswap" not in capsys.readouterr().out

    files.write(path, textwrap.dedent(V2) + "BOOM = 1 / 0\n")
    run(shell, "res = m.f()")
    captured = capsys.readouterr()
    assert "ZeroDivisionError" in captured.err and "hotswap" not in captured.out

    run(shell, "%hotswap verbose")
    files.write(path, V1)
    run(shell, "res = m.f()")
    assert shell.user_ns["res"] == "v1"
    assert f"hotswap: updated {name}" in capsys.readouterr().out


def test_a_module_imported_after_loading_is_watched(shell, files, capsys):
    run(shell, "%load_ext hotswap")
    name, path = files.new(V1)
    run(shell, f"import {name} as m; obj = m.Counter()")

    files.write(path, V2)
    run(shell, "res = (m.f(), obj.bump())")
    assert shell.user_ns["res"] == ("v2", 10)
    assert f"hotswap: updated {name}" in capsys.readouterr().out


def test_only_user_modules_are_watched(shell, files):
    name, _ = files.new(V1)
    run(shell, "%load_ext hotswap")
    run(shell, f"import json, {name}")
    watched = _ipython._LOADED[shell].watcher.modules

    assert name in watched
    assert "json" not in watched  # standard library
    assert not any(m.split(".")[0] in ("IPython", "traitlets", "pytest") for m in watched)
    assert "__main__" not in watched
    assert not any(m == "hotswap" or m.startswith("hotswap.") for m in watched)


def test_trust_lets_a_refused_file_through(shell, files, capsys):
    name, path = files.new(V1)
    run(shell, "%load_ext hotswap")
    run(shell, f"import {name} as m")
    path.chmod(0o666)  # writable by others: refused by default

    files.write(path, V2)
    run(shell, "res = m.f()")
    assert shell.user_ns["res"] == "v1"
    assert "refused to apply" in capsys.readouterr().err

    run(shell, f"%hotswap trust {files.root}")
    files.write(path, V2.replace('"v2"', '"v3"'))
    run(shell, "res = m.f()")
    assert shell.user_ns["res"] == "v3"


def test_bad_arguments_are_a_usage_error(shell):
    run(shell, "%load_ext hotswap")
    with pytest.raises(UsageError, match="trust PATH"):
        shell.run_line_magic("hotswap", "sideways")


def test_an_internal_failure_does_not_stop_the_cell(shell, files, capsys, monkeypatch):
    run(shell, "%load_ext hotswap")

    def fail() -> list:
        raise RuntimeError("boom")

    monkeypatch.setattr(_ipython._LOADED[shell].watcher, "poll", fail)
    run(shell, "res = 1 + 1")
    assert shell.user_ns["res"] == 2
    assert "RuntimeError: boom" in capsys.readouterr().err


def test_unload_removes_the_hook_and_the_magic(shell, files):
    name, path = files.new(V1)
    run(shell, "%load_ext hotswap")
    run(shell, f"import {name} as m")
    run(shell, "%unload_ext hotswap")

    assert not any(getattr(cb, "__self__", None).__class__ is _ipython.Extension
                   for cb in shell.events.callbacks["pre_run_cell"])
    assert shell.find_line_magic("hotswap") is None
    files.write(path, V2)
    run(shell, "res = m.f()")
    assert shell.user_ns["res"] == "v1"

    run(shell, "%load_ext hotswap")  # loading again applies what changed meanwhile
    run(shell, "%reload_ext hotswap")  # and reloading does not register twice
    hooks = [cb for cb in shell.events.callbacks["pre_run_cell"]
             if getattr(cb, "__self__", None).__class__ is _ipython.Extension]
    assert len(hooks) == 1
    run(shell, "res = m.f()")
    assert shell.user_ns["res"] == "v2"


def test_importing_hotswap_does_not_import_ipython():
    code = "import sys, hotswap; print('IPython' in sys.modules, 'hotswap._ipython' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["False", "False"]
