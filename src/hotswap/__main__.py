"""Command line: ``python -m hotswap COMMAND ...`` (also installed as ``hotswap``).

Each subcommand is one ``_add_<command>`` function that declares its arguments and sets
``func``, so adding a command does not touch the others.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import __version__


def _prog() -> str:
    """The name the user typed, so usage lines can be copied back as they are."""
    return "python -m hotswap" if os.path.basename(sys.argv[0]) == "__main__.py" else "hotswap"


def _add_demo(commands: argparse._SubParsersAction) -> None:
    from .demos import DEFAULT, DEMOS

    listing = "\n".join(f"  {name:<10}{summary}" for name, summary in sorted(DEMOS.items()))
    parser = commands.add_parser(
        "demo",
        help=f"run a built-in demonstration ({', '.join(sorted(DEMOS))})",
        description="Run a built-in demonstration of hotswap. Demos are non-interactive,\n"
                    "take a few seconds, and exit non-zero if what they show did not happen,\n"
                    "so each one doubles as a smoke test.",
        epilog=f"available demos:\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", nargs="?", default=DEFAULT, choices=sorted(DEMOS),
                        metavar="NAME", help=f"which demo to run (default: {DEFAULT})")
    parser.set_defaults(func=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from .demos import run

    return run(args.name)


def _add_run(commands: argparse._SubParsersAction) -> None:
    from . import _cli

    parser = commands.add_parser(
        "run",
        help="run a program, updating its modules live as their files are saved",
        usage=_cli.USAGE,
        description=_cli.DESCRIPTION,
        epilog=_cli.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _cli.add_arguments(parser)
    parser.set_defaults(func=lambda args: _cli.run(args, parser.error))


def build_parser() -> argparse.ArgumentParser:
    """The full parser; separate from `main` so tests and docs can inspect it."""
    parser = argparse.ArgumentParser(
        prog=_prog(),
        description="hotswap: change a running Python program's code without restarting "
                    "it or losing its state.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_demo(commands)
    _add_run(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m hotswap`` and the ``hotswap`` script; returns the exit code."""
    args = build_parser().parse_args(argv)
    args.argv = None if argv is None else list(argv)  # what `run` restarts with
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
