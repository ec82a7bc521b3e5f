"""The ``hotswap`` logger, without importing `logging` for what nobody could see.

Every update logs its report at INFO on ``logging.getLogger("hotswap")``, and problems
at WARNING or above. Importing `logging` costs about 6 ms (3.12), a tenth of the engine's
whole import. Until the program imports `logging` itself nothing can have set a handler
or a level, so a record below WARNING would be dropped (the root logger's level) and one
at WARNING or above would go to logging's last-resort handler (stderr). So while
`logging` is not loaded, `log` drops INFO and DEBUG records without loading it; every
other call loads it and logs as before, naming the engine's function as the caller.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from logging import Logger
    from typing import Any


def _logger() -> Logger:
    import logging

    return logging.getLogger("hotswap")


class _Log:
    """`logging.getLogger("hotswap")`'s methods the engine calls, loading it only when a
    record could be seen."""

    __slots__ = ()

    def debug(self, msg: str, *args: Any) -> None:
        if "logging" in sys.modules:
            _logger().debug(msg, *args, stacklevel=2)

    def info(self, msg: str, *args: Any) -> None:
        if "logging" in sys.modules:
            _logger().info(msg, *args, stacklevel=2)

    def warning(self, msg: str, *args: Any) -> None:
        _logger().warning(msg, *args, stacklevel=2)

    def error(self, msg: str, *args: Any) -> None:
        _logger().error(msg, *args, stacklevel=2)

    def exception(self, msg: str, *args: Any) -> None:
        _logger().exception(msg, *args, stacklevel=2)


log = _Log()
