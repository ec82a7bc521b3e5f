# ruff: noqa: E501  (tables of source edits read best one edit a line)
"""The issue's first scenario, end to end: ``python -m hotswap run -m uvicorn app:app``,
then everyday edits saved to app.py while the server runs. Each answer of the live server
(over HTTP) must equal a fresh process's answer to the same request. And an edit hotswap
refuses (a changed SQLAlchemy column) restarts the program under
``--restart-on-refusal``."""

from __future__ import annotations

import concurrent.futures
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from helpers.fw_fresh import SRC, fresh

pytestmark = pytest.mark.heavy
pytest.importorskip("uvicorn")

MODELS = """
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
"""

APP = """
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from models import Item, Out

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
    return {"msg": f"hello {name}"}


@app.get("/ahello")
async def ahello(name: str = "world"):
    return {"msg": f"ahello {name}"}


@app.post("/items", response_model=Out)
def create(item: Item, s: dict = Depends(settings)):
    return {"name": item.name, "total": item.price * s["factor"], "extra": 1,
            "price": item.price}


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
"""

# The whole FastAPI list, applied one after the other to the running server:
# (what, file, old text, new text).
EDITS = [
    ("endpoint body (sync)", "app", 'f"hello {name}"', 'f"hi there {name}"'),
    ("endpoint body (async)", "app", 'f"ahello {name}"', 'f"async hi {name}"'),
    ("query parameter added", "app", 'def hello(name: str = "world"):\n    return {"msg": f"hi there {name}"}',
     'def hello(name: str = "world", excited: bool = False):\n    return {"msg": f"hi there {name}", "excited": excited}'),
    ("query parameter type changed", "app", 'def hello(name: str = "world", ', "def hello(name: int = 0, "),
    ("query parameter default changed", "app", "def hello(name: int = 0, ", "def hello(name: int = 5, "),
    ("query parameter removed", "app", 'def hello(name: int = 5, excited: bool = False):\n    return {"msg": f"hi there {name}", "excited": excited}',
     'def hello(name: int = 5):\n    return {"msg": f"hi there {name}"}'),
    ("path changed", "app", '@app.get("/hello")', '@app.get("/hi")'),
    ("status_code changed", "app", '@app.post("/items", response_model=Out)', '@app.post("/items", response_model=Out, status_code=201)'),
    ("request model gains a field (other module)", "models", "    price: float = 1.0\n", "    price: float = 1.0\n    qty: int = 1\n"),
    ("request model loses a field (other module)", "models", "    tag: Tag | None = None\n", ""),
    ("request model field type changed (other module)", "models", "    price: float = 1.0\n", "    price: int = 1\n"),
    ("response model gains a field", "models", "    total: float\n", "    total: float\n    currency: str = 'EUR'\n"),
    ("response model loses a field", "models", "class Out(BaseModel):\n    name: str\n", "class Out(BaseModel):\n"),
    ("response model field type changed", "models", "    total: float\n", "    total: int\n"),
    ("model in the same module gains a field", "app", "class Local(BaseModel):\n    a: int\n", "class Local(BaseModel):\n    a: int\n    b: int = 0\n"),
    ("model in the same module: field type changed", "app", "    a: int\n    b: int = 0\n", "    a: str\n    b: int = 0\n"),
    ("dependency body changed", "app", 'return {"factor": 2}', 'return {"factor": 3}'),
    ("response_model switched", "app", "response_model=Out, status_code=201", "response_model=Item, status_code=201"),
    ("dependency added", "app", 'def hello(name: int = 5):\n    return {"msg": f"hi there {name}"}',
     'def hello(name: int = 5, s: dict = Depends(settings)):\n    return {"msg": f"hi there {name}", "factor": s["factor"]}'),
    ("route added to the app", "app", "app.include_router(router)", '@app.get("/new")\ndef new():\n    return {"new": 1}\n\n\napp.include_router(router)'),
    ("route added to an included router", "app", "app.include_router(router)", '@router.get("/pong")\ndef pong():\n    return {"ping": 1}\n\n\napp.include_router(router)'),
    ("exception handler added", "app", '@app.get("/hi")', "@app.exception_handler(Bang)\ndef on_bang(request: Request, exc: Bang):\n"
     "    return JSONResponse({'bang': 2}, status_code=419)\n\n\n@app.get(\"/hi\")"),
    ("exception handler changed", "app", 'JSONResponse({"boom": 1}, status_code=418)', 'JSONResponse({"boom": 2}, status_code=417)'),
    ("middleware added", "app", "@app.exception_handler(Boom)", '@app.middleware("http")\nasync def second(request: Request, call_next):\n'
     '    response = await call_next(request)\n    response.headers["x-mw"] = (response.headers.get("x-mw") or "") + "+2"\n'
     "    return response\n\n\n@app.exception_handler(Boom)"),
    ("middleware changed", "app", 'response.headers["x-mw"] = "1"', 'response.headers["x-mw"] = "2"'),
]

REQUESTS = [
    ("GET", "/hello", {"name": "7", "excited": "true"}, None),
    ("GET", "/hi", {"name": "7"}, None),
    ("GET", "/hi", {}, None),
    ("GET", "/ahello", {}, None),
    ("POST", "/items", {}, {"name": "x", "price": 2, "qty": 5, "tag": {"label": "t"}}),
    ("POST", "/items", {}, {"name": "x", "price": 2.5}),
    ("POST", "/echo", {}, {"name": "x", "price": 2, "qty": 5, "tag": {"label": "t"}}),
    ("POST", "/local", {}, {"a": 1, "b": 2}),
    ("GET", "/r/ping", {}, None),
    ("GET", "/r/pong", {}, None),
    ("GET", "/new", {}, None),
    ("GET", "/boom", {}, None),
    ("GET", "/bang", {}, None),
    ("GET", "/openapi.json", {}, None),
]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _save(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _body(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode()


def _ask(port: int) -> dict[str, list[object]]:
    """The live server's answers, over HTTP."""
    out = {}
    for method, path, params, body in REQUESTS:
        data = json.dumps(body).encode() if body is not None else None
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}{query}", data=data,
                                     method=method, headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                out[f"{method} {path} {params} {body}"] = [r.status, _body(r.read()), r.headers.get("x-mw")]
        except urllib.error.HTTPError as e:
            out[f"{method} {path} {params} {body}"] = [e.code, _body(e.read()), e.headers.get("x-mw")]
    return out


FRESH_PROBE = """
from fastapi.testclient import TestClient
import app as mod

REQUESTS = @REQUESTS@
client = TestClient(mod.app, raise_server_exceptions=False)


def answers():
    out = {}
    for method, path, params, body in REQUESTS:
        r = client.request(method, path, params=params or None, json=body)
        try:
            content = r.json()
        except ValueError:
            content = r.text
        out[f"{method} {path} {params} {body}"] = [r.status_code, content, r.headers.get("x-mw")]
    return out
"""


class Server:
    def __init__(self, folder: Path, args: list[str]) -> None:
        env = {k: v for k, v in os.environ.items() if k != "HOTSWAP_WATCH"}
        env["PYTHONPATH"] = os.pathsep.join([SRC, str(folder)])
        self.proc = subprocess.Popen([sys.executable, "-m", "hotswap", "run", "-v", "--interval", "0.1",
                                      *args], cwd=folder, env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines: list[str] = []
        threading.Thread(target=lambda: self.lines.extend(self.proc.stdout or []),
                         daemon=True).start()

    def wait(self, predicate, what: str, timeout: float = 60.0):  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            try:
                last = predicate()
                if last:
                    return last
            except OSError as exc:
                last = exc
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what} ({last!r}):\n" + "".join(self.lines))

    def reports(self) -> int:
        """How many updates the watcher has reported (each after it applied)."""
        return sum(line.startswith("hotswap: updated ") for line in list(self.lines))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _versions(root: Path) -> list[dict[str, str]]:
    """The sources after each edit (the first: before any), each written to a folder
    of its own for the fresh processes."""
    texts = {"app": textwrap.dedent(APP), "models": textwrap.dedent(MODELS)}
    out = [dict(texts)]
    for what, key, old, new in EDITS:
        assert texts[key].count(old) == 1, what
        texts[key] = texts[key].replace(old, new)
        out.append(dict(texts))
    for i, version in enumerate(out):
        (root / f"v{i:02}").mkdir()
        for key, text in version.items():
            (root / f"v{i:02}" / f"{key}.py").write_text(text)
    return out


def test_the_fastapi_edits_under_a_real_uvicorn_server(tmp_path):
    """Each edit of the issue's FastAPI list saved while uvicorn serves: once the watcher
    has reported the update (it reports after applying), the server's answers (and its
    OpenAPI schema) are a fresh process's, which imports the new source."""
    live_dir, oracle = tmp_path / "live", tmp_path / "oracle"
    live_dir.mkdir()
    oracle.mkdir()
    versions = _versions(oracle)
    probe = FRESH_PROBE.replace("@REQUESTS@", repr(REQUESTS))
    with concurrent.futures.ThreadPoolExecutor(2) as pool:  # the fresh processes, meanwhile
        expected = [pool.submit(fresh, oracle / f"v{i:02}", probe, "answers()")
                    for i in range(len(versions))]
        for key, text in versions[0].items():
            _save(live_dir / f"{key}.py", text)
        port = _port()
        server = Server(live_dir, ["-m", "uvicorn", "app:app", "--port", str(port)])
        try:
            server.wait(lambda: _ask(port), "the server to answer")
            assert _ask(port) == expected[0].result(), "".join(server.lines)
            for i, (what, key, _old, _new) in enumerate(EDITS, 1):
                done = server.reports()
                _save(live_dir / f"{key}.py", versions[i][key])
                server.wait(lambda done=done: server.reports() > done, f"the update of {what!r}")
                want = expected[i].result()
                assert want != expected[i - 1].result(), f"{what}: the edit changes no answer"
                assert _ask(port) == want, f"{what}:\n" + "".join(server.lines)
            # (the report may name an old route object a finished request's scope still
            # holds, kept by the connection: the answers above are what a user sees)
            out = "".join(server.lines)
            assert "refused" not in out, out
        finally:
            server.stop()


ORM = '''
import time
from sqlalchemy import create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import model


print("START", model.Item.__table__.c.qty.default.arg, flush=True)
while True:
    time.sleep(0.1)
'''

MODEL = '''
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    qty: Mapped[int] = mapped_column(default=1)
'''


def test_a_refused_edit_restarts_the_program_with_restart_on_refusal(tmp_path):
    _save(tmp_path / "model.py", textwrap.dedent(MODEL))
    _save(tmp_path / "main.py", textwrap.dedent(ORM))
    server = Server(tmp_path, ["--restart-on-refusal", "main.py"])
    try:
        server.wait(lambda: any(line.startswith("START 1") for line in server.lines), "start")
        _save(tmp_path / "model.py", textwrap.dedent(MODEL).replace("default=1", "default=3"))
        server.wait(lambda: any(line.startswith("START 3") for line in server.lines),
                    "the restart")
        out = "".join(server.lines)
        assert "SQLAlchemy" in out and "model.Item" in out and "restarting" in out
    finally:
        server.stop()
