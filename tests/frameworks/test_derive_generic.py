"""The generic parts of re-derivation, without a framework: the safety net that names
an object still holding a function whose signature changed, and what a body edit must
not do (re-run decorators, or walk the heap for stale holders)."""

from __future__ import annotations

import gc
import subprocess
import sys

from helpers.fw_fresh import SRC, fresh, live

HANDLERS = '''
def handle(x):
    return x + 1
'''

HOLDER = '''
import {name}


class Slot:
    def __init__(self, fn):
        self.fn = fn
        self.arity = fn.__code__.co_argcount  # derived from the signature


slot = Slot({name}.handle)
'''


def test_a_holder_of_a_function_whose_signature_changed_is_named(modules):
    handlers = modules(HANDLERS)
    holder = modules(HOLDER.format(name=handlers.name))
    report = handlers.update("def handle(x, y=0):\n    return x + y\n")
    skipped = dict(report.skipped)
    label = f"{holder.name}.slot.fn"  # the module global it is (else its class)
    assert label in skipped, report
    assert f"{handlers.name}.handle" in skipped[label] and "signature" in skipped[label]
    assert holder.module.slot.fn(1, 2) == 3  # the function itself was updated in place


def test_a_body_edit_names_no_holder(modules):
    handlers = modules(HANDLERS)
    modules(HOLDER.format(name=handlers.name))
    report = handlers.update("def handle(x):\n    return x + 2\n")
    assert report.skipped == [] and report.heap_walks == 0


def test_no_framework_adapter_is_imported_for_a_program_without_one(tmp_path):
    (tmp_path / "plain.py").write_text(HANDLERS)
    code = f"""
import sys
sys.path[:0] = [{str(tmp_path)!r}, {SRC!r}]
sys.dont_write_bytecode = True
import hotswap, plain, pathlib
pathlib.Path({str(tmp_path / "plain.py")!r}).write_text("def handle(x):\\n    return x + 5\\n")
hotswap.update(plain)
assert plain.handle(1) == 6
loaded = [m for m in sys.modules if m.startswith("hotswap._frameworks.")
          or m.split(".")[0] in ("fastapi", "starlette", "pydantic", "flask", "django",
                                 "click", "sqlalchemy", "attr")]
print(loaded)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


REGISTRY = '''
CALLS = []


def register(fn):
    CALLS.append(fn)
    return fn


@register
def job(a):
    return a
'''


def test_without_an_adapter_a_signature_change_does_not_run_a_registering_decorator_again(
        tmp_path):
    """A decorator returning the function may have registered it where no adapter can
    recognise it (``atexit.register``): without a framework it is not run again, and the
    live function takes the new signature in place, as before the adapter layer."""
    (tmp_path / "jobs.py").write_text(REGISTRY)
    new = REGISTRY.replace("def job(a):", "def job(a, b=1):").replace("return a", "return a + b")
    code = f"""
import sys
sys.path[:0] = [{str(tmp_path)!r}, {SRC!r}]
sys.dont_write_bytecode = True
import hotswap, jobs, pathlib
job = jobs.job
pathlib.Path({str(tmp_path / "jobs.py")!r}).write_text({new!r})
report = hotswap.update(jobs)
assert jobs.CALLS == [job] and jobs.job is job and job(1) == 2, (jobs.CALLS, report)
assert not report.redecorated, report
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr


STARLETTE = '''
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route


def hello(request):
    return PlainTextResponse("v1")


app = Starlette(routes=[Route("/", hello)])
'''


def test_an_adapter_never_imports_a_framework_the_program_did_not(tmp_path):
    """A Starlette program is served by the FastAPI/Starlette adapter, which must not
    import FastAPI or pydantic into it."""
    (tmp_path / "starsite.py").write_text(STARLETTE)
    code = f"""
import sys
sys.path[:0] = [{str(tmp_path)!r}, {SRC!r}]
sys.dont_write_bytecode = True
import warnings
warnings.simplefilter("ignore")
import hotswap, pathlib
import importlib
site = importlib.import_module("starsite")
from starlette.testclient import TestClient
client = TestClient(site.app)
assert client.get("/").text == "v1"
pathlib.Path({str(tmp_path / "starsite.py")!r}).write_text({STARLETTE.replace('"v1"', '"v2"')!r})
hotswap.update(site)
assert client.get("/").text == "v2"
assert "hotswap._frameworks.fastapi" in sys.modules
print([m for m in ("fastapi", "pydantic") if m in sys.modules])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


POINTS = '''
from dataclasses import dataclass


@dataclass
class Point:
    x: int
    y: int = 0

    def norm(self):
        return abs(self.x) + abs(self.y)
'''

PLUGINS = '''
from dataclasses import fields

import {name}

REGISTRY = {{"point": {name}.Point}}  # an in-house registry, keyed by name


class Serializer:
    def __init__(self, cls):
        self.cls = cls
        self.names = [f.name for f in fields(cls)]  # derived from the fields

    def dump(self, obj):
        return {{n: getattr(obj, n) for n in self.names}}


SERIALIZERS = [Serializer({name}.Point)]
'''

PROBE = '''
from dataclasses import asdict
import plugins
import points


def answers():
    p = points.Point(1)
    return [plugins.SERIALIZERS[0].dump(p), asdict(p)]
'''


def test_holders_of_a_rebuilt_class_are_named(modules, tmp_path, caplog):
    """A dataclass whose fields changed is rebuilt; an object that derived something
    from its old fields (a serializer's field list) and a registry dict, both in another
    module, are named in the report and in the log: a fresh start answers otherwise."""
    points = modules(POINTS, "points")
    plugins = modules(PLUGINS.format(name="points"), "plugins")
    with caplog.at_level("INFO", logger="hotswap"):
        report = points.update(POINTS.replace("    y: int = 0\n", "    y: int = 0\n    z: int = 0\n"))
    skipped = dict(report.skipped)
    assert "points.Point" in report.rebuilt
    assert {"plugins.Serializer.cls", "plugins.REGISTRY"} <= set(skipped), report
    for label in ("plugins.Serializer.cls", "plugins.REGISTRY"):
        assert "points.Point" in skipped[label] and "rebuilt" in skipped[label]
        assert label in caplog.text
    # what the report warns about: the serializer derived from the old fields
    live_answers = live(PROBE, "answers()", plugins=plugins.module, points=points.module)
    assert live_answers != fresh(tmp_path, PROBE, "answers()")


def test_a_body_edit_of_a_generated_class_names_nothing_and_walks_nothing(modules, monkeypatch):
    from hotswap import _heap

    points = modules(POINTS, "points2")
    modules(PLUGINS.format(name="points2"), "plugins2")
    passes = []
    real = _heap.referrers, gc.get_referrers
    monkeypatch.setattr(_heap, "referrers", lambda *a: (passes.append(a), real[0](*a))[1])
    monkeypatch.setattr(gc, "get_referrers", lambda *a: (passes.append(a), real[1](*a))[1])
    report = points.update(POINTS.replace("abs(self.y)", "abs(self.y) + 1"))
    assert points.module.Point(1).norm() == 2
    assert report.skipped == [] and report.heap_walks == 0 and passes == [], report


BODIES = POINTS + '''

class Body:
    __slots__ = ("mass",)

    def __init__(self, mass):
        self.mass = mass
'''

HELD = '''
import {name}

REGISTRY = {{"point": {name}.Point, "body": {name}.Body(3), "kind": {name}.Body}}
'''


def test_a_holder_an_earlier_update_rewrote_is_still_named(modules):
    """An update that replaces a class (a slot added) rewrites the containers holding it
    and moves its instances: its undo log keeps those containers, which stay the
    program's. A later update that rebuilds another class they hold names them as any
    holder: the safety net takes only what hotswap alone holds for its own."""
    points = modules(BODIES, "points3")
    held = modules(HELD.format(name="points3"), "held3")
    first = points.update(BODIES.replace('("mass",)', '("mass", "spin")'))
    assert "points3.Body" in first.replaced and first.instances, first
    registry = held.module.REGISTRY
    assert registry["kind"] is points.module.Body
    assert type(registry["body"]) is points.module.Body and registry["body"].mass == 3
    report = points.update(BODIES.replace('("mass",)', '("mass", "spin")')
                           .replace("    y: int = 0\n", "    y: int = 0\n    z: int = 0\n"))
    assert "points3.Point" in report.rebuilt, report
    assert "held3.REGISTRY" in dict(report.skipped), report
