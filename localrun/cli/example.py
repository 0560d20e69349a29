"""`localrun example DIR`: the shipped example case, ready to submit."""

from __future__ import annotations

import argparse
import shutil
import sys
from importlib import resources
from pathlib import Path

from localrun.cli.common import Subparsers

EXAMPLE_FILES = ("namelist.input", "wrfinput_d01")


def register(sub: Subparsers) -> None:
    example = sub.add_parser("example", help="copy the example case into DIR")
    example.add_argument("dir", type=Path)
    example.set_defaults(handler=cmd_example)


def copy_example(target: Path) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    source = resources.files("localrun") / "example_case"
    copied = []
    for name in EXAMPLE_FILES:
        dest = target / name
        with resources.as_file(source / name) as path:
            shutil.copyfile(path, dest)
        copied.append(dest)
    return copied


def cmd_example(args: argparse.Namespace) -> int:
    for path in copy_example(args.dir):
        print(path)
    print(f"submit it with: localrun submit {args.dir} --watch", file=sys.stderr)
    return 0
