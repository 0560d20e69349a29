"""`localrun resume ID`: a new run that goes on from a run's newest restart files."""

from __future__ import annotations

import argparse
import sys

from localrun.cli.common import Subparsers, client_command, client_of, print_json
from localrun.cli.ids import resolve_id
from localrun.cli.progress import ending
from localrun.cli.submit import watch


def register(sub: Subparsers) -> None:
    resume = client_command(
        sub, "resume", "continue a failed, stopped or timed-out run from its restart files"
    )
    resume.add_argument("run_id", help="a run id, or a prefix naming one run")
    resume.add_argument("--cores", type=int, help="MPI ranks (default: the first run's)")
    mode = resume.add_mutually_exclusive_group()
    mode.add_argument("--watch", action="store_true", help="show progress until the run ends")
    mode.add_argument(
        "--wait", action="store_true", help="wait quietly for the end; exit 0 if it succeeded"
    )
    resume.set_defaults(handler=cmd_resume)


def cmd_resume(args: argparse.Namespace) -> int:
    client = client_of(args)
    first = resolve_id(client, args.run_id)
    body = {} if args.cores is None else {"cores": args.cores}
    run = client.call("POST", f"/localrun/v1/runs/{first}/resume", body)
    links = run.get("links") or {}
    said = f"run {run['id']} resumes {first} from model time {links.get('restart_at')}"
    if not (args.watch or args.wait):
        print_json(run) if args.json else print(f"{said}\n{run['id']}")
        return 0
    out = sys.stderr if (args.json or args.wait) else sys.stdout
    print(said, file=out, flush=True)
    if args.wait and not args.json:
        print(run["id"], flush=True)
    run = watch(client, run["id"], out, args.wait)
    print(ending(run), file=out)
    if args.json:
        print_json(run)
    return 0 if run["state"] == "succeeded" else 1
