# ruff: noqa: E501  (tables of source edits read best one edit a line)
"""FastAPI + pydantic v2: everyday edits of an app, each compared with a fresh process
importing the new source, through the app object and the test client held since before
the update (the client has served requests: the middleware stack is built)."""

from __future__ import annotations

import contextlib
import itertools
import textwrap
import warnings

import pytest

import hotswap

from helpers.fw_fresh import fresh, live

pytestmark = pytest.mark.heavy
pytest.importorskip("fastapi")
warnings.filterwarnings("ignore", category=DeprecationWarning)

MODELS = '''
from pydantic import BaseModel


class Tag(BaseModel):
    label: str


class Item(BaseModel):
    name: str
    price: float = 1.0
    tag: Tag | None = None


class Out(BaseModel):
    name: str
    total: float
'''

APP = '''
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from MODELS import Item, Out, Tag

app = FastAPI()
router = APIRouter(prefix="/r")


class Local(BaseModel):
    a: int


class Boom(Exception):
    pass


class Bang(Exception):
    pass


def settings():
    return {"factor": 2}


@app.middleware("http")
async def mark(request: Request, call_next):
    response = await call_next(request)
    response.headers["x-mw"] = "1"
    return response


@app.exception_handler(Boom)
def on_boom(request: Request, exc: Boom):
    return JSONResponse({"boom": 1}, status_code=418)


@app.get("/hello")
def hello(name: str = "world"):
    """Say hello."""
    return {"msg": f"hello {name}"}


@app.get("/ahello")
async def ahello(name: str = "world"):
    return {"msg": f"ahello {name}"}


@app.post("/items", response_model=Out)
def create(item: Item, s: dict = Depends(settings)):
    return {"name": item.name, "total": item.price * s["factor"], "extra": 1}


@app.post("/echo")
def echo(item: Item) -> Item:
    return item


@app.post("/local")
def local(body: Local):
    return body


@app.get("/boom")
def boom():
    raise Boom()


@app.get("/bang")
def bang():
    raise Bang()


@router.get("/ping")
def ping():
    return {"pong": 1}


app.include_router(router)
'''

PROBE = '''
REQUESTS = [
    ("GET", "/hello", {"params": {"name": "n", "excited": "true"}}),
    ("GET", "/hello", {}),
    ("GET", "/hi", {}),
    ("GET", "/ahello", {}),
    ("POST", "/items", {"json": {"name": "x", "price": 2, "qty": 5,
                                 "tag": {"label": "t", "color": "red"}}}),
    ("POST", "/items", {"json": {"name": "x", "price": 2.5}}),
    ("POST", "/echo", {"json": {"name": "x", "price": 2, "qty": 5,
                                "tag": {"label": "t", "color": "red"}}}),
    ("POST", "/echo", {"json": {"name": "x"}}),
    ("POST", "/local", {"json": {"a": 1, "b": 2}}),
    ("GET", "/r/ping", {}),
    ("GET", "/r/pong", {}),
    ("GET", "/new", {}),
    ("GET", "/boom", {}),
    ("GET", "/bang", {}),
]


def answers(client):
    out = {}
    for method, path, kw in REQUESTS:
        r = client.request(method, path, **kw)
        try:
            body = r.json()
        except ValueError:
            body = r.text
        out[f"{method} {path} {kw}"] = [r.status_code, body, r.headers.get("x-mw")]
    out["openapi"] = client.get("/openapi.json").json()
    return out
'''

CASES = {
    "endpoint body (sync)": {"app": [('f"hello {name}"', 'f"hi there {name}"')]},
    "endpoint body (async)": {"app": [('f"ahello {name}"', 'f"async hi {name}"')]},
    "query parameter added": {"app": [
        ('def hello(name: str = "world"):\n    """Say hello."""\n    return {"msg": f"hello {name}"}',
         'def hello(name: str = "world", excited: bool = False):\n    """Say hello."""\n'
         '    return {"msg": f"hello {name}", "excited": excited}')]},
    "query parameter removed": {"app": [
        ('def hello(name: str = "world"):\n    """Say hello."""\n    return {"msg": f"hello {name}"}',
         'def hello():\n    """Say hello."""\n    return {"msg": "hello"}')]},
    "query parameter type changed": {"app": [
        ('def hello(name: str = "world"):', 'def hello(name: int = 0):')]},
    "query parameter default changed": {"app": [
        ('def hello(name: str = "world"):', 'def hello(name: str = "there"):')]},
    "docstring changed": {"app": [('"""Say hello."""', '"""Greet someone."""')]},
    "path changed": {"app": [('@app.get("/hello")', '@app.get("/hi")')]},
    "status_code changed": {"app": [('@app.post("/items", response_model=Out)',
                                     '@app.post("/items", response_model=Out, status_code=201)')]},
    "response_model switched": {"app": [('@app.post("/items", response_model=Out)',
                                         '@app.post("/items", response_model=Item)')]},
    "body model gains a field (other module)": {"models": [
        ("    price: float = 1.0\n", "    price: float = 1.0\n    qty: int = 1\n")]},
    "body model loses a field (other module)": {"models": [
        ("    tag: Tag | None = None\n", "")]},
    "body model field type changed (other module)": {"models": [
        ("    price: float = 1.0\n", "    price: int = 1\n")]},
    "response model gains a field": {"models": [
        ("    total: float\n", "    total: float\n    currency: str = 'EUR'\n")]},
    "response model loses a field": {"models": [
        ("class Out(BaseModel):\n    name: str\n", "class Out(BaseModel):\n")]},
    "response model field type changed": {"models": [("    total: float\n", "    total: int\n")]},
    "model in the same module loses a field": {"app": [
        ("class Local(BaseModel):\n    a: int\n", "class Local(BaseModel):\n    pass\n")]},
    "model in the same module: field type changed": {"app": [
        ("class Local(BaseModel):\n    a: int\n", "class Local(BaseModel):\n    a: str\n")]},
    "tags and summary changed": {"app": [('@app.get("/ahello")', '@app.get("/ahello", tags=["greetings"], summary="Async hello")')]},
    "nested model gains a field": {"models": [
        ("    label: str\n", "    label: str\n    color: str = 'none'\n")]},
    "model in the same module gains a field": {"app": [
        ("class Local(BaseModel):\n    a: int\n", "class Local(BaseModel):\n    a: int\n    b: int = 0\n")]},
    "dependency body changed": {"app": [('return {"factor": 2}', 'return {"factor": 3}')]},
    "dependency added": {"app": [
        ('def hello(name: str = "world"):\n    """Say hello."""\n    return {"msg": f"hello {name}"}',
         'def hello(name: str = "world", s: dict = Depends(settings)):\n    """Say hello."""\n'
         '    return {"msg": f"hello {name}", "factor": s["factor"]}')]},
    "route added to the app": {"app": [
        ("app.include_router(router)", '@app.get("/new")\ndef new():\n    return {"new": 1}\n\n\n'
                                       "app.include_router(router)")]},
    "route added to an included router": {"app": [
        ("app.include_router(router)", '@router.get("/pong")\ndef pong():\n    return {"ping": 1}\n\n\n'
                                       "app.include_router(router)")]},
    "exception handler added": {"app": [
        ("@app.get(\"/hello\")", "@app.exception_handler(Bang)\ndef on_bang(request: Request, exc: Bang):\n"
                                 "    return JSONResponse({'bang': 2}, status_code=419)\n\n\n@app.get(\"/hello\")")]},
    "exception handler changed": {"app": [('JSONResponse({"boom": 1}, status_code=418)',
                                           'JSONResponse({"boom": 2}, status_code=417)')]},
    "middleware changed": {"app": [('response.headers["x-mw"] = "1"', 'response.headers["x-mw"] = "2"')]},
    "middleware added": {"app": [
        ("@app.exception_handler(Boom)",
         '@app.middleware("http")\nasync def second(request: Request, call_next):\n'
         '    response = await call_next(request)\n    response.headers["x-mw"] = '
         '(response.headers.get("x-mw") or "") + "+2"\n    return response\n\n\n'
         "@app.exception_handler(Boom)")]},
}

_ids = itertools.count()


def _edit(source: str, pairs: list[tuple[str, str]]) -> str:
    for old, new in pairs:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    return source


@pytest.mark.parametrize("case", list(CASES))
def test_fastapi_edit_behaves_as_a_fresh_start(case, modules, tmp_path):
    from fastapi.testclient import TestClient

    n = next(_ids)
    models_name, app_name = f"fa_models_{n}", f"fa_app_{n}"
    models = modules(MODELS, models_name)
    app = modules(APP.replace("MODELS", models_name), app_name)
    client = TestClient(app.module.app, raise_server_exceptions=False)
    held_app = app.module.app
    before = live(PROBE, "answers(client)", client=client)  # the app has started
    edit = CASES[case]
    targets = []
    for key, mf, base in (("models", models, MODELS),
                          ("app", app, APP.replace("MODELS", models_name))):
        if key in edit:
            mf.write(_edit(textwrap.dedent(base), edit[key]))
            targets.append(mf.module)
    reports = hotswap.update_many(targets)
    assert app.module.app is held_app
    after = live(PROBE, "answers(client)", client=client)
    expected = fresh(tmp_path, PROBE + f"\nimport {app_name} as mod\n"
                     "from fastapi.testclient import TestClient\n"
                     "client = TestClient(mod.app, raise_server_exceptions=False)\n",
                     "answers(client)")
    assert after == expected, "\n".join(str(r) for r in reports)
    assert after != before  # the edit is visible in the answers


def test_a_failed_or_rolled_back_route_change_leaves_the_app_as_it_was(modules):
    from fastapi.testclient import TestClient

    n = next(_ids)
    modules(MODELS, f"fa_models_{n}")
    base = textwrap.dedent(APP.replace("MODELS", f"fa_models_{n}"))
    app = modules(base, f"fa_app_{n}")
    client = TestClient(app.module.app, raise_server_exceptions=False)
    before = live(PROBE, "answers(client)", client=client)
    source = _edit(base, CASES["query parameter added"]["app"] + CASES["path changed"]["app"])
    with pytest.raises(hotswap.UpdateError):
        app.update(source + "\nraise RuntimeError('broken')\n")
    assert live(PROBE, "answers(client)", client=client) == before
    app.update(source)
    assert live(PROBE, "answers(client)", client=client) != before
    hotswap.rollback(app.module)
    assert live(PROBE, "answers(client)", client=client) == before


def test_an_endpoint_turned_async_is_refused_and_changes_nothing(modules):
    from fastapi.testclient import TestClient

    n = next(_ids)
    modules(MODELS, f"fa_models_{n}")
    base = textwrap.dedent(APP.replace("MODELS", f"fa_models_{n}"))
    app = modules(base, f"fa_app_{n}")
    client = TestClient(app.module.app, raise_server_exceptions=False)
    before = live(PROBE, "answers(client)", client=client)
    with pytest.raises(hotswap.UpdateError) as caught:
        app.update(base.replace('def hello(name: str = "world"):',
                                'async def hello(name: str = "world"):'))
    assert f"fa_app_{n}.hello" in str(caught.value) and "async def" in str(caught.value)
    assert caught.value.restart
    assert live(PROBE, "answers(client)", client=client) == before


MIDDLEWARE_APP = '''
from fastapi import FastAPI

app = FastAPI()


@app.get("/")
def root():
    return {"ok": 1}
'''

MIDDLEWARE = '''
@app.middleware("http")
async def mark(request, call_next):
    response = await call_next(request)
    response.headers["x-mw"] = "1"
    return response
'''


def test_a_middleware_added_while_a_request_is_served_is_added(modules, tmp_path):
    """A request served while the decorators run again (by the server's thread, between
    the watcher's staging and its apply) must not make the app start again from a
    half-staged list, nor make the started-app guard refuse the new middleware (the
    update then fell back to running the whole module on a new app, and the live app
    silently never got its middleware: the flake of the uvicorn test)."""
    from fastapi.testclient import TestClient

    n = next(_ids)
    mf = modules(MIDDLEWARE_APP, f"fa_mw_{n}")
    client = TestClient(mf.module.app)
    assert client.get("/").headers.get("x-mw") is None  # started: the stack is built
    served = []

    class Busy(hotswap.Adapter):
        """A server answering a request at the moment decorators run again."""

        @contextlib.contextmanager
        def late_setup(self):  # type: ignore[override]
            served.append(client.get("/").headers.get("x-mw"))
            yield

    busy = Busy()
    hotswap.register_adapter(busy)
    try:
        report = mf.update(textwrap.dedent(MIDDLEWARE_APP) + MIDDLEWARE)
    finally:
        hotswap.unregister_adapter(busy)
    expected = fresh(tmp_path, f"from fastapi.testclient import TestClient\nimport fa_mw_{n} as m\n",
                     "TestClient(m.app).get('/').headers.get('x-mw')")
    assert expected == "1"
    assert client.get("/").headers.get("x-mw") == expected, report
    assert served == [None] and not report.warnings, report  # the old stack answered
