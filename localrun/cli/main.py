"""The parser, made of every command module's register(), and main(): errors as one line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from types import ModuleType
from typing import NoReturn

from localrun import __version__
from localrun.cli import (
    check,
    completion,
    estimate,
    example,
    inspect,
    logs,
    resume,
    runs,
    serve,
    submit,
    tls,
    tokens,
    users,
)
from localrun.cli.common import CommandError, err
from localrun.config import SettingsError
from localrun.errors import StartupError

# Each module's register(sub) adds its commands, each with set_defaults(handler=...).
# A new command group is a module here and one entry in this tuple.
GROUPS: tuple[ModuleType, ...] = (
    serve,
    tokens,
    users,
    submit,
    resume,
    runs,
    logs,
    check,
    tls,
    example,
    inspect,
    estimate,
    completion,
)


class Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake said in one line (and where to read more)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="localrun", description="Run WRF on this machine.")
    parser.add_argument("--version", action="version", version=f"localrun {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return int(handler(args))
    except CommandError as exc:
        err(exc.message)
        return exc.code
    except SettingsError as exc:
        err(f"bad setting: {exc}")
        return 2
    except StartupError as exc:
        err(str(exc))
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _broken_pipe()
    except Exception as exc:
        from localrun.client import ClientError

        if isinstance(exc, ClientError):
            err(exc.message)
            return 1
        if isinstance(exc, OSError):  # a file the user named, unreadable or unwritable
            where = f": {exc.filename}" if exc.filename else ""
            err(f"{exc.strerror or exc}{where}")
            return 1
        raise


def _broken_pipe() -> int:
    """The reader went away (`localrun list | head`): stop quietly, as a SIGPIPE'd tool does."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141
