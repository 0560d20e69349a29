"""`localrun inspect DIR`: diagnose a WRF run directory on disk, no daemon needed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from localrun.cli.common import CommandError, Subparsers, readable_file

WRF_SIGNS = ("namelist.input", "rsl.*", "wrfout_*", "wrfrst_*")


def register(sub: Subparsers) -> None:
    inspect = sub.add_parser(
        "inspect",
        help="diagnose a WRF run directory on disk",
        description="Diagnose a WRF run directory on disk: state, cause, hint. No daemon needed.",
    )
    inspect.add_argument("dir", type=Path, help="the run directory (rsl.*, namelist.input)")
    inspect.add_argument("--exit-code", type=int, help="mpirun's exit code, if known")
    inspect.add_argument("--stdout", type=Path, help="mpirun's stdout, if kept")
    inspect.add_argument("--json", action="store_true", help="print JSON")
    inspect.set_defaults(handler=cmd_inspect)


def cmd_inspect(args: argparse.Namespace) -> int:
    from localrun.wrf.inspect import inspect_dir, render, run_folder

    directory: Path = args.dir
    if not directory.exists():
        raise CommandError(f"{directory} does not exist", 2)
    if not directory.is_dir():
        raise CommandError(f"{directory} is a file: give the run's directory", 2)
    stdout = None
    if args.stdout:
        try:
            stdout = readable_file(args.stdout, "--stdout").read_text(errors="replace")
        except OSError as exc:
            raise CommandError(f"cannot read {args.stdout}: {exc.strerror or exc}", 2) from None
    if not any(next(run_folder(directory).glob(p), None) for p in WRF_SIGNS):
        raise CommandError(
            f"found no WRF run in {directory} (no namelist.input, rsl.* or wrfout_* file)"
        )
    try:
        report = inspect_dir(directory, exit_code=args.exit_code, mpirun_stdout=stdout)
    except PermissionError as exc:
        raise CommandError(f"cannot read {exc.filename or directory}: permission denied") from None
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0
