"""What every command module shares: the error a command raises, the client, JSON output."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from localrun.config import Settings, load

if TYPE_CHECKING:
    from localrun.client import Client


class CommandError(Exception):
    """A user's mistake or a refusal: one line on stderr and the exit code, no traceback."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class Subparsers(Protocol):
    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


def client_command(sub: Subparsers, name: str, help_text: str) -> argparse.ArgumentParser:
    """A command that talks to the daemon: --url, --token and --json."""
    cmd = sub.add_parser(name, help=help_text, description=help_text)
    cmd.add_argument("--url", help="daemon URL (default: LOCALRUN_URL, then the saved login)")
    cmd.add_argument("--token", help="API token (default: LOCALRUN_TOKEN, then the saved login)")
    cmd.add_argument("--json", action="store_true", help="print JSON")
    return cmd


def data_dir_options(cmd: argparse.ArgumentParser) -> None:
    """A command that works on the data directory itself, as the daemon's user."""
    cmd.add_argument("--data-dir", dest="data_dir", help="the daemon's data directory")
    cmd.add_argument("--config", help="TOML settings file (default: LOCALRUN_CONFIG)")


def data_settings(args: argparse.Namespace) -> Settings:
    flags = {"data_dir": args.data_dir} if getattr(args, "data_dir", None) else {}
    return load(flags=flags, config_file=getattr(args, "config", None))


def client_of(args: argparse.Namespace) -> Client:
    from localrun.client import Client, resolve

    url, token = resolve(args.url, args.token)
    return Client(url, token)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2))


def err(message: str) -> None:
    print(f"localrun: {message}", file=sys.stderr)


def readable_file(path: Path, what: str) -> Path:
    """path, or a CommandError saying why it cannot be read as a file."""
    if not path.exists():
        raise CommandError(f"{what} {path} does not exist", 2)
    if path.is_dir():
        raise CommandError(f"{what} {path} is a directory, not a file", 2)
    return path
