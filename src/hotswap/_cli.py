"""``python -m hotswap run``: run a program and update its modules as their files change.

The program runs on the main thread exactly as ``python script.py`` / ``python -m module``
would run it (as ``__main__``, with ``sys.argv`` and ``sys.path[0]`` set the same way); a
`Watcher` polls on a background thread and every update it applies, or refuses, is told on
stderr in one line. The program's own ``__main__`` module is running code and is never
updated: an edit to it is reported as not applied live (or restarts the program with
``--restart-on-refusal``).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import logging
import os
import runpy
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import ModuleType, TracebackType
from typing import NoReturn

from ._errors import UpdateError
from ._report import Report
from ._sources import REGISTRY, source_path
from ._watch import Watcher

USAGE = "%(prog)s [options] (SCRIPT | -m MODULE) [ARGS ...]"

DESCRIPTION = """\
Run a Python program and update its modules live whenever their source files are saved.

The program runs as `python SCRIPT ARGS` or `python -m MODULE ARGS` would run it (as
__main__, with the same sys.argv). A background thread watches the modules loaded from
the program's directory (the script's directory; for -m, the current directory and the
package's top directory) or from the --watch paths instead, and applies each saved edit to
the running program, keeping its objects and state. The standard library and
site-packages are never updated unless a --watch path names them.

The script itself (the __main__ module, or MODULE with -m) is running code and is not
updated: edit the modules it imports. An edit to it, or one that leaves something on the
old version (see the report's "left on old version"), is shown as "not applied live";
--restart-on-refusal restarts the program instead (so it does for an edit refused because
a framework's derived state cannot be rebuilt live, such as a changed column of an ORM
model). An edit that fails (a syntax error, an
exception while the new code runs) is reported with its file and line and changes
nothing: the program keeps running the old code. Ctrl-C ends the program (exit code 130).
"""

EPILOG = """\
examples:
  %(prog)s app.py --port 8000
  %(prog)s -m app.server --port 8000
  %(prog)s --watch src --watch plugins/extra.py --interval 0.2 app.py
"""

INTERRUPTED = 130  # what a shell reports for a program ended by SIGINT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``run``. The program and its arguments are everything from
    SCRIPT (or -m MODULE) on, options included, as with ``python`` itself."""
    parser.add_argument("--watch", action="append", default=[], metavar="PATH",
                        help="watch the modules loaded from PATH (a directory or a .py file); "
                             "repeatable; replaces the default (the program's directory). "
                             "A path inside site-packages or the standard library is "
                             "honoured")
    parser.add_argument("--interval", type=_positive_float, default=0.5, metavar="SECONDS",
                        help="how often the watcher looks at the files (default: 0.5)")
    parser.add_argument("--trust-path", action="append", default=[], metavar="PATH",
                        help="apply files under PATH even when the ownership rule would "
                             "refuse them (not ours, or writable by others); repeatable")
    parser.add_argument("--restart-on-refusal", action="store_true",
                        help="when an edit cannot be applied live (something would stay on "
                             "the old version, or the __main__ script changed), restart the "
                             "program with the same command line instead")
    loud = parser.add_mutually_exclusive_group()
    loud.add_argument("-q", "--quiet", action="store_true",
                      help="no line per applied update (errors and refusals are still shown)")
    loud.add_argument("-v", "--verbose", action="store_true",
                      help="show each update's full report, and what is watched")
    parser.add_argument("-m", dest="module", nargs=argparse.REMAINDER, metavar="MODULE",
                        help="-m MODULE [ARGS ...]: run library module MODULE as a script "
                             "(the rest of the line is its arguments)")
    parser.add_argument("program", nargs=argparse.REMAINDER, metavar="SCRIPT [ARGS ...]",
                        help="the script to run, then its arguments")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {text!r}")
    return value


# -- what is run ---------------------------------------------------------------------------

class Program:
    """The program named on the command line: a script path or a module name, its argv."""

    def __init__(self, script: str | None, module: str | None, argv: list[str]) -> None:
        self.script = script
        self.module = module
        self.argv = argv  # without argv[0]

    @classmethod
    def from_args(cls, args: argparse.Namespace,
                  error: Callable[[str], NoReturn]) -> Program:
        rest = list(args.program)
        if args.module is not None:
            # "-m pkg.mod a b" -> module=[pkg.mod, a, b]; "-mpkg.mod a" -> module=[pkg.mod]
            # and the rest as positionals.
            words = [*args.module, *rest]
            if not words or not words[0] or words[0].startswith("-"):
                error("argument -m: expected a module name")
            return cls(None, words[0], words[1:])
        if rest and rest[0] == "--":
            rest = rest[1:]
        if not rest:
            error("the following arguments are required: SCRIPT (or -m MODULE)")
        script = rest[0]
        if not os.path.exists(script):
            error(f"can't open file {os.path.abspath(script)!r}: no such file or directory")
        return cls(script, None, rest[1:])

    def default_watch(self) -> list[str]:
        """The program's directory: the script's, or for -m the current directory plus the
        top package's directory when that lies elsewhere (not in a library directory)."""
        if self.script is not None:
            real = os.path.realpath(self.script)
            return [real if os.path.isdir(real) else os.path.dirname(real)]
        assert self.module is not None
        cwd = os.getcwd()
        found = [cwd]
        try:
            spec = importlib.util.find_spec(self.module.partition(".")[0])
        except (ImportError, ValueError):
            spec = None
        if spec is not None:
            places = list(spec.submodule_search_locations or [])
            if not places and spec.origin and spec.has_location:
                places = [os.path.dirname(spec.origin)]
            for place in places:
                real = os.path.realpath(place)
                if not _inside(real, cwd) and not REGISTRY.is_library(real):
                    found.append(real)
        return found

    def set_sys(self) -> None:
        """``sys.argv`` and ``sys.path[0]`` as ``python`` sets them for this program."""
        if self.script is not None:
            sys.argv = [self.script, *self.argv]
            first = os.path.realpath(self.script)
            if not os.path.isdir(first) and not _is_zip(first):
                first = os.path.dirname(first)
        else:
            sys.argv = [str(self.module), *self.argv]  # runpy sets argv[0] to the file
            first = os.getcwd()
        if not sys.flags.safe_path:
            if sys.path:
                sys.path[0] = first
            else:
                sys.path.insert(0, first)

    def run(self) -> None:
        if self.script is not None:
            runpy.run_path(self.script, run_name="__main__")
        else:
            assert self.module is not None
            runpy.run_module(self.module, run_name="__main__", alter_sys=True)


def _is_zip(path: str) -> bool:
    import zipfile

    return os.path.isfile(path) and zipfile.is_zipfile(path)


def _inside(path: str, folder: str) -> bool:
    folder = folder.rstrip(os.sep) + os.sep
    return path == folder.rstrip(os.sep) or path.startswith(folder)


# -- what is said --------------------------------------------------------------------------

def not_live(report: Report) -> list[str]:
    """One line per thing the update left on its old version."""
    return [f"hotswap: not applied live: {name}: {why}" for name, why in report.skipped]


def failure(exc: UpdateError) -> str:
    """The line for an update that failed and changed nothing, naming file and line."""
    text = str(exc)
    if exc.filename and exc.lineno is not None and f"{exc.filename}:{exc.lineno}" not in text:
        text = f"{exc.filename}:{exc.lineno}: {text}"
    if "the old code keeps running" in text:  # a refusal by the watcher says it already
        return f"hotswap: {text}"
    return f"hotswap: update failed, the old code keeps running: {text}"


def say(line: str) -> None:
    """One whole line to the program's stderr (whatever it is now), never raising."""
    stream = sys.stderr if sys.stderr is not None else sys.__stderr__
    if stream is None:
        return
    try:
        stream.write(line + "\n")
        stream.flush()
    except Exception:  # noqa: BLE001 - whatever the program made of stderr
        pass


class _SpokenFor(logging.Filter):
    """Drops the watcher's own log records of the errors the runner prints itself, when
    they would otherwise reach stderr a second time through logging's last resort."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__()
        self.logger = logger

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if any(isinstance(a, UpdateError) for a in args):
            return self.logger.hasHandlers()  # the program configured logging: keep it
        return True


# -- the watcher ---------------------------------------------------------------------------

class RunWatcher(Watcher):
    """A Watcher that reports each poll on stderr, leaves the running ``__main__`` module
    alone (telling when its file changes), also watches single files, and can restart."""

    def __init__(self, targets: Iterable[str], *, quiet: bool, verbose: bool,
                 restart: Callable[[str, Iterable[str]], None] | None,
                 main_file: str | None, trust: Iterable[str], explicit: bool) -> None:
        dirs: list[Path] = []
        self._file_targets: set[str] = set()
        for t in targets:
            real = os.path.realpath(t)
            if os.path.isdir(real):
                dirs.append(Path(real))
            else:
                self._file_targets.add(real)
        own = os.path.dirname(os.path.realpath(__file__))
        # hotswap's own modules are the runner, not the program: watched only when a
        # target lies inside hotswap's package.
        self._skip_own = not any(_inside(os.path.realpath(t), own) for t in targets)
        self._runner_main = sys.modules.get("__main__")
        self._main_file = main_file
        self._main_seen: tuple[tuple[int, int, int] | None, bytes | None] | None = None
        self._explicit = explicit  # targets named by --watch: library modules may count
        self.quiet = quiet
        self.verbose = verbose
        self._restart = restart
        self._pid = os.getpid()
        self.edited: set[str] = set()  # files applied (or refused) since the start
        self._told: set[str] = set()  # files named by --verbose so far
        super().__init__(dirs, trust=trust)
        self._check_main()  # the script's text as it starts (for -m: once it is known)

    def _wanted(self, name: str, module: ModuleType) -> str | None:
        if name in ("__main__", "__mp_main__"):
            return None  # running code: never updated (see `_check_main`)
        if self._skip_own and (name == "hotswap" or name.startswith("hotswap.")):
            return None
        path = super()._wanted(name, module)
        if path is not None and not self._explicit and REGISTRY.is_library(path):
            return None  # the default targets never take in a library directory
        if path is None and self._file_targets:
            found = source_path(module)
            if found is not None and os.path.realpath(found) in self._file_targets:
                return found
        return path

    def poll(self) -> list[Report]:
        before = list(self.errors)
        try:
            reports = super().poll()
        except Exception:  # noqa: BLE001 - an engine bug must not end the program
            say("hotswap: the watcher failed (the old code keeps running):\n"
                + traceback.format_exc().rstrip())
            return []
        refused: list[str] = []
        for err in [e for e in self.errors if not any(e is b for b in before)]:
            if err.filename:
                self.edited.add(err.filename)
            say(failure(err))
            if getattr(err, "restart", False):  # a valid source a restart applies
                refused.append(f"{err.module}: cannot be applied live")
        for report in reports:
            module = sys.modules.get(report.module)
            path = source_path(module) if module is not None else None
            if path is not None:
                self.edited.add(path)
            if self.verbose:
                say(str(report))
            elif not self.quiet:
                say(report.summary())
            for line in not_live(report):
                say(line)
            if report.skipped:
                refused.append(f"{report.module}: {len(report.skipped)} left on the old version")
        refused.extend(self._check_main())
        if self.verbose:
            self._tell_new_files()
        if refused:
            self._restart_for(refused)
        return reports

    def _tell_new_files(self) -> None:
        files = self.files
        for path in sorted(files.keys() - self._told, key=files.__getitem__):
            say(f"hotswap: watching {files[path]} ({path})")
        self._told.update(files)

    def _main_path(self) -> str | None:
        if self._main_file is not None:
            return self._main_file
        main = sys.modules.get("__main__")
        if main is None or main is self._runner_main:
            return None  # -m: the program's __main__ is not in place yet
        path = source_path(main)
        self._main_file = os.path.realpath(path) if path else None
        return self._main_file

    def _check_main(self) -> list[str]:
        """The ``__main__`` file is not updated; say so when it changes."""
        path = self._main_path()
        if path is None:
            return []
        try:
            st = os.stat(path)
            key: tuple[int, int, int] | None = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            key = None
        if self._main_seen is not None and key == self._main_seen[0]:
            return []
        try:
            data = Path(path).read_bytes()
        except OSError:
            data = None
        digest = hashlib.blake2b(data, digest_size=16).digest() if data is not None else None
        first = self._main_seen is None
        if not first and digest == self._main_seen[1]:  # type: ignore[index]  # not None
            self._main_seen = (key, digest)
            return []
        self._main_seen = (key, digest)
        if first or data is None:
            return []
        self.edited.add(path)
        if self._restart is not None:
            try:
                compile(importlib.util.decode_source(data), path, "exec", dont_inherit=True)
            except SyntaxError as exc:
                say(f"hotswap: not restarting: {path}:{exc.lineno}: SyntaxError: {exc.msg}")
                return []
            except (UnicodeDecodeError, ValueError) as exc:
                say(f"hotswap: not restarting: {path}: {exc}")
                return []
        say(f"hotswap: not applied live: {path} is the running __main__ script; "
            "its edits take effect when the program restarts")
        return [f"{os.path.basename(path)} (the __main__ script) changed"]

    def _restart_for(self, reasons: list[str]) -> None:
        if self._restart is None or os.getpid() != self._pid:
            return  # not asked, or a forked worker: only the runner itself restarts
        self._restart("; ".join(reasons), set(self.edited))


# -- the command ---------------------------------------------------------------------------

def restart_command(argv: Sequence[str] | None) -> list[str]:
    """The command line that runs this very ``hotswap run`` again."""
    if argv is None:
        return [sys.executable, *sys.orig_argv[1:]]
    return [sys.executable, "-m", "hotswap", *argv]


def _restarter(watcher_box: list[RunWatcher], command: list[str],
               cwd: str) -> Callable[[str, Iterable[str]], None]:
    def restart(reason: str, edited: Iterable[str]) -> None:
        say(f"hotswap: restarting the program ({reason})")
        for watcher in watcher_box:
            watcher.stop()
        for path in edited:  # a same-size edit within a second would look like its .pyc
            try:
                os.remove(importlib.util.cache_from_source(path))
            except (OSError, ValueError, NotImplementedError):
                pass
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):
                pass
        try:
            os.chdir(cwd)
            os.execv(command[0], command)
        except OSError as exc:
            say(f"hotswap: could not restart ({exc}): the program keeps running the code it "
                "has, no longer watched")
    return restart


def _program_traceback(tb: TracebackType | None) -> TracebackType | None:
    """Drop the runner's own frames (this module, runpy) from the top of a traceback."""
    while tb is not None and tb.tb_frame.f_globals.get("__name__") in (__name__, "runpy"):
        tb = tb.tb_next
    return tb


def _join_program_threads() -> None:
    """Like interpreter shutdown: wait for the program's non-daemon threads (still
    watching while they run)."""
    me = threading.current_thread()
    while True:
        alive = [t for t in threading.enumerate()
                 if t is not me and not t.daemon and t.is_alive()]
        if not alive:
            return
        for t in alive:
            t.join()


def run(args: argparse.Namespace, error: Callable[[str], NoReturn]) -> int:
    """``hotswap run``: returns the exit code (SystemExit from the program propagates)."""
    program = Program.from_args(args, error)
    for path in args.watch:
        if not os.path.exists(path):
            error(f"argument --watch: no such file or directory: {path!r}")
    cwd = os.getcwd()
    box: list[RunWatcher] = []
    restart = (_restarter(box, restart_command(getattr(args, "argv", None)), cwd)
               if args.restart_on_refusal else None)
    main_file = os.path.realpath(program.script) if program.script is not None else None
    if main_file is not None and os.path.isdir(main_file):
        main_file = os.path.join(main_file, "__main__.py")

    logger = logging.getLogger("hotswap")
    quiet_log = _SpokenFor(logger)
    watcher: RunWatcher | None = None
    code, leave = 0, None
    try:
        program.set_sys()  # first: -m finds the package on the program's sys.path
        targets = [os.path.abspath(p) for p in args.watch] or program.default_watch()
        logger.addFilter(quiet_log)
        watcher = RunWatcher(targets, quiet=args.quiet, verbose=args.verbose, restart=restart,
                             main_file=main_file, trust=args.trust_path,
                             explicit=bool(args.watch))
        box.append(watcher)
        if args.verbose:
            say(f"hotswap: watching the modules in {', '.join(targets)} "
                f"every {args.interval:g} s")
        watcher.start(args.interval)
        try:
            program.run()
        except SystemExit as exc:
            leave = exc
        except KeyboardInterrupt:
            return INTERRUPTED
        except BaseException as exc:  # the program's own uncaught exception
            tb = _program_traceback(exc.__traceback__)
            sys.excepthook(type(exc), exc.with_traceback(tb), tb)
            code = 1
        _join_program_threads()  # as the interpreter would, still watching
    except KeyboardInterrupt:
        return INTERRUPTED
    finally:
        try:
            if watcher is not None:
                watcher.stop()
        except KeyboardInterrupt:
            pass
        logger.removeFilter(quiet_log)
    if leave is not None:
        raise leave  # the program's sys.exit(): its code, as Python reports it
    return code
