"""`localrun user create|passwd NAME`, on the data directory."""

from __future__ import annotations

import argparse
import asyncio
import sys

from localrun.cli.common import Subparsers, data_dir_options, data_settings
from localrun.config import Settings


def register(sub: Subparsers) -> None:
    user = sub.add_parser("user", help="manage accounts (works on the data directory)")
    user.add_argument("action", choices=["create", "passwd"])
    user.add_argument("name")
    user.add_argument("--email", default="", help="the account's email (create)")
    user.add_argument(
        "--password-stdin", action="store_true", help="read the password as one line of stdin"
    )
    data_dir_options(user)
    user.set_defaults(handler=cmd_user)


def read_password(from_stdin: bool) -> str:
    """One line of stdin, or asked twice at the terminal."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ValueError("stdin is not a terminal: give the password with --password-stdin")
    import getpass

    first = getpass.getpass("Password: ")
    if getpass.getpass("Password (again): ") != first:
        raise ValueError("the two passwords differ")
    return first


def cmd_user(args: argparse.Namespace) -> int:
    settings = data_settings(args)
    try:
        password = read_password(args.password_stdin)
    except ValueError as exc:
        print(f"localrun: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_user(settings, args, password))


async def _user(settings: Settings, args: argparse.Namespace, password: str) -> int:
    from localrun.errors import ServiceError
    from localrun.service.accounts import accounts_at

    async with accounts_at(settings.data_path / "localrun.db") as accounts:
        try:
            if args.action == "create":
                await accounts.create(args.name, password, args.email)
                print(f"created user {args.name}")
            else:
                await accounts.set_password(args.name, password)
                print(f"changed the password of {args.name}")
        except ServiceError as exc:
            print(f"localrun: {exc.message}", file=sys.stderr)
            return 1
    return 0
