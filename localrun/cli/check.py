"""`localrun check`: a short case end to end against the daemon."""

from __future__ import annotations

import argparse

from localrun.cli.common import Subparsers, client_command, client_of


def register(sub: Subparsers) -> None:
    check = client_command(sub, "check", "run a short case end to end and report each step")
    check.set_defaults(handler=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    from localrun.check import run_check

    return run_check(client_of(args), as_json=args.json)
