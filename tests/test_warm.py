"""Getting ready ahead of time changes when the work is done, never what an update does.

`hotswap.prepare` (and a `Watcher`, which does it on a thread of its own) loads the engine
and parses the source each module was built from before the first edit. The first update
after it must give exactly the report and the results it gives without it, in a fresh
interpreter each way; and it must find that parse done (the work is really moved).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

import hotswap
from hotswap import _diff

V1 = """
import collections

COUNT = 0
Point = collections.namedtuple("Point", "x y")


def area(w, h):
    return w * h


class Shape:
    sides = 3

    def describe(self):
        return f"{self.sides} sides"


class Slotted:
    __slots__ = ("a",)

    def __init__(self, a):
        self.a = a


def bump():
    global COUNT
    COUNT += 1
    return COUNT
"""

V2 = """
import collections

COUNT = 0
Point = collections.namedtuple("Point", "x y")


def area(w, h):
    return w * h * 2


def perimeter(w, h):
    return 2 * (w + h)


class Shape:
    sides = 4

    def describe(self):
        return f"a shape of {self.sides} sides"


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a):
        self.a = a
        self.b = -a


def bump():
    global COUNT
    COUNT += 10
    return COUNT
"""

PROGRAM = """
import json, os, sys, time
sys.dont_write_bytecode = True
sys.path.insert(0, {folder!r})
import hotswap
import warmmod
how = {how!r}
shape = warmmod.Shape()
slotted = [warmmod.Slotted(i) for i in range(3)]
area = warmmod.area
warmmod.bump(); warmmod.bump()
watcher = None
if how == "prepare":
    assert hotswap.prepare([warmmod]) == 1
elif how == "watcher":
    watcher = hotswap.Watcher([warmmod])
    assert watcher.ready(60)
path = warmmod.__file__
with open(path, "w") as f:
    f.write({v2!r})
st = os.stat(path)
os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
if watcher is not None:
    (report,) = watcher.poll()
else:
    report = hotswap.update(warmmod)
report.duration = 0.0
text = str(report).replace("in 0.0 ms", "")
results = [area(2, 3), warmmod.perimeter(2, 3), shape.describe(), warmmod.bump(),
           [(type(s) is warmmod.Slotted, s.a, getattr(s, "b", "unset")) for s in slotted],
           warmmod.COUNT]
fields = {{k: repr(v) for k, v in vars(report).items() if k != "duration"}}
print("RESULT " + json.dumps([text, results, fields]))
"""


def _run(tmp_path, how: str) -> list:
    folder = tmp_path / how
    folder.mkdir()
    (folder / "warmmod.py").write_text(textwrap.dedent(V1))
    code = PROGRAM.format(folder=str(folder), how=how, v2=textwrap.dedent(V2))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.returncode == 0, out.stderr
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


@pytest.mark.parametrize("how", ["prepare", "watcher"])
def test_the_first_update_after_a_warm_up_is_the_one_without_it(tmp_path, how: str) -> None:
    cold = _run(tmp_path, "cold")
    warm = _run(tmp_path, how)
    assert warm == cold
    text, results, _ = cold
    assert results[:4] == [12, 10, "a shape of 4 sides", 12]
    assert results[4] == [[True, i, "unset"] for i in range(3)]  # moved, as without it
    assert "Slotted" in text


def test_prepare_parses_the_baseline_the_first_update_then_needs_not(modules,
                                                                      monkeypatch) -> None:
    mf = modules("def f():\n    return 1\n\n\ndef g():\n    return 2\n")
    calls: list[str] = []
    real = _diff.segment

    def counted(text: str, filename: str) -> _diff.Segmentation:
        calls.append(filename)
        return real(text, filename)
    monkeypatch.setattr(_diff, "segment", counted)
    from hotswap import _engine
    monkeypatch.setattr(_engine, "segment", counted)

    assert hotswap.prepare([mf.name]) == 1
    assert calls == [str(mf.path)]
    from hotswap import _imports  # what it imports from which, learnt too (lines moving)

    assert _imports._PARSED[mf.name][1] == []
    report = mf.update("def f():\n    return 10\n\n\ndef g():\n    return 2\n")
    assert calls == [str(mf.path)]  # the first update parsed only what changed
    assert mf.module.f() == 10 and report.functions
    assert hotswap.prepare([mf.module]) == 1 and len(calls) == 1  # ready since the update


def test_a_module_without_a_known_source_is_not_ready(modules) -> None:
    mf = modules("X = 1\n")
    from hotswap import _sources

    _sources.REGISTRY._baselines.pop(mf.name)
    assert hotswap.prepare([mf.module, "no.such.module"]) == 0


def test_a_watcher_readies_the_modules_it_picks_up_later(modules) -> None:
    first = modules("A = 1\n", name="warmpkg.a")
    watcher = hotswap.Watcher(["warmpkg"])
    assert watcher.ready(60)
    from hotswap import _engine

    assert _engine._STATES[first.name].segmentation is not None
    later = modules("B = 2\n", name="warmpkg.b")
    assert later.name in watcher.files.values()
    assert watcher.ready(60)
    assert _engine._STATES[later.name].segmentation.text == "B = 2\n"


def test_import_hotswap_still_does_not_load_the_engine() -> None:
    code = ("import sys, hotswap\n"
            "assert 'hotswap._engine' not in sys.modules\n"
            "assert 'hotswap._warm' not in sys.modules\n"
            "hotswap.prepare([])\nassert 'hotswap._engine' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True,
                   env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
