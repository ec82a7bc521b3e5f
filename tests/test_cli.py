"""``python -m hotswap run``: a real program in a child process, its helper module edited
while it runs. Every wait has a deadline; every child is killed in ``finally``."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import hotswap

SRC = str(Path(hotswap.__file__).resolve().parent.parent)
TIMEOUT = 15.0  # generous per-wait deadline; a passing test waits far less

# Prints a start line (argv, sys.path[0]), then "LINE <pid> <token> <value>" until its time
# limit (argv[1]) runs out. The token is new in every process image: os.execv keeps the
# pid, so the token is what tells a restart apart.
APP = """\
import os, sys, time, uuid
{imports}
token = uuid.uuid4().hex[:12]
print("START", token, repr(sys.argv), repr(sys.path[0]), flush=True)
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    print("LINE", os.getpid(), token, {value}, flush=True)
    time.sleep(0.03)
"""

HELPER_V1 = 'def value():\n    return "v1"\n'
HELPER_V2 = 'def value():\n    return "v2" + "!"\n'


def write(path: Path, text: str, mode: int = 0o644) -> None:
    """Save the way editors do: a new file renamed over the old one (atomic: the watcher
    never reads half a file, nor a file whose mode is not set yet)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(textwrap.dedent(text))
    tmp.chmod(mode)
    os.replace(tmp, path)


def app(folder: Path, imports: str = "import helper", value: str = "helper.value()",
        name: str = "app.py") -> Path:
    path = folder / name
    write(path, APP.format(imports=imports, value=value))
    return path


class Child:
    """``python -m hotswap run ARGS`` with its output collected line by line."""

    def __init__(self, args: list[str], cwd: Path, python: str = sys.executable,
                 env: dict[str, str] | None = None) -> None:
        full_env = {k: v for k, v in os.environ.items()
                    if k not in ("HOTSWAP_WATCH", "PYTHONDONTWRITEBYTECODE")}
        full_env.update(env or {})
        self.proc = subprocess.Popen([python, "-m", "hotswap", "run", *args], cwd=cwd,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=full_env)
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(s, lines), daemon=True)
                         for s, lines in ((self.proc.stdout, self.out),
                                          (self.proc.stderr, self.err))]
        for t in self._readers:
            t.start()

    @staticmethod
    def _read(stream, lines: list[str]) -> None:  # type: ignore[no-untyped-def]
        for line in stream:
            lines.append(line.rstrip("\n"))

    # -- what it printed --------------------------------------------------------------

    def lines(self) -> list[tuple[int, str, str]]:
        """(pid, token, value) of every LINE so far."""
        found = []
        for line in list(self.out):
            if line.startswith("LINE "):
                _, pid, token, value = line.split(" ", 3)
                found.append((int(pid), token, value))
        return found

    def values(self) -> list[str]:
        return [v for _, _, v in self.lines()]

    def starts(self) -> list[str]:
        return [line for line in list(self.out) if line.startswith("START ")]

    def stderr(self) -> str:
        return "\n".join(self.err)

    def report(self) -> str:
        return f"\n--- stdout:\n{chr(10).join(self.out[-30:])}\n--- stderr:\n{self.stderr()}"

    # -- waiting ----------------------------------------------------------------------

    def wait_for(self, predicate: Callable[[], bool], what: str,
                 timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            if self.proc.poll() is not None:
                for t in self._readers:
                    t.join(2)
                if predicate():
                    return
                raise AssertionError(f"exited ({self.proc.returncode}) before {what}"
                                     f"{self.report()}")
            time.sleep(0.01)
        raise AssertionError(f"timed out waiting for {what}{self.report()}")

    def wait_value(self, value: str, after: int = 0) -> int:
        """Wait until a LINE printed after the first `after` ones shows `value`; return
        how many lines there are then."""
        self.wait_for(lambda: value in self.values()[after:], f"value {value!r}")
        return len(self.values())

    def wait_err(self, pattern: str) -> re.Match[str]:
        self.wait_for(lambda: re.search(pattern, self.stderr(), re.M) is not None,
                      f"stderr matching {pattern!r}")
        match = re.search(pattern, self.stderr(), re.M)
        assert match is not None
        return match

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.finish()

    def finish(self, timeout: float = TIMEOUT) -> int:
        code = self.proc.wait(timeout)
        for t in self._readers:
            t.join(timeout)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(TIMEOUT)
        for t in self._readers:
            t.join(TIMEOUT)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def spawn() -> Iterator[Callable[..., Child]]:
    children: list[Child] = []
    # A test run started in the background of a shell without job control (``cmd &``)
    # ignores SIGINT, and an ignored signal stays ignored in the children it runs: their
    # Ctrl-C would do nothing. A handler, unlike SIG_IGN, is reset to the default by exec.
    inherited = signal.getsignal(signal.SIGINT)
    if inherited is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def start(*args: str, cwd: Path, **kwargs: object) -> Child:
        child = Child(list(args), cwd, **kwargs)  # type: ignore[arg-type]
        children.append(child)
        return child

    try:
        yield start
    finally:
        for child in children:
            child.kill()
        if inherited is signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def one_pid(child: Child) -> int:
    pids = {pid for pid, _, _ in child.lines()}
    assert len(pids) == 1, child.report()
    return pids.pop()


def one_token(child: Child) -> str:
    tokens = {token for _, token, _ in child.lines()}
    assert len(tokens) == 1, f"the program was restarted{child.report()}"
    return tokens.pop()


# -- tests ---------------------------------------------------------------------------------

def test_edit_applies_live_in_the_same_process(tmp_path: Path, spawn) -> None:
    write(tmp_path / "helper.py", HELPER_V1)
    app(tmp_path)
    child = spawn("--interval", "0.05", "app.py", "20", "--flag", "-m", "x", cwd=tmp_path)
    seen = child.wait_value("v1")
    # The program's arguments, options included, are the program's, as with `python`.
    assert child.starts()[0].split(" ", 2)[2] == \
        f"{['app.py', '20', '--flag', '-m', 'x']!r} {str(tmp_path.resolve())!r}"
    write(tmp_path / "helper.py", HELPER_V2)
    child.wait_value("v2!", after=seen)
    child.wait_err(r"^hotswap: updated helper \(1 function\) in \d+\.\d ms$")
    assert child.stderr().count("hotswap: updated") == 1
    one_pid(child)
    one_token(child)
    assert child.proc.poll() is None  # still running: the edit did not end it
    values = child.values()
    assert values.index("v2!") > 0 and "v1" not in values[values.index("v2!"):]


def test_syntax_error_keeps_old_code_then_fix_applies(tmp_path: Path, spawn) -> None:
    write(tmp_path / "helper.py", HELPER_V1)
    app(tmp_path)
    child = spawn("--interval", "0.05", "app.py", "20", cwd=tmp_path)
    child.wait_value("v1")
    write(tmp_path / "helper.py", 'def value():\n    return "broken" +\n')
    helper = re.escape(str((tmp_path / "helper.py")))
    child.wait_err(rf"^hotswap: update failed, the old code keeps running: .*{helper}:2: "
                   r".*SyntaxError")
    after_error = len(child.values())
    child.wait_for(lambda: len(child.values()) >= after_error + 5, "more lines after the error")
    assert set(child.values()[after_error:]) == {"v1"}  # the old code keeps running
    assert child.stderr().count("SyntaxError") == 1  # said once (not logged again)
    write(tmp_path / "helper.py", 'def value():\n    return "v3" + "!!"\n')
    child.wait_value("v3!!", after=after_error)
    child.wait_err(r"^hotswap: updated helper \(1 function\)")
    assert "broken" not in child.values()
    one_token(child)


def test_module_form(tmp_path: Path, spawn) -> None:
    write(tmp_path / "pkg" / "__init__.py", "")
    write(tmp_path / "pkg" / "helper.py", HELPER_V1)
    app(tmp_path / "pkg", imports="from pkg import helper", name="main.py")
    child = spawn("--interval", "0.05", "-m", "pkg.main", "20", "--verbose", cwd=tmp_path)
    seen = child.wait_value("v1")
    argv = child.starts()[0].split(" ", 2)[2]
    assert argv == f"{[str(tmp_path.resolve() / 'pkg' / 'main.py'), '20', '--verbose']!r} " \
                   f"{str(tmp_path.resolve())!r}"
    write(tmp_path / "pkg" / "helper.py", HELPER_V2)
    child.wait_value("v2!", after=seen)
    child.wait_err(r"^hotswap: updated pkg\.helper \(1 function\) in \d+\.\d ms$")
    assert "--verbose" not in child.stderr() and "generation" not in child.stderr()
    one_token(child)


def test_verbose_shows_the_full_report(tmp_path: Path, spawn) -> None:
    write(tmp_path / "helper.py", HELPER_V1)
    app(tmp_path)
    child = spawn("--verbose", "--interval", "0.05", "app.py", "20", cwd=tmp_path)
    seen = child.wait_value("v1")
    child.wait_err(r"^hotswap: watching helper \(.*helper\.py\)$")
    write(tmp_path / "helper.py", HELPER_V2 + "LIMIT = 3\n")
    child.wait_value("v2!", after=seen)
    child.wait_err(r"^hotswap: updated helper to generation 1 in .*\n"
                   r"  functions patched \(1\): helper\.value\n"
                   r"  names added \(1\): helper\.LIMIT")


def test_quiet_hides_updates_but_not_errors(tmp_path: Path, spawn) -> None:
    write(tmp_path / "helper.py", HELPER_V1)
    app(tmp_path)
    child = spawn("--quiet", "--interval", "0.05", "app.py", "20", cwd=tmp_path)
    seen = child.wait_value("v1")
    write(tmp_path / "helper.py", HELPER_V2)
    seen = child.wait_value("v2!", after=seen)
    write(tmp_path / "helper.py", "def value(:\n")
    child.wait_err(r"^hotswap: update failed.*helper\.py:1: .*SyntaxError")
    assert "hotswap: updated" not in child.stderr()
    assert child.values()[-1] == "v2!"


def test_trust_path_and_a_single_file_target(tmp_path: Path, spawn) -> None:
    helper = tmp_path / "helper.py"
    write(helper, HELPER_V1)
    app(tmp_path)
    child = spawn("--interval", "0.05", "--watch", str(helper), "app.py", "20", cwd=tmp_path)
    seen = child.wait_value("v1")
    write(helper, HELPER_V2, mode=0o666)  # writable by others: the ownership rule refuses it
    child.wait_err(rf"^hotswap: {re.escape(str(helper))}: refused to apply, the old code keeps "
                   r"running: .*writable by group or others")
    after = len(child.values())
    child.wait_for(lambda: len(child.values()) > after + 3, "more lines")
    assert set(child.values()[seen:]) == {"v1"}
    child.kill()

    write(helper, HELPER_V1)
    child = spawn("--interval", "0.05", "--watch", str(helper), "--trust-path", str(tmp_path),
                  "app.py", "20", cwd=tmp_path)
    seen = child.wait_value("v1")
    write(helper, HELPER_V2, mode=0o666)
    child.wait_value("v2!", after=seen)
    child.wait_err(r"^hotswap: updated helper \(1 function\)")
    assert "refused" not in child.stderr()


def test_ctrl_c_ends_with_130_and_no_traceback(tmp_path: Path, spawn) -> None:
    write(tmp_path / "helper.py", HELPER_V1)
    app(tmp_path)
    child = spawn("--interval", "0.05", "app.py", "20", cwd=tmp_path)
    child.wait_value("v1")
    assert child.interrupt() == 130
    assert "Traceback" not in child.stderr() and "KeyboardInterrupt" not in child.stderr()

    # The program's own handling of Ctrl-C still applies.
    write(tmp_path / "own.py", """\
        import sys, time
        try:  # READY inside the try: a Ctrl-C right after it must reach the handler
            print("READY", flush=True)
            time.sleep(30)
        except KeyboardInterrupt:
            print("cleaning up", flush=True)
            sys.exit(3)
        """)
    child = spawn("own.py", cwd=tmp_path)
    child.wait_for(lambda: "READY" in child.out, "READY")
    assert child.interrupt() == 3
    assert "cleaning up" in child.out
    assert "Traceback" not in child.stderr()


def test_exit_codes_and_the_programs_own_traceback(tmp_path: Path) -> None:
    write(tmp_path / "boom.py", """\
        def fail():
            raise ValueError("boom")
        fail()
        """)
    write(tmp_path / "bye.py", "import sys\nprint('bye')\nsys.exit(7)\n")
    run = [sys.executable, "-m", "hotswap", "run"]
    boom = subprocess.run([*run, "boom.py"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert boom.returncode == 1
    assert boom.stderr.startswith("Traceback (most recent call last):\n"), boom.stderr
    assert 'boom.py", line 3, in <module>' in boom.stderr
    assert boom.stderr.rstrip().endswith("ValueError: boom")
    assert "runpy" not in boom.stderr and "_cli.py" not in boom.stderr
    bye = subprocess.run([*run, "bye.py"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=TIMEOUT)
    assert (bye.returncode, bye.stdout, bye.stderr) == (7, "bye\n", "")
    usage = subprocess.run([*run], cwd=tmp_path, capture_output=True, text=True,
                           timeout=TIMEOUT)
    assert usage.returncode == 2 and "SCRIPT" in usage.stderr


def test_help() -> None:
    run = subprocess.run([sys.executable, "-m", "hotswap", "run", "--help"],
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert run.returncode == 0
    assert run.stdout.startswith("usage: python -m hotswap run [options] (SCRIPT | -m MODULE)")
    text = " ".join(run.stdout.split())
    assert "The script itself (the __main__ module, or MODULE with -m) is running code and " \
           "is not updated" in text
    for option in ("--watch PATH", "--interval SECONDS", "--trust-path PATH",
                   "--restart-on-refusal", "--quiet", "--verbose"):
        assert option in run.stdout
    top = subprocess.run([sys.executable, "-m", "hotswap", "--help"], capture_output=True,
                         text=True, timeout=TIMEOUT)
    assert re.search(r"^\s+run\s+run a program, updating its modules live", top.stdout, re.M)


GREETER_V1 = """\
class Base:
    def hello(self):
        return "base"

class Greeter(Base):
    def hello(self):
        return "v1"

def value():
    return Greeter().hello()
"""

# Greeter.hello newly uses zero-argument super(): its free variables change (a __class__
# cell), so references taken earlier stay on the old body: report.skipped is not empty.
GREETER_V2 = GREETER_V1.replace('return "v1"', 'return "v2-" + super().hello()')


def test_zero_arg_super_edit_is_refused_in_process(modules) -> None:
    """The premise of the refusal tests below, checked on the engine directly."""
    mod = modules(GREETER_V1)
    report = mod.update(GREETER_V2)
    assert report.changed
    assert [name for name, _ in report.skipped] == [f"{mod.name}.Greeter.hello"]


def test_refused_edit_is_shown_as_not_applied_live(tmp_path: Path, spawn) -> None:
    write(tmp_path / "helper.py", GREETER_V1)
    script = app(tmp_path)
    child = spawn("--interval", "0.05", "app.py", "20", cwd=tmp_path)
    seen = child.wait_value("v1")
    write(tmp_path / "helper.py", GREETER_V2)
    child.wait_err(r"^hotswap: not applied live: helper\.Greeter\.hello: free variables")
    child.wait_value("v2-base", after=seen)
    # The __main__ script is running code: an edit to it is not applied either, and said.
    write(script, script.read_text() + "# edited\n")
    child.wait_err(r"^hotswap: not applied live: .*app\.py is the running __main__ script")
    seen = len(child.values())
    child.wait_for(lambda: len(child.values()) > seen + 3, "more lines")
    one_token(child)
    assert "restarting" not in child.stderr()


def test_restart_on_refusal(tmp_path: Path, spawn) -> None:
    write(tmp_path / "helper.py", GREETER_V1)
    app(tmp_path)
    child = spawn("--restart-on-refusal", "--interval", "0.05", "app.py", "20", "--flag",
                  cwd=tmp_path)
    child.wait_value("v1")
    token = one_token(child)
    write(tmp_path / "helper.py", GREETER_V2)
    child.wait_err(r"^hotswap: not applied live: helper\.Greeter\.hello")
    child.wait_err(r"^hotswap: restarting the program")
    child.wait_for(lambda: len(child.starts()) == 2, "the program to start again")
    child.wait_for(lambda: any(t != token for _, t, _ in child.lines()), "the restarted program")
    restarted = [(p, v) for p, t, v in child.lines() if t != token]
    # A new program (new token, fresh state, same arguments) running the new code from
    # its first line; exec keeps the process id, so whoever waits on it keeps waiting.
    assert {v for _, v in restarted} == {"v2-base"}
    assert child.starts()[1].split(" ", 2)[2] == child.starts()[0].split(" ", 2)[2]
    assert {p for p, _ in restarted} == {child.proc.pid}
    # A plain edit after the restart applies live again.
    seen = len(child.values())
    write(tmp_path / "helper.py", GREETER_V2.replace('"v2-"', '"v3-"'))
    child.wait_value("v3-base", after=seen)
    assert len(child.starts()) == 2
    assert child.interrupt() == 130


def test_site_packages_only_when_asked_by_path(tmp_path: Path, spawn) -> None:
    """A venv inside the script's directory: its site-packages is a library directory of
    the interpreter running the program, never updated unless --watch names it."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / ".venv")],
                   check=True, timeout=60)
    python = str(tmp_path / ".venv" / "bin" / "python")
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path("
                                "'purelib'))"], capture_output=True, text=True, check=True,
                               timeout=TIMEOUT).stdout.strip())
    assert site.is_relative_to(tmp_path / ".venv")
    write(site / "libmod.py", 'def value():\n    return "lib1"\n')
    write(tmp_path / "helper.py", HELPER_V1)
    app(tmp_path, imports="import libmod, helper", value='helper.value(), libmod.value()')
    env = {"PYTHONPATH": SRC}

    child = spawn("-v", "--interval", "0.05", "app.py", "20", cwd=tmp_path, python=python,
                  env=env)
    seen = child.wait_value("v1 lib1")
    # helper was imported after libmod: once the watcher has taken helper in, it has
    # looked at libmod too. Then libmod is edited first: the poll that applies helper's
    # edit has seen libmod's.
    child.wait_err(r"^hotswap: watching helper \(")
    write(site / "libmod.py", 'def value():\n    return "lib2" + "!"\n')
    write(tmp_path / "helper.py", HELPER_V2)
    child.wait_value("v2! lib1", after=seen)
    assert "libmod" not in child.stderr()
    child.kill()

    write(site / "libmod.py", 'def value():\n    return "lib1"\n')
    child = spawn("-v", "--interval", "0.05", "--watch", str(site), "app.py", "20", cwd=tmp_path,
                  python=python, env=env)
    seen = child.wait_value("v2! lib1")
    # A library module's source is not kept at import: an edit before the watcher first
    # looked at the file would be taken for the version running.
    child.wait_err(r"^hotswap: watching libmod \(")
    write(tmp_path / "helper.py", HELPER_V1)  # --watch replaces the default: not applied
    write(site / "libmod.py", 'def value():\n    return "lib2" + "!"\n')
    child.wait_value("v2! lib2!", after=seen)
    child.wait_err(r"^hotswap: updated libmod to generation 1 .*\n  functions patched \(1\): "
                   r"libmod\.value$")
    assert "helper" not in child.stderr()
