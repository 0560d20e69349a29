"""`localrun inspect DIR`: diagnose a WRF run directory on disk, no daemon needed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from localrun.cli.common import Subparsers


def register(sub: Subparsers) -> None:
    inspect = sub.add_parser("inspect", help="diagnose a WRF run directory on disk")
    inspect.add_argument("dir", type=Path)
    inspect.add_argument("--exit-code", type=int)
    inspect.add_argument("--stdout", type=Path, help="mpirun's stdout, if kept")
    inspect.add_argument("--json", action="store_true")
    inspect.set_defaults(handler=cmd_inspect)


def cmd_inspect(args: argparse.Namespace) -> int:
    from localrun.wrf.inspect import inspect_dir, render

    stdout = args.stdout.read_text(errors="replace") if args.stdout else None
    report = inspect_dir(args.dir, exit_code=args.exit_code, mpirun_stdout=stdout)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0
