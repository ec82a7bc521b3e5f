"""asyncio: a TCP server's handler edited while it serves (the update made from another
thread, and from inside the running loop between two awaits), a task calling module
functions every iteration, and a running task whose own loop body was edited: new calls
run the new code (compared with a fresh process), and the report says how many running
frames still execute the old version, naming the function."""

from __future__ import annotations

import asyncio
import itertools
import textwrap
import threading

import pytest

import hotswap

from helpers.fw_fresh import fresh

pytestmark = pytest.mark.heavy

SOURCE = '''
import asyncio

TICKS = []


def step(i):
    return i * 2


def reply(line):
    return line.upper()


async def handle(reader, writer):
    while True:
        line = await reader.readline()
        if not line:
            break
        writer.write((reply(line.decode().strip()) + "\\n").encode())
        await writer.drain()
    writer.close()


async def ticker():
    i = 0
    while True:
        TICKS.append(step(i))
        i += 1
        await asyncio.sleep(0.005)
'''

EDITED = {
    "reply": ("return line.upper()", "return line[::-1]"),
    "handle": ('(reply(line.decode().strip()) + "\\n")', '(reply(line.decode().strip()) + "!\\n")'),
    "step": ("return i * 2", "return i * 3"),
    "ticker": ("TICKS.append(step(i))", "TICKS.append(-step(i))"),
}

_ids = itertools.count()


async def _ask(port, lines, reader=None, writer=None):
    if reader is None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    out = []
    for line in lines:
        writer.write((line + "\n").encode())
        await writer.drain()
        out.append((await reader.readline()).decode().strip())
    return out, reader, writer


def _fresh_answers(tmp_path, name):
    probe = f'''
import asyncio
import {name} as mod


async def main():
    server = await asyncio.start_server(mod.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    out = []
    for line in ["abc", "hello"]:
        writer.write((line + "\\n").encode())
        await writer.drain()
        out.append((await reader.readline()).decode().strip())
    writer.close()
    server.close()
    return {{"replies": out, "steps": [mod.step(i) for i in range(3)]}}

RESULT = asyncio.run(main())
'''
    return fresh(tmp_path, probe, "RESULT")


@pytest.mark.parametrize("where", ["thread", "loop"])
def test_a_server_edited_while_it_serves(where, modules, tmp_path):
    name = f"aio_mod_{next(_ids)}"
    mf = modules(SOURCE, name)
    mod = mf.module
    source = textwrap.dedent(SOURCE)
    for key in ("reply", "handle", "step", "ticker"):
        old, new = EDITED[key]
        assert source.count(old) == 1, old
        source = source.replace(old, new)

    async def main():
        server = await asyncio.start_server(mod.handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        task = asyncio.ensure_future(mod.ticker())
        before, reader, writer = await _ask(port, ["abc"])  # a connection held open
        await asyncio.sleep(0.02)
        mf.write(source)
        if where == "thread":
            reports: list[object] = []

            def watcher() -> None:
                try:
                    reports.append(hotswap.update(mod))
                except BaseException as exc:  # noqa: BLE001 - handed to the test
                    reports.append(exc)
            t = threading.Thread(target=watcher)
            t.start()
            while t.is_alive():
                await asyncio.sleep(0.005)  # the loop keeps serving meanwhile
            report = reports[0]
            if isinstance(report, BaseException):
                raise report
        else:
            report = hotswap.update(mod)  # from inside the loop, between two awaits
        ticks = len(mod.TICKS)
        await asyncio.sleep(0.05)
        new_ticks = mod.TICKS[ticks:]
        held, _, _ = await _ask(port, ["abc", "hello"], reader, writer)  # old handler frame
        fresh_conn, r2, w2 = await _ask(port, ["abc", "hello"])
        for w in (writer, w2):
            w.close()
        task.cancel()
        server.close()
        return before, report, new_ticks, held, fresh_conn

    before, report, new_ticks, held, fresh_conn = asyncio.run(main())
    expected = _fresh_answers(tmp_path, name)
    assert before == ["ABC"]
    assert fresh_conn == expected["replies"]  # a new connection runs the new handler
    assert [mod.step(i) for i in range(3)] == expected["steps"]
    # the ticker's suspended frame runs its old body, which calls the new step()
    assert new_ticks and all(t >= 0 and t % 3 == 0 for t in new_ticks)
    # the held connection's handler frame runs the old handle (no "!"), calling the new reply
    assert held == ["cba", "olleh"]
    skipped = dict(report.skipped)
    assert f"{name}.handle" in skipped and "1 running frame(s)" in skipped[f"{name}.handle"]
    assert "suspended coroutine" in skipped[f"{name}.handle"]
    assert f"{name}.ticker" in skipped and "1 suspended coroutine" in skipped[f"{name}.ticker"]
    assert f"{name}.step" not in skipped and f"{name}.reply" not in skipped
