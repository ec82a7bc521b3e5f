# ruff: noqa: E501  (tables of source edits read best one edit a line)
"""The issue's first scenario, end to end: ``python -m hotswap run -m uvicorn app:app``,
then everyday edits saved to app.py while the server runs. Each answer of the live server
(over HTTP) must equal a fresh process's answer to the same request. And an edit hotswap
refuses (a changed SQLAlchemy column) restarts the program under
``--restart-on-refusal``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from helpers.fw_fresh import SRC, fresh

pytestmark = pytest.mark.heavy
pytest.importorskip("uvicorn")

APP = '''
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Item(BaseModel):
    name: str


@app.get("/hello")
def hello(name: str = "world"):
    return {"msg": f"hello {name}"}


@app.post("/items")
def create(item: Item):
    return item
'''

EDITS = [
    ('def hello(name: str = "world"):\n    return {"msg": f"hello {name}"}',
     'def hello(name: str = "world", excited: bool = False):\n'
     '    return {"msg": f"hello {name}" + "!" * excited}'),
    ("    name: str\n", "    name: str\n    qty: int = 1\n"),
    ("@app.post", '@app.get("/new")\ndef new():\n    return {"new": 1}\n\n\n@app.post'),
    ("app = FastAPI()\n", 'app = FastAPI()\n\n\n@app.middleware("http")\nasync def mark(request, '
     'call_next):\n    response = await call_next(request)\n    response.headers["x-mw"] = "1"\n'
     '    return response\n'),
]

REQUESTS = [("GET", "/hello?excited=true", None), ("POST", "/items", {"name": "a"}),
            ("GET", "/new", None)]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _save(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _ask(port: int) -> dict[str, list[object]]:
    out = {}
    for method, path, body in REQUESTS:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                     headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                out[f"{method} {path}"] = [r.status, json.loads(r.read()), r.headers.get("x-mw")]
        except urllib.error.HTTPError as e:
            out[f"{method} {path}"] = [e.code, json.loads(e.read()), e.headers.get("x-mw")]
    return out


FRESH_PROBE = '''
from fastapi.testclient import TestClient
import app as mod

REQUESTS = @REQUESTS@
client = TestClient(mod.app)


def answers():
    out = {}
    for method, path, body in REQUESTS:
        r = client.request(method, path, json=body)
        out[f"{method} {path}"] = [r.status_code, r.json(), r.headers.get("x-mw")]
    return out
'''


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
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what} ({last!r}):\n" + "".join(self.lines))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def test_edits_under_a_real_uvicorn_server(tmp_path):
    app = tmp_path / "app.py"
    _save(app, textwrap.dedent(APP))
    port = _port()
    server = Server(tmp_path, ["-m", "uvicorn", "app:app", "--port", str(port)])
    try:
        server.wait(lambda: _ask(port), "the server to answer")
        text = textwrap.dedent(APP)
        for old, new in EDITS:
            assert text.count(old) == 1
            text = text.replace(old, new)
            before = _ask(port)
            _save(app, text)
            server.wait(lambda before=before: _ask(port) != before, "the edit to take effect")
            expected = fresh(tmp_path, FRESH_PROBE.replace("@REQUESTS@", repr(REQUESTS)), "answers()")
            assert _ask(port) == expected, "".join(server.lines)
        assert not any("left on old version" in line for line in server.lines)
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
