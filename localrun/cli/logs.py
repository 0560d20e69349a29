"""`localrun logs ID` and `localrun download ID [PATTERN]`: what a run wrote."""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from pathlib import Path, PurePosixPath

from localrun.cli.common import CommandError, Subparsers, client_command, client_of, print_json
from localrun.cli.ids import resolve_id
from localrun.client import Client
from localrun.runs import TERMINAL

LAUNCHER_LOGS = ("stdout", "stderr")


def register(sub: Subparsers) -> None:
    logs = client_command(sub, "logs", "print a run's log")
    logs.add_argument("run_id", help="a run id, or a prefix naming one run")
    logs.add_argument(
        "--name", default="rsl.out.0000", help="log file (default rsl.out.0000; or stdout, stderr)"
    )
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing until it ends")
    logs.set_defaults(handler=cmd_logs)

    download = client_command(sub, "download", "fetch a run's output files")
    download.add_argument("run_id", help="a run id, or a prefix naming one run")
    download.add_argument("pattern", nargs="?", default="*", help="shell pattern (default: all)")
    download.add_argument(
        "-o", "--output", type=Path, help="folder to write into (default: ./RUN_ID)"
    )
    download.set_defaults(handler=cmd_download)


def cmd_logs(args: argparse.Namespace) -> int:
    client = client_of(args)
    run_id = resolve_id(client, args.run_id)
    offset = 0
    while True:
        chunk = client.logs(run_id, args.name, offset, follow=30 if args.follow else 0)
        if offset == 0 and chunk["size"] == 0:
            _check_log_exists(client, run_id, args.name, args.follow)
        if args.json:
            print(json.dumps(chunk))
        else:
            sys.stdout.write(chunk["text"])
        sys.stdout.flush()
        offset = chunk["next_offset"]
        if not args.follow or chunk["eof"]:
            return 0


def _check_log_exists(client: Client, run_id: str, name: str, follow: bool) -> None:
    """An empty answer for a log the run has not written: an error, unless it may yet come."""
    if name in LAUNCHER_LOGS:
        return
    names = [f["path"] for f in client.files(run_id)]
    if name in names:
        return
    if follow and client.run(run_id)["state"] not in TERMINAL:
        return
    logs = [n for n in names if n.startswith("rsl.") or n.endswith((".log", ".out"))]
    known = ", ".join([*logs[:8], *LAUNCHER_LOGS])
    raise CommandError(f"run {run_id} has no log named {name!r}; its logs: {known}")


def cmd_download(args: argparse.Namespace) -> int:
    client = client_of(args)
    run_id = resolve_id(client, args.run_id)
    target: Path = args.output or Path(run_id)
    wanted = [f for f in client.files(run_id) if fnmatch.fnmatch(f["path"], args.pattern)]
    if not wanted:
        raise CommandError(f"run {run_id} has no output matching {args.pattern!r}")
    got = []
    for entry in wanted:
        relative = PurePosixPath(entry["path"])
        if relative.is_absolute() or ".." in relative.parts:
            continue
        dest = target.joinpath(*relative.parts)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(f"cannot write into {dest.parent}: {exc.strerror}") from None
        size = client.download(run_id, entry["path"], dest)
        got.append({"path": str(dest), "size": size})
        if not args.json:
            print(f"{dest}  {size}")
    if args.json:
        print_json(got)
    return 0
