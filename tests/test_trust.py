"""Who may change the code: the watcher applies a changed file only if the file and its
directory belong to this process's user (or root) and are writable by no one else, unless
the path is trusted explicitly. Symlinks are judged by where they really point.

These tests run as root (here and in CI), so real `os.chown` to another user works; the
injectable `stat_fn` of `Trust` fakes ownership through the same code path.
"""

from __future__ import annotations

import itertools
import logging
import os
import stat
import sys
from pathlib import Path

import pytest

import hotswap
from hotswap import _watch
from hotswap._trust import Trust

NOBODY = 65534  # a real second user: the tests run as root, so chown to it works

_counter = itertools.count()

V1 = """
def value():
    return "v1"
"""

V2 = """
def value():
    return "v2 changed"
"""

V3 = """
def value():
    return "v3 changed again"
"""


# -- helpers -------------------------------------------------------------------------------


def bump_mtime(path: os.PathLike[str] | str) -> None:
    """Move the stat whatever the clock granularity (follows symlinks)."""
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def write(path: os.PathLike[str] | str, source: str) -> None:
    Path(path).write_text(source)
    bump_mtime(path)


def secure(path: Path) -> None:
    """The normal safe layout, whatever the umask: file 0o644, its directory 0o755."""
    os.chmod(path, 0o644)
    os.chmod(path.parent, 0o755)


@pytest.fixture(autouse=True)
def no_packages_left_behind():
    """Packages made by `in_package` are dropped from sys.modules afterwards."""
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith("hs_trust_"):
            del sys.modules[name]


@pytest.fixture
def hotswap_log(caplog):
    caplog.set_level(logging.ERROR, logger="hotswap")
    return caplog


def in_package(modules, source: str = V1, package: str | None = None):
    """A module alone in its own directory (a package), so the directory can be changed."""
    package = package or f"hs_trust_pkg_{next(_counter)}"
    mf = modules(source, name=f"{package}.mod")
    secure(mf.path)
    return mf


def plain(modules, source: str = V1):
    mf = modules(source)
    secure(mf.path)
    return mf


def assert_applied(watcher, mf, expected: str, reports) -> None:
    assert [r.module for r in reports] == [mf.name]
    assert mf.module.value() == expected
    assert list(watcher.errors) == []


def assert_refused(watcher, mf, live, log, *, names: list[str], reason: list[str],
                   count: int = 1, expected: str = "v1") -> None:
    """The live code is unchanged, and the error (in `.errors` and logged on "hotswap")
    names the watched file, the offending path(s) and the reason."""
    assert mf.module.value() == expected
    assert live() == expected  # the function object the program holds, too
    assert len(watcher.errors) == count
    err = watcher.errors[-1]
    assert isinstance(err, hotswap.UpdateError)
    assert err.filename == str(mf.path)
    assert err.module == mf.name
    records = [r for r in log.records
               if r.name == "hotswap" and r.levelno == logging.ERROR]
    assert len(records) == count
    for text in (str(err), records[-1].getMessage()):
        assert str(mf.path) in text
        assert "refused" in text
        for part in [*names, *reason]:
            assert part in text, (part, text)


def fake_owner(uid: int, *paths: os.PathLike[str] | str):
    """A stat_fn reporting `uid` as owner of `paths` (real stat for everything else)."""
    targets = {os.path.realpath(p) for p in paths}
    calls: list[str] = []

    def stat_fn(path: str) -> os.stat_result:
        calls.append(path)
        st = os.stat(path)
        if os.path.realpath(path) in targets:
            fields = list(st)
            fields[4] = uid  # st_uid
            return os.stat_result(fields)
        return st

    return stat_fn, calls


# -- world- and group-writable ---------------------------------------------------------------


@pytest.mark.parametrize("mode, shown", [(0o666, "-rw-rw-rw-"), (0o646, "-rw-r--rw-"),
                                         (0o664, "-rw-rw-r--")])
def test_file_writable_by_others_or_group_is_refused(modules, hotswap_log, mode, shown):
    mf = plain(modules)
    live = mf.module.value
    w = hotswap.Watcher(mf.module)
    os.chmod(mf.path, mode)
    write(mf.path, V2)
    assert w.poll() == []
    assert_refused(w, mf, live, hotswap_log, names=[str(mf.path)],
                   reason=["writable by group or others", shown])


@pytest.mark.parametrize("mode", [0o777, 0o775, 0o1777])
def test_file_in_writable_directory_is_refused(modules, hotswap_log, mode):
    # The rule checks the directory's mode bits: even a sticky world-writable directory
    # (where others could still plant a new file) is refused.
    mf = in_package(modules)
    live = mf.module.value
    w = hotswap.Watcher(mf.module)
    directory = mf.path.parent
    os.chmod(directory, mode)
    write(mf.path, V2)
    assert w.poll() == []
    shown = stat.filemode(os.stat(directory).st_mode)
    assert_refused(w, mf, live, hotswap_log, names=[str(directory)],
                   reason=["writable by group or others", shown])


# -- owners ----------------------------------------------------------------------------------


def test_file_owned_by_another_user_refused_through_fake_stat(modules, hotswap_log):
    mf = plain(modules)
    live = mf.module.value
    stat_fn, calls = fake_owner(4242, mf.path)
    w = hotswap.Watcher(mf.module, trust_policy=Trust(stat_fn=stat_fn))
    write(mf.path, V2)
    assert w.poll() == []
    assert str(mf.path) in calls  # the verdict came through the injected stat
    assert_refused(w, mf, live, hotswap_log, names=[str(mf.path)],
                   reason=["owned by uid 4242", f"uid {os.geteuid()}"])


def test_directory_owned_by_another_user_refused_through_fake_stat(modules, hotswap_log):
    mf = in_package(modules)
    live = mf.module.value
    stat_fn, calls = fake_owner(4242, mf.path.parent)
    w = hotswap.Watcher(mf.module, trust_policy=Trust(stat_fn=stat_fn))
    write(mf.path, V2)
    assert w.poll() == []
    assert str(mf.path.parent) in calls
    assert_refused(w, mf, live, hotswap_log, names=[str(mf.path.parent)],
                   reason=["owned by uid 4242"])


def test_fake_stat_reporting_our_own_user_is_accepted(modules):
    mf = plain(modules)
    stat_fn, calls = fake_owner(os.geteuid(), mf.path, mf.path.parent)
    w = hotswap.Watcher(mf.module, trust_policy=Trust(stat_fn=stat_fn))
    write(mf.path, V2)
    assert_applied(w, mf, "v2 changed", w.poll())
    assert str(mf.path) in calls and str(mf.path.parent) in calls


def test_file_really_owned_by_nobody_is_refused(modules, hotswap_log):
    mf = plain(modules)
    live = mf.module.value
    w = hotswap.Watcher(mf.module)
    os.chown(mf.path, NOBODY, NOBODY)
    write(mf.path, V2)  # root can still write it
    assert os.stat(mf.path).st_uid == NOBODY
    assert w.poll() == []
    assert_refused(w, mf, live, hotswap_log, names=[str(mf.path)],
                   reason=[f"owned by uid {NOBODY}"])


def test_directory_really_owned_by_nobody_is_refused(modules, hotswap_log):
    mf = in_package(modules)
    live = mf.module.value
    w = hotswap.Watcher(mf.module)
    os.chown(mf.path.parent, NOBODY, NOBODY)
    write(mf.path, V2)
    assert os.stat(mf.path).st_uid == 0 and os.stat(mf.path.parent).st_uid == NOBODY
    assert w.poll() == []
    assert_refused(w, mf, live, hotswap_log, names=[str(mf.path.parent)],
                   reason=[f"owned by uid {NOBODY}"])


def test_root_owned_file_is_accepted(modules):
    # We run as root: the normal case, file 0o644 in a 0o755 directory, both uid 0.
    mf = in_package(modules)
    w = hotswap.Watcher(mf.module)
    write(mf.path, V2)
    assert os.stat(mf.path).st_uid == 0 and os.stat(mf.path.parent).st_uid == 0
    assert_applied(w, mf, "v2 changed", w.poll())


def test_owner_rule_for_a_non_root_process_user(modules, hotswap_log, monkeypatch):
    # Pretend the process runs as uid 4242 (the rule asks os.geteuid each time), with real
    # files: ours (4242) and root's are accepted; another user's (4343) is refused.
    me, other = 4242, 4343
    ours, roots, theirs = in_package(modules), in_package(modules), in_package(modules)
    os.chown(ours.path, me, me)
    os.chown(ours.path.parent, me, me)
    os.chown(theirs.path, other, other)
    live = theirs.module.value
    w = hotswap.Watcher([ours.module, roots.module, theirs.module])
    monkeypatch.setattr(os, "geteuid", lambda: me)
    for mf in (ours, roots, theirs):
        write(mf.path, V2)
    reports = w.poll()
    assert sorted(r.module for r in reports) == sorted([ours.name, roots.name])
    assert ours.module.value() == "v2 changed"
    assert roots.module.value() == "v2 changed"
    assert_refused(w, theirs, live, hotswap_log, names=[str(theirs.path)],
                   reason=[f"owned by uid {other}", f"uid {me}"])


# -- explicit trust --------------------------------------------------------------------------


def test_trusted_directory_allows_a_world_writable_file(modules, hotswap_log):
    mf = in_package(modules)
    os.chmod(mf.path, 0o666)
    os.chmod(mf.path.parent, 0o777)
    w = hotswap.Watcher(mf.module, trust=[mf.path.parent])
    write(mf.path, V2)
    assert_applied(w, mf, "v2 changed", w.poll())
    assert not hotswap_log.records


def test_trusted_file_allows_it_but_not_its_neighbour(modules, hotswap_log):
    trusted, neighbour = plain(modules), plain(modules)
    live = neighbour.module.value
    for mf in (trusted, neighbour):
        os.chmod(mf.path, 0o666)
    w = hotswap.Watcher([trusted.module, neighbour.module], trust=[trusted.path])
    write(trusted.path, V2)
    write(neighbour.path, V2)
    reports = w.poll()
    assert [r.module for r in reports] == [trusted.name]
    assert trusted.module.value() == "v2 changed"
    assert_refused(w, neighbour, live, hotswap_log, names=[str(neighbour.path)],
                   reason=["writable by group or others"])


def test_trusting_a_directory_does_not_trust_a_sibling(modules, hotswap_log):
    # The sibling's name starts with the trusted directory's name: a prefix is not a parent.
    n = next(_counter)
    inside = in_package(modules, package=f"hs_trust_dir_{n}")
    sibling = in_package(modules, package=f"hs_trust_dir_{n}_x")
    assert str(sibling.path.parent).startswith(str(inside.path.parent))
    live = sibling.module.value
    for mf in (inside, sibling):
        os.chmod(mf.path, 0o666)
    w = hotswap.Watcher([inside.module, sibling.module], trust=[inside.path.parent])
    write(inside.path, V2)
    write(sibling.path, V2)
    reports = w.poll()
    assert [r.module for r in reports] == [inside.name]
    assert inside.module.value() == "v2 changed"
    assert_refused(w, sibling, live, hotswap_log, names=[str(sibling.path)],
                   reason=["writable by group or others"])


def test_trusted_paths_given_through_a_symlink_are_resolved(modules, tmp_path):
    mf = in_package(modules)
    os.chmod(mf.path, 0o666)
    alias = tmp_path / "alias_dir"
    alias.symlink_to(mf.path.parent, target_is_directory=True)
    w = hotswap.Watcher(mf.module, trust=[alias])
    write(mf.path, V2)
    assert_applied(w, mf, "v2 changed", w.poll())


# -- symlinks --------------------------------------------------------------------------------


def _linked(modules, tmp_path: Path, where: str = "real"):
    """A watched module whose file is a symlink to a real file in another directory (the
    link lives in a package directory; the real file in a sibling of it)."""
    mf = in_package(modules)
    real_dir = tmp_path / where
    real_dir.mkdir(exist_ok=True)
    os.chmod(real_dir, 0o755)
    real = real_dir / "first.py"
    real.write_bytes(mf.path.read_bytes())
    os.chmod(real, 0o644)
    tmp_link = mf.path.with_name(mf.path.name + ".lnk")
    tmp_link.symlink_to(real)
    os.replace(tmp_link, mf.path)
    assert mf.path.is_symlink()
    return mf, real


def test_symlink_to_a_safe_file_is_applied(modules, tmp_path):
    mf, real = _linked(modules, tmp_path)
    w = hotswap.Watcher(mf.module)
    write(real, V2)
    assert_applied(w, mf, "v2 changed", w.poll())


def test_symlink_is_judged_by_its_real_location(modules, tmp_path, hotswap_log):
    mf, real = _linked(modules, tmp_path)
    live = mf.module.value
    w = hotswap.Watcher(mf.module)
    os.chmod(real, 0o666)  # the link and its directory are fine; the target is not
    write(real, V2)
    assert w.poll() == []
    assert_refused(w, mf, live, hotswap_log, names=[str(real)],
                   reason=["writable by group or others"])


def test_symlink_whose_real_directory_is_world_writable_is_refused(modules, tmp_path,
                                                                   hotswap_log):
    mf, real = _linked(modules, tmp_path)
    live = mf.module.value
    w = hotswap.Watcher(mf.module)
    os.chmod(real.parent, 0o777)
    write(real, V2)
    assert w.poll() == []
    assert_refused(w, mf, live, hotswap_log, names=[str(real.parent)],
                   reason=["writable by group or others"])


def test_trusting_the_link_directory_does_not_trust_the_target(modules, tmp_path,
                                                               hotswap_log):
    mf, real = _linked(modules, tmp_path)
    live = mf.module.value
    assert not str(real).startswith(str(mf.path.parent) + os.sep)
    w = hotswap.Watcher(mf.module, trust=[mf.path.parent])
    os.chmod(real, 0o666)
    write(real, V2)
    assert w.poll() == []
    assert_refused(w, mf, live, hotswap_log, names=[str(real)],
                   reason=["writable by group or others"])


def _retarget(link: Path, target: Path) -> None:
    tmp_link = link.with_name(link.name + ".new")
    tmp_link.symlink_to(target)
    os.replace(tmp_link, link)


def test_retargeted_symlink_is_noticed(modules, tmp_path, hotswap_log):
    mf, real = _linked(modules, tmp_path)
    live = mf.module.value
    w = hotswap.Watcher(mf.module)
    assert w.poll() == []

    second = real.with_name("second.py")
    second.write_text(V2)
    os.chmod(second, 0o644)
    _retarget(mf.path, second)
    assert_applied(w, mf, "v2 changed", w.poll())
    assert live() == "v2 changed"

    third = real.with_name("third.py")
    third.write_text(V3)
    os.chmod(third, 0o666)
    _retarget(mf.path, third)
    assert w.poll() == []
    assert_refused(w, mf, live, hotswap_log, names=[str(third)],
                   reason=["writable by group or others"], expected="v2 changed")


def test_retargeted_symlink_with_same_size_and_mtime_is_noticed(modules, tmp_path):
    # Only the inode tells the new target apart.
    mf, real = _linked(modules, tmp_path)
    w = hotswap.Watcher(mf.module)
    same_size = V1.replace("v1", "w1")
    assert len(same_size) == len(V1)
    other = real.with_name("other.py")
    other.write_text(same_size)
    os.chmod(other, 0o644)
    st = os.stat(real)
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    _retarget(mf.path, other)
    assert_applied(w, mf, "w1", w.poll())


# -- a file rewritten while it is read ------------------------------------------------------


def test_file_rewritten_during_the_read_is_not_applied_half_read(modules, monkeypatch,
                                                                  hotswap_log):
    mf = plain(modules)
    live = mf.module.value
    w = hotswap.Watcher(mf.module)
    original = _watch._read
    raced: list[bytes] = []

    def racing_read(path):
        data = original(path)
        if not raced and os.path.realpath(path) == os.path.realpath(mf.path):
            raced.append(data)
            write(mf.path, V3)  # the editor saves again while we read
            return data[: len(data) // 2]  # what we got: half of the old version
        return data

    monkeypatch.setattr(_watch, "_read", racing_read)
    write(mf.path, V2)
    assert w.poll() == []
    assert raced and raced[0].decode() == V2  # the race really happened, in this poll
    assert mf.module.value() == "v1" and live() == "v1"
    assert list(w.errors) == [] and not hotswap_log.records

    assert_applied(w, mf, "v3 changed again", w.poll())  # the newest full content
    assert live() == "v3 changed again"
    assert w.poll() == []


# -- no retry until the file changes; fixing it applies -------------------------------------


def test_refused_file_is_not_retried_until_it_changes(modules, hotswap_log, monkeypatch):
    mf = plain(modules)
    live = mf.module.value
    w = hotswap.Watcher(mf.module)
    os.chmod(mf.path, 0o666)
    write(mf.path, V2)
    assert w.poll() == []
    assert_refused(w, mf, live, hotswap_log, names=[str(mf.path)],
                   reason=["writable by group or others"])

    checks: list[str] = []
    original = w.trust.refusal
    monkeypatch.setattr(w.trust, "refusal", lambda p: checks.append(p) or original(p))
    for _ in range(3):
        assert w.poll() == []
    assert len(w.errors) == 1 and len(hotswap_log.records) == 1
    assert checks == []  # not even looked at again

    bump_mtime(mf.path)  # touched, same content: still nothing new
    assert w.poll() == []
    assert len(w.errors) == 1

    write(mf.path, V3)  # changed again but still world-writable: refused once more
    assert w.poll() == []
    assert_refused(w, mf, live, hotswap_log, names=[str(mf.path)],
                   reason=["writable by group or others"], count=2)
    assert w.poll() == []
    assert len(w.errors) == 2

    os.chmod(mf.path, 0o644)  # fixed, plus a content change: applied
    write(mf.path, V2)
    assert w.poll()[0].module == mf.name
    assert mf.module.value() == "v2 changed" and live() == "v2 changed"
    assert len(w.errors) == 2
    assert w.poll() == []


def test_refused_owner_fixed_then_changed_applies(modules, hotswap_log):
    mf = in_package(modules)
    live = mf.module.value
    w = hotswap.Watcher(mf.module)
    os.chown(mf.path.parent, NOBODY, NOBODY)
    write(mf.path, V2)
    assert w.poll() == []
    assert_refused(w, mf, live, hotswap_log, names=[str(mf.path.parent)],
                   reason=[f"owned by uid {NOBODY}"])
    assert w.poll() == [] and len(w.errors) == 1
    os.chown(mf.path.parent, 0, 0)
    write(mf.path, V3)
    assert [r.module for r in w.poll()] == [mf.name]
    assert live() == "v3 changed again"
    assert len(w.errors) == 1


def test_refusal_does_not_block_other_modules(modules, hotswap_log):
    good, bad = plain(modules), plain(modules)
    live = bad.module.value
    w = hotswap.Watcher([good.module, bad.module])
    os.chmod(bad.path, 0o666)
    write(good.path, V2)
    write(bad.path, V2)
    assert [r.module for r in w.poll()] == [good.name]
    assert good.module.value() == "v2 changed"
    assert_refused(w, bad, live, hotswap_log, names=[str(bad.path)],
                   reason=["writable by group or others"])


def test_fixing_the_permissions_alone_applies_the_refused_version(modules, hotswap_log):
    """The owner fixes the mode and saves nothing: the version that was refused is now
    applied (the mode is part of what the watcher looks at), and said only once before."""
    mf = plain(modules)
    live = mf.module.value
    w = hotswap.Watcher(mf.module)
    os.chmod(mf.path, 0o666)
    write(mf.path, V2)
    assert w.poll() == [] and w.poll() == []
    assert_refused(w, mf, live, hotswap_log, names=[str(mf.path)],
                   reason=["writable by group or others"])

    os.chmod(mf.path, 0o644)
    reports = w.poll()

    assert [r.module for r in reports] == [mf.name]
    assert mf.module.value() == "v2 changed" and live() == "v2 changed"
    assert len(w.errors) == 1
