"""Watcher: poll what changed on disk, apply it as one transaction, in a thread or on a signal.

A refusal does not stall other modules (issue 19): a watcher retries a refused module
with every later save while the modules that do not import it keep updating; each time,
the report and the log say which module is held back and why."""

from __future__ import annotations

import itertools
import logging
import os
import pathlib
import signal
import sys
import time

import pytest

import hotswap
import hotswap._watch as watch_mod

from helpers.files import bump_mtime
from helpers.fresh_tree import Tree
from helpers.sources import V1, V2, V3
from helpers.waiting import wait_for

ENV = "HOTSWAP_WATCH"

_counter = itertools.count()


@pytest.fixture
def read_spy(monkeypatch):
    """Every path the watcher reads (it reads through its `_read`)."""
    reads: list[str] = []
    original = watch_mod._read

    def spy(path):
        reads.append(str(path))
        return original(path)

    monkeypatch.setattr(watch_mod, "_read", spy)
    return reads


@pytest.fixture
def tx_spy(monkeypatch):
    """Every transaction the watcher starts: the list of module names it was given."""
    calls: list[list[str]] = []
    original = watch_mod.transaction

    def spy(targets, **kwargs):
        calls.append([getattr(t, "__name__", t) for t in targets])
        return original(targets, **kwargs)

    monkeypatch.setattr(watch_mod, "transaction", spy)
    return calls


@pytest.fixture(autouse=True)
def no_watcher_left_behind():
    assert ENV not in os.environ
    yield
    assert ENV not in os.environ


# -- poll ------------------------------------------------------------------------------


def test_poll_applies_changed_function_body_and_returns_report(modules):
    mf = modules(V1)
    f = mf.module.value
    w = hotswap.Watcher(mf.module)
    assert w.files == {str(mf.path): mf.name}
    assert w.poll() == []

    mf.write(V2)
    reports = w.poll()

    assert [r.module for r in reports] == [mf.name]
    report = reports[0]
    assert isinstance(report, hotswap.Report)
    assert report.changed is True
    assert f"{mf.name}.value" in report.functions
    assert report.generation == 1
    assert mf.module.value is f
    assert f() == "v2 changed"
    assert hotswap.generation(mf.module) == 1
    assert list(w.reports) == reports
    assert w.errors == type(w.errors)()  # empty
    assert w.poll() == []
    assert hotswap.generation(mf.module) == 1


def test_targets_given_as_dotted_name(modules):
    mf = modules(V1)
    w = hotswap.Watcher(mf.name)
    assert w.files == {str(mf.path): mf.name}
    mf.write(V2)
    assert [r.module for r in w.poll()] == [mf.name]
    assert mf.module.value() == "v2 changed"


def test_poll_of_unchanged_tree_reads_nothing_and_updates_nothing(modules, read_spy, tx_spy):
    mfs = [modules(V1) for _ in range(3)]
    w = hotswap.Watcher(pathlib.Path(modules.root))
    assert set(w.files) >= {str(mf.path) for mf in mfs}
    w.poll()
    read_spy.clear()
    tx_spy.clear()

    for _ in range(3):
        assert w.poll() == []

    watched = set(w.files)
    assert [p for p in read_spy if p in watched] == []
    assert tx_spy == []
    assert all(hotswap.generation(mf.module) == 0 for mf in mfs)


def test_touch_with_same_content_does_nothing(modules, read_spy, tx_spy):
    mf = modules(V1)
    f = mf.module.value
    w = hotswap.Watcher(mf.module)

    bump_mtime(mf.path)
    assert w.poll() == []

    assert str(mf.path) in read_spy  # the stat moved, so the content was looked at
    assert tx_spy == []  # ... and found identical: no update
    assert hotswap.generation(mf.module) == 0
    assert f() == "v1"
    read_spy.clear()
    assert w.poll() == []
    assert read_spy == []  # the new stat was remembered


def test_identical_content_resaved_does_nothing(modules, tx_spy):
    mf = modules(V1)
    w = hotswap.Watcher(mf.module)

    mf.write(V1)
    bump_mtime(mf.path)  # whatever the clock granularity, the stat moved
    assert w.poll() == []
    assert tx_spy == []
    assert hotswap.generation(mf.module) == 0
    assert list(w.reports) == []

    mf.write(V2)  # and the watcher still sees a real edit afterwards
    assert [r.module for r in w.poll()] == [mf.name]
    assert mf.module.value() == "v2 changed"


def test_editor_style_save_by_rename_applies(modules):
    mf = modules(V1)
    f = mf.module.value
    w = hotswap.Watcher(mf.module)
    old = os.stat(mf.path)

    # same size and same mtime as the original: only the inode tells them apart
    new_source = V1.replace('"v1"', '"v9"')
    assert len(new_source.encode()) == old.st_size
    tmp = mf.path.with_name(mf.path.name + ".swp")
    tmp.write_text(new_source)
    os.utime(tmp, ns=(old.st_atime_ns, old.st_mtime_ns))
    os.replace(tmp, mf.path)
    assert os.stat(mf.path).st_ino != old.st_ino

    reports = w.poll()
    assert [r.module for r in reports] == [mf.name]
    assert f() == "v9"
    assert mf.module.value is f


def test_a_file_emptied_by_an_editor_saving_in_place_is_not_applied(modules):
    """An editor that saves in place empties the file, then writes it. A poll between the
    two read an empty module, valid Python, and removed every name: a forked pool worker
    of test_workers once called the module's function in that window and found none. A
    file just emptied now waits for a later poll; one left empty longer was emptied on
    purpose, and is applied."""
    mf = modules(V1)
    f = mf.module.value
    w = hotswap.Watcher(mf.module)
    mf.path.write_bytes(b"")  # the editor's first step
    assert w.poll() == []
    assert mf.module.value is f and f() == "v1"
    mf.write(V2)  # its second
    assert [r.module for r in w.poll()] == [mf.name]
    assert f() == "v2 changed"

    mf.path.write_bytes(b"")
    past = time.time_ns() - 2 * watch_mod.EMPTY_SETTLES_NS
    os.utime(mf.path, ns=(past, past))  # emptied a while ago: on purpose
    assert [r.module for r in w.poll()] == [mf.name]
    assert not hasattr(mf.module, "value")


def test_file_rewritten_during_read_is_left_for_next_poll(modules, monkeypatch, tx_spy):
    mf = modules(V1)
    f = mf.module.value
    w = hotswap.Watcher(mf.module)
    original = watch_mod._read
    raced = []

    def racing_read(path):
        data = original(path)
        if str(path) == str(mf.path) and not raced:
            raced.append(True)
            mf.write(V3)  # another save lands while we were reading V2
            bump_mtime(mf.path)
        return data

    mf.write(V2)
    monkeypatch.setattr(watch_mod, "_read", racing_read)
    assert w.poll() == []
    assert raced == [True]
    assert tx_spy == []
    assert f() == "v1"

    reports = w.poll()
    assert [r.module for r in reports] == [mf.name]
    assert f() == "v3 changed again"


BROKEN = """
def value():
    return "v2"

def broken(:
    pass
"""
BROKEN_LINE = 5  # after dedent, the first line of the file is the empty one


def test_broken_file_logs_keeps_old_code_and_is_not_retried(modules, caplog, tx_spy):
    caplog.set_level(logging.ERROR, logger="hotswap")
    mf = modules(V1)
    f = mf.module.value
    w = hotswap.Watcher(mf.module)

    mf.write(BROKEN)
    assert mf.path.read_text().splitlines()[BROKEN_LINE - 1].startswith("def broken(:")
    assert w.poll() == []

    assert f() == "v1"
    assert hotswap.generation(mf.module) == 0
    assert len(w.errors) == 1
    err = w.errors[0]
    assert isinstance(err, hotswap.UpdateError)
    assert err.filename == str(mf.path)
    assert err.lineno == BROKEN_LINE
    errors = [r for r in caplog.records if r.name == "hotswap" and r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert f"{mf.path}:{BROKEN_LINE}" in errors[0].getMessage()
    assert len(tx_spy) == 1

    # not retried: neither on the next poll nor when the same broken bytes are touched
    assert w.poll() == []
    bump_mtime(mf.path)
    assert w.poll() == []
    assert len(w.errors) == 1
    assert len(tx_spy) == 1
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1
    assert f() == "v1"

    # the next good save applies
    mf.write(V3)
    reports = w.poll()
    assert [r.module for r in reports] == [mf.name]
    assert f() == "v3 changed again"
    assert len(w.errors) == 1


def test_failing_check_leaves_old_code_and_logs(modules, caplog):
    caplog.set_level(logging.ERROR, logger="hotswap")
    mf = modules(V1)
    mod = mf.module
    f = mod.value
    seen = []

    def check():
        seen.append(mod.value())
        raise RuntimeError("health check said no")

    w = hotswap.Watcher(mod, check=check)
    mf.write(V2)
    assert w.poll() == []

    assert seen == ["v2 changed"]  # the check ran against the new code...
    assert f() == "v1"  # ...and its failure rolled it back
    assert mod.value is f
    assert hotswap.generation(mod) == 0
    assert len(w.errors) == 1
    assert "health check said no" in str(w.errors[0])
    logged = [r.getMessage() for r in caplog.records
              if r.name == "hotswap" and r.levelno == logging.ERROR]
    assert len(logged) == 1 and "health check said no" in logged[0]

    assert w.poll() == []  # not retried
    assert seen == ["v2 changed"]


def test_passing_check_lets_the_update_through(modules):
    mf = modules(V1)
    mod = mf.module
    seen = []
    w = hotswap.Watcher(mod, check=lambda: seen.append(mod.value()))
    mf.write(V2)
    assert [r.module for r in w.poll()] == [mf.name]
    assert seen == ["v2 changed"]
    assert mod.value() == "v2 changed"


# -- packages: one transaction, dependency order -----------------------------------------


TRACE = """
ORDER = []
"""


def _pkg_sources(pkg: str, trace: str, style: str, v: str) -> dict[str, str]:
    if style == "relative":
        imp_a, ref_a = "from . import a", "a"
        imp_b, ref_b = "from . import b", "b"
    else:
        imp_a, ref_a = f"import {pkg}.a", f"{pkg}.a"
        imp_b, ref_b = f"import {pkg}.b", f"{pkg}.b"
    return {
        "a": (f"import {trace}\n"
              f"{trace}.ORDER.append('a{v}')\n\n"
              f"def value():\n"
              f"    return 'a{v}'\n"),
        "b": (f"import {trace}\n"
              f"{imp_a}\n"
              f"{trace}.ORDER.append('b{v}')\n\n"
              f"def value():\n"
              f"    return {ref_a}.value() + '+b{v}'\n"),
        "c": (f"import {trace}\n"
              f"{imp_b}\n"
              f"{trace}.ORDER.append('c{v}')\n\n"
              f"def value():\n"
              f"    return {ref_b}.value() + '+c{v}'\n"),
    }


def make_package(modules, style: str = "absolute", listed: str = "dependency"):
    """A package with a, b (imports a), c (imports b), and a separate trace module whose
    ORDER list each of them appends to at module level.

    The import system leaves sys.modules in the order imports completed (a, b, c), which
    is also the order a watcher finds the files in; `listed="reversed"` moves them to
    c, b, a so that only a real dependency sort can stage them in the right order."""
    trace = modules(TRACE)
    pkg = f"hs_wpkg_{next(_counter)}"
    modules.created.append(pkg)
    src = _pkg_sources(pkg, trace.name, style, "1")
    mfs = {k: modules(src[k], name=f"{pkg}.{k}") for k in "abc"}
    if listed == "reversed":
        for k in "cba":
            sys.modules[mfs[k].name] = sys.modules.pop(mfs[k].name)
    assert trace.module.ORDER == ["a1", "b1", "c1"]
    assert mfs["c"].module.value() == "a1+b1+c1"
    return pkg, trace, mfs


@pytest.mark.parametrize("listed", ["dependency", "reversed"])
@pytest.mark.parametrize("style", ["absolute", "relative"])
def test_package_edits_apply_in_one_poll_in_dependency_order(modules, tx_spy, style, listed):
    pkg, trace, mfs = make_package(modules, style, listed)
    w = hotswap.Watcher(pkg)
    assert {str(mf.path) for mf in mfs.values()} <= set(w.files)
    funcs = {k: mf.module.value for k, mf in mfs.items()}

    new = _pkg_sources(pkg, trace.name, style, "2")
    for k in "abc":
        mfs[k].write(new[k])
    reports = w.poll()

    assert len(tx_spy) == 1 and sorted(tx_spy[0]) == sorted(mf.name for mf in mfs.values())
    assert sorted(r.module for r in reports) == sorted(mf.name for mf in mfs.values())
    assert all(r.changed for r in reports)
    # staging ran each module's changed statement: a before b (imports a) before c
    assert trace.module.ORDER == ["a1", "b1", "c1", "a2", "b2", "c2"]
    assert mfs["c"].module.value() == "a2+b2+c2"
    for k, mf in mfs.items():
        assert mf.module.value is funcs[k]
        assert hotswap.generation(mf.module) == 1


def test_package_syntax_error_in_one_module_holds_back_it_and_its_imports(modules, caplog):
    caplog.set_level(logging.ERROR, logger="hotswap")
    pkg, trace, mfs = make_package(modules)
    w = hotswap.Watcher(pkg)

    new = _pkg_sources(pkg, trace.name, "absolute", "2")
    new["b"] = new["b"].replace("def value():", "def value(:")
    for k in "abc":
        mfs[k].write(new[k])
    # b imports a (whose old names its old code may call) and c imports b: all held back
    assert w.poll() == []

    assert mfs["a"].module.value() == "a1"
    assert mfs["b"].module.value() == "a1+b1"
    assert mfs["c"].module.value() == "a1+b1+c1"
    assert [hotswap.generation(mfs[k].module) for k in "abc"] == [0, 0, 0]
    assert len(w.errors) == 1
    assert w.errors[0].filename == str(mfs["b"].path)
    assert any(str(mfs["b"].path) in r.getMessage() for r in caplog.records
               if r.levelno == logging.ERROR)


def test_fixing_the_broken_module_applies_the_whole_pending_edit(modules):
    """The good edits refused together with a broken file must not be forgotten: once the
    broken file is fixed, the program catches up with every file."""
    pkg, trace, mfs = make_package(modules)
    w = hotswap.Watcher(pkg)

    new = _pkg_sources(pkg, trace.name, "absolute", "2")
    for k in "abc":
        mfs[k].write(new[k].replace("def value():", "def value(:") if k == "b" else new[k])
    assert w.poll() == []
    assert mfs["c"].module.value() == "a1+b1+c1"

    mfs["b"].write(new["b"])
    reports = w.poll()

    assert mfs["c"].module.value() == "a2+b2+c2"
    assert sorted(r.module for r in reports) == sorted(mfs[k].name for k in "abc")


def test_module_imported_later_in_watched_package_is_picked_up(modules):
    first = modules(V1, name=f"hs_wpkg_{next(_counter)}.first")
    pkg = first.name.rpartition(".")[0]
    modules.created.append(pkg)
    w = hotswap.Watcher(sys.modules[pkg])
    assert str(first.path) in w.files

    late = modules(V1, name=f"{pkg}.late")
    f = late.module.value
    assert w.files[str(late.path)] == late.name

    late.write(V2)
    reports = w.poll()
    assert [r.module for r in reports] == [late.name]
    assert f() == "v2 changed"
    assert first.module.value() == "v1"


# -- directories -------------------------------------------------------------------------


def test_directory_target_watches_modules_loaded_from_it(modules):
    before = modules(V1)
    w = hotswap.Watcher(pathlib.Path(modules.root))
    after = modules(V1)  # imported after the Watcher was made
    f_before, f_after = before.module.value, after.module.value

    files = w.files
    assert files[str(before.path)] == before.name
    assert files[str(after.path)] == after.name

    before.write(V2)
    after.write(V3)
    reports = w.poll()

    assert sorted(r.module for r in reports) == sorted([before.name, after.name])
    assert f_before() == "v2 changed"
    assert f_after() == "v3 changed again"


def test_directory_given_as_str_watches_only_inside(modules):
    outside = modules(V1)
    inside = modules(V1, name=f"hs_wpkg_{next(_counter)}.inside")
    pkg = inside.name.rpartition(".")[0]
    modules.created.append(pkg)
    directory = str(modules.root / pkg)
    assert os.sep in directory

    w = hotswap.Watcher(directory)
    later = modules(V1, name=f"{pkg}.later")
    assert str(inside.path) in w.files
    assert str(later.path) in w.files
    assert str(outside.path) not in w.files

    outside.write(V2)
    inside.write(V2)
    later.write(V3)
    reports = w.poll()

    assert sorted(r.module for r in reports) == sorted([inside.name, later.name])
    assert inside.module.value() == "v2 changed"
    assert later.module.value() == "v3 changed again"
    assert outside.module.value() == "v1"


# -- background thread and signals -------------------------------------------------------


def test_start_polls_in_background_and_stop_ends_it(modules):
    mf = modules(V1)
    f = mf.module.value
    w = hotswap.Watcher(mf.module)
    try:
        assert w.start(interval=0.05) is w
        assert w.running
        assert ENV in os.environ
        mf.write(V2)
        assert wait_for(lambda: f() == "v2 changed", 10)
        assert wait_for(lambda: any(r.module == mf.name for r in w.reports), 5)
    finally:
        w.stop()
    assert not w.running
    assert ENV not in os.environ

    mf.write(V3)
    time.sleep(0.3)  # the thread is joined: nothing can apply this any more
    assert f() == "v2 changed"
    assert [r.module for r in w.poll()] == [mf.name]  # polling by hand still works
    assert f() == "v3 changed again"


@pytest.fixture
def sigusr1():
    old = signal.getsignal(signal.SIGUSR1)
    yield signal.SIGUSR1
    signal.signal(signal.SIGUSR1, old)


def test_on_signal_applies_only_when_the_signal_arrives(modules, sigusr1):
    mf = modules(V1)
    f = mf.module.value
    w = hotswap.Watcher(mf.module)
    try:
        w.start(None)
        assert w.on_signal(sigusr1) is w
        assert w.running

        mf.write(V2)
        time.sleep(0.4)  # no signal, no interval: nothing may be applied meanwhile
        assert f() == "v1"
        assert list(w.reports) == []

        os.kill(os.getpid(), sigusr1)
        assert wait_for(lambda: f() == "v2 changed", 10)
        # the watcher thread commits the update (its generation) just after applying it
        assert wait_for(lambda: hotswap.generation(mf.module) == 1, 10)

        mf.write(V3)  # the watcher keeps waiting for the next signal
        time.sleep(0.3)
        assert f() == "v2 changed"
        os.kill(os.getpid(), sigusr1)
        assert wait_for(lambda: f() == "v3 changed again", 10)
    finally:
        w.stop()
    assert not w.running


def test_on_signal_starts_a_signal_only_thread(modules, sigusr1):
    mf = modules(V1)
    f = mf.module.value
    w = hotswap.Watcher(mf.module)
    assert not w.running
    try:
        w.on_signal(sigusr1)
        assert w.running
        mf.write(V2)
        time.sleep(0.3)
        assert f() == "v1"
        os.kill(os.getpid(), sigusr1)
        assert wait_for(lambda: f() == "v2 changed", 10)
    finally:
        w.stop()
    assert not w.running


# -- a refused module does not stall the others ----------------------------------------


def x_source(v: int) -> str:
    return f"def value():\n    return {v}\n"


# valid for a fresh process; refused live: the new __future__ flag changes compilation
REFUSED = "from __future__ import barry_as_FLUFL\ndef value() -> int:\n    return 2\n"


def test_a_refused_module_is_retried_while_the_others_keep_updating(
        tree: Tree, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hotswap")
    tree.write(x=x_source(1), y="def value() -> int:\n    return 1\n",
               z="from .y import value as y_value\ndef value():\n    return y_value() + 10\n")
    x, y, z = tree.load("x"), tree.load("y"), tree.load("z")
    w = hotswap.Watcher(tree.package)
    tree.write(y=REFUSED, z="from .y import value as y_value\n"
                            "def value():\n    return y_value() + 20\n")
    assert w.poll() == [] and y.value() == 1 and z.value() == 11
    for v in (2, 3):
        caplog.clear()
        tree.write(x=x_source(v))
        reports = w.poll()
        assert [r.module for r in reports] == [x.__name__] and x.value() == v
        held = [n for n in reports[0].notes if n.startswith("held back")]
        assert len(held) == 2 and "__future__" in held[0] and y.__name__ in held[0]
        assert f"{z.__name__} keeps its old code (it is linked by imports to {y.__name__}" \
            in held[1]
        logged = " ".join(r.getMessage() for r in caplog.records)
        assert y.__name__ in logged and "__future__" in logged and z.__name__ in logged
        assert y.value() == 1 and z.value() == 11
        assert tree.live("pkg.x.value()") == tree.fresh("pkg.x.value()")
    tree.write(y="def value() -> int:\n    return 3\n")  # back to a source it can apply
    reports = w.poll()
    assert sorted(r.module for r in reports) == sorted([y.__name__, z.__name__])
    assert tree.live("[pkg.x.value(), pkg.y.value(), pkg.z.value()]") == \
        tree.fresh("[pkg.x.value(), pkg.y.value(), pkg.z.value()]")


def test_a_failed_check_still_holds_back_the_whole_edit(tree: Tree) -> None:
    tree.write(x=x_source(1), y=x_source(1))
    x, y = tree.load("x"), tree.load("y")
    w = hotswap.Watcher(tree.package, check=lambda: 1 / (y.value() - 2))
    tree.write(x=x_source(5), y=x_source(2))
    assert w.poll() == []
    assert (x.value(), y.value()) == (1, 1) and len(w.errors) == 1


def test_a_module_the_refused_one_imports_is_held_back_too(tree: Tree) -> None:
    # one edit renames b.helper to b.assist and makes a call it, but a's source is refused
    tree.write(b="def helper():\n    return 'old helper'\n",
               a="from . import b\ndef run():\n    return b.helper()\n",
               c="def value():\n    return 1\n")
    a, b, c = tree.load("a"), tree.load("b"), tree.load("c")
    w = hotswap.Watcher(tree.package)
    tree.write(b="def assist():\n    return 'new assist'\n",
               a="from . import b\ndef run():\n    return b.assist()\n" + REFUSED,
               c="def value():\n    return 2\n")
    reports = w.poll()
    # b is held with a: applying it alone would leave the old a.run calling a removed name
    assert [r.module for r in reports] == [c.__name__] and c.value() == 2
    held = [n for n in reports[0].notes if n.startswith("held back")]
    assert any(f"{b.__name__} keeps its old code (it is linked by imports to {a.__name__}"
               in n for n in held)
    assert a.run() == "old helper" and hasattr(b, "helper") and not hasattr(b, "assist")
    tree.write(a="from . import b\ndef run():\n    return b.assist()\n")  # fixed
    reports = w.poll()
    assert sorted(r.module for r in reports) == sorted([a.__name__, b.__name__])
    assert tree.live("pkg.a.run()") == tree.fresh("pkg.a.run()") == "new assist"
