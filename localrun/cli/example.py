"""`localrun example DIR`: the shipped example case, ready to submit."""

from __future__ import annotations

import argparse
import shutil
import sys
from importlib import resources
from pathlib import Path

from localrun.cli.common import CommandError, Subparsers

EXAMPLE_FILES = ("namelist.input", "wrfinput_d01")


def register(sub: Subparsers) -> None:
    example = sub.add_parser(
        "example",
        help="copy the example case into DIR",
        description="Copy the shipped example case into DIR, ready for localrun submit.",
    )
    example.add_argument("dir", type=Path, help="folder to make (or an empty one)")
    example.add_argument("--force", action="store_true", help="overwrite the case files in DIR")
    example.set_defaults(handler=cmd_example)


def copy_example(target: Path, force: bool = True) -> list[Path]:
    """The example's files in target; unless force, a FileExistsError for any already there."""
    target.mkdir(parents=True, exist_ok=True)
    there = [target / n for n in EXAMPLE_FILES if (target / n).exists()]
    if there and not force:
        raise FileExistsError(there[0])
    source = resources.files("localrun") / "example_case"
    copied = []
    for name in EXAMPLE_FILES:
        dest = target / name
        with resources.as_file(source / name) as path:
            shutil.copyfile(path, dest)
        copied.append(dest)
    return copied


def cmd_example(args: argparse.Namespace) -> int:
    try:
        copied = copy_example(args.dir, force=args.force)
    except FileExistsError as exc:
        raise CommandError(f"{exc.args[0]} exists: choose another DIR, or --force", 1) from None
    except OSError as exc:
        raise CommandError(f"cannot make the case in {args.dir}: {exc.strerror or exc}") from None
    for path in copied:
        print(path)
    print(f"submit it with: localrun submit {args.dir} --watch", file=sys.stderr)
    return 0
