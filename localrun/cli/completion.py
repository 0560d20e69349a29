"""`localrun completion bash|zsh`: a completion script generated from the parser by shtab,
so it can never disagree with the commands (nothing written by hand)."""

from __future__ import annotations

import argparse

from localrun.cli.common import Subparsers


def register(sub: Subparsers) -> None:
    cmd = sub.add_parser(
        "completion",
        help="print a shell completion script",
        description=(
            "Print a completion script. bash: `localrun completion bash > "
            "~/.local/share/bash-completion/completions/localrun`; zsh: `localrun completion "
            "zsh > ~/.zfunc/_localrun` with ~/.zfunc on fpath."
        ),
    )
    cmd.add_argument("shell", choices=["bash", "zsh"], help="the shell")
    cmd.set_defaults(handler=cmd_completion)


def cmd_completion(args: argparse.Namespace) -> int:
    import shtab

    from localrun.cli.main import build_parser

    print(shtab.complete(build_parser(), shell=args.shell))
    return 0
