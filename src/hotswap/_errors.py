"""The one exception users catch: an update that was refused and changed nothing."""

from __future__ import annotations



class UpdateError(Exception):
    """An update could not be applied; the program is exactly as it was before the call.

    The original exception is chained as ``__cause__``. ``filename`` and ``lineno`` point at
    the line of the new source that failed, when one is known, so a log line is enough to
    find the mistake. ``restart`` is true when the new source is fine but the edit cannot
    be applied to a running program (a framework's derived state that cannot be rebuilt):
    a restart applies it (``python -m hotswap run --restart-on-refusal`` does).
    """

    def __init__(self, message: str, *, module: str | None = None,
                 filename: str | None = None, lineno: int | None = None,
                 restart: bool = False) -> None:
        super().__init__(message)
        self.module = module
        self.filename = filename
        self.lineno = lineno
        self.restart = restart


def locate(exc: BaseException, filename: str) -> int | None:
    """The line of `filename` where `exc` was raised (innermost frame in that file).

    A SyntaxError carries its own position; other exceptions are located through the
    traceback, so an error raised deep in a helper still names the module's line that
    led to it.
    """
    if isinstance(exc, SyntaxError) and exc.lineno is not None:
        return exc.lineno
    import traceback

    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == filename:
            line = frame.lineno
    return line


def failure(module: str, filename: str, exc: BaseException, what: str) -> UpdateError:
    """Build the UpdateError for `exc`, naming file and line."""
    lineno = locate(exc, filename)
    where = f"{filename}:{lineno}" if lineno is not None else filename
    if isinstance(exc, SyntaxError):
        detail = f"SyntaxError: {exc.msg}"
    else:
        detail = f"{type(exc).__name__}: {_text(exc)}"
    err = UpdateError(f"{where}: {what} {module!r}: {detail}",
                      module=module, filename=filename, lineno=lineno)
    err.__cause__ = exc
    return err


def _text(exc: BaseException) -> str:
    """str(exc), which is user code and may itself raise."""
    try:
        return str(exc)
    except Exception:  # noqa: BLE001 - user code, reported by its type instead
        return f"<{type(exc).__name__} whose str() raised>"
