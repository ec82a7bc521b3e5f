"""The engine loads only what an update needs at once, and behaves as it did.

Importing the engine is what a warm-up (or else the first update) pays: 62 ms CPU and 52
standard-library modules on 3.12 before, when it imported `dataclasses` (and `inspect`),
`logging`, `pathlib`, `json`, `hashlib`, `traceback`... for records, a logger nobody had
configured, and paths only the rare ways use. These tests keep those out of the engine's
import (a fresh interpreter each), and prove that what replaced them behaves the same:
`hotswap._plain` records as data classes, `hotswap._log` as the ``hotswap`` logger.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hotswap
from hotswap import _plain

# What the engine used to import at load and must not again (each found in sys.modules
# after the import before this change).
NOT_AT_LOAD = ["dataclasses", "inspect", "logging", "pathlib", "json", "hashlib",
               "traceback", "textwrap", "signal", "dis", "urllib.parse", "ipaddress"]


def _fresh(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


def test_the_engine_loads_none_of_what_it_does_not_need_at_once() -> None:
    out = _fresh(f"""
        import sys
        import hotswap
        import hotswap._engine, hotswap._watch
        from hotswap import _warm
        _warm.load_engine()  # all a warm-up loads
        print(sorted(m for m in {NOT_AT_LOAD!r} if m in sys.modules))
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_first_update_without_logging_loads_none_of_it(tmp_path) -> None:
    (tmp_path / "plainmod.py").write_text("def f():\n    return 1\n")
    out = _fresh(f"""
        import os, sys
        sys.path.insert(0, {str(tmp_path)!r})
        sys.dont_write_bytecode = True
        import hotswap, plainmod
        with open(plainmod.__file__, "w") as f:
            f.write("def f():\\n    return 2\\n")
        st = os.stat(plainmod.__file__)
        os.utime(plainmod.__file__, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
        report = hotswap.update(plainmod)
        assert plainmod.f() == 2 and report.functions, report
        print(sorted(m for m in {NOT_AT_LOAD!r} if m in sys.modules))
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    assert out.stderr == ""  # the report went at INFO, which nothing configured shows


WATCHED = """
    import os, sys
    sys.path.insert(0, {folder!r})
    sys.dont_write_bytecode = True
    {first}
    import hotswap, loudmod
    watcher = hotswap.Watcher([loudmod])
    with open(loudmod.__file__, "w") as f:
        f.write("def f(:\\n")
    st = os.stat(loudmod.__file__)
    os.utime(loudmod.__file__, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert watcher.poll() == []
    print("logging" in sys.modules)
"""


def test_an_error_reaches_stderr_as_it_did_with_logging_loaded_first(tmp_path) -> None:
    runs = []
    for how in ("pass", "import logging"):
        folder = tmp_path / how.replace(" ", "_")
        folder.mkdir()
        (folder / "loudmod.py").write_text("def f():\n    return 1\n")
        runs.append(_fresh(WATCHED.format(folder=str(folder), first=how)))
    bare, loaded = runs
    assert bare.returncode == 0 and loaded.returncode == 0, bare.stderr + loaded.stderr
    assert bare.stdout.strip() == "True"  # an error loads logging, to go where it went
    assert "hotswap: update refused, the old code keeps running" in bare.stderr
    assert bare.stderr == loaded.stderr.replace("import_logging", "pass")


def test_the_log_names_the_engine_as_the_caller(modules, caplog) -> None:
    mf = modules("def f():\n    return 1\n")
    with caplog.at_level(logging.INFO, logger="hotswap"):
        mf.update("def f():\n    return 2\n")
    (record,) = [r for r in caplog.records if r.name == "hotswap"]
    assert record.levelno == logging.INFO and "f" in record.getMessage()
    assert record.pathname.endswith(os.path.join("hotswap", "_engine.py"))
    assert record.funcName == "_log"


# -- _plain records behave as data classes ---------------------------------------------

def _pair(frozen: bool) -> list[tuple[type, type]]:
    """The same classes, made by `dataclasses` and by `_plain`: every kind of field the
    engine uses, a __post_init__, and a subclass adding fields."""
    made = []
    for make, field in ((dataclasses.dataclass, dataclasses.field),
                        (_plain.dataclass, _plain.field)):
        ns: dict[str, object] = {"field": field, "make": make, "frozen": frozen}
        exec(textwrap.dedent("""
            @make(frozen=frozen)
            class Base:
                a: int
                b: object = None
                c: list = field(default_factory=list)
                d: str = field(default="d", compare=False)
                e: int = field(default=0, repr=False)
                f: object = field(init=False, default=5)

                def __post_init__(self):
                    object.__setattr__(self, "seen", self.a)

            @make(frozen=frozen)
            class Sub(Base):
                g: int = 7
                h: list = field(default_factory=lambda: [1])
        """), ns)
        made.append((ns["Base"], ns["Sub"]))
    return made


def _outcome(call) -> object:
    try:
        value = call()
    except Exception as exc:  # noqa: BLE001 - the kind of failure is what is compared
        return ("raises", TypeError if isinstance(exc, TypeError) else
                AttributeError if isinstance(exc, AttributeError) else type(exc))
    return ("ok", value)


values = st.one_of(st.integers(-3, 3), st.text(max_size=2), st.none(),
                   st.lists(st.integers(0, 2), max_size=2).map(tuple))


@pytest.mark.parametrize("frozen", [False, True])
@settings(max_examples=60, deadline=None)
@given(args=st.lists(values, max_size=6),
       kwargs=st.dictionaries(st.sampled_from("abcdefghz"), values, max_size=3),
       other=st.lists(values, min_size=1, max_size=5), sub=st.booleans(),
       change=st.dictionaries(st.sampled_from("abcdf"), values, max_size=2))
def test_plain_records_behave_as_data_classes(frozen, args, kwargs, other, sub,
                                              change) -> None:
    (dbase, dsub), (pbase, psub) = _pair(frozen)
    dc, pc = (dsub, psub) if sub else (dbase, pbase)
    d, p = _outcome(lambda: dc(*args, **kwargs)), _outcome(lambda: pc(*args, **kwargs))
    assert d[0] == p[0] and (d[0] == "ok" or d == p), (d, p)
    if d[0] != "ok":
        return
    d, p = d[1], p[1]
    assert repr(d) == repr(p) and vars(d) == vars(p)
    d2, p2 = dc(*other), pc(*other)
    assert (d == d2) == (p == p2) and (d == d) and (p == p)
    assert (d == 1) == (p == 1) and (d == pc(*other)) == (p == dc(*other)) is False
    assert _outcome(lambda: hash(d) == hash(d2)) == _outcome(lambda: hash(p) == hash(p2))
    assert _outcome(lambda: setattr(d, "a", 9)) == _outcome(lambda: setattr(p, "a", 9))
    assert _outcome(lambda: setattr(d, "z", 9)) == _outcome(lambda: setattr(p, "z", 9))
    assert _outcome(lambda: delattr(d, "b")) == _outcome(lambda: delattr(p, "b"))
    assert vars(d) == vars(p)
    rd = _outcome(lambda: repr(dataclasses.replace(d, **change)))
    rp = _outcome(lambda: repr(_plain.replace(p, **change)))
    assert rd == rp
    assert dataclasses.asdict(d) == _plain.asdict(p)
    assert (dataclasses.asdict(d)["c"] is d.c) == (_plain.asdict(p)["c"] is p.c)


def test_plain_records_refuse_what_data_classes_refuse() -> None:
    with pytest.raises(TypeError, match="non-default argument 'b'"):
        _plain.dataclass(type("Bad", (), {"__annotations__": {"a": "int", "b": "int"},
                                          "a": 1}))
    with pytest.raises(ValueError):
        _plain.field(default=1, default_factory=list)


def test_the_report_is_what_it_was() -> None:
    report = hotswap.Report("m", changed=True, functions=["m.f"])
    assert repr(report).startswith("Report(module='m', changed=True, dry_run=False, ")
    assert report == hotswap.Report("m", changed=True, functions=["m.f"])
    assert report.as_dict()["functions"] == ["m.f"]
    assert report.as_dict()["functions"] is not report.functions
    with pytest.raises(TypeError):
        hash(report)
