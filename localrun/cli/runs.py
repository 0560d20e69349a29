"""The commands on the daemon's runs: submit, list, status, logs, stop."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from localrun.cli.common import Subparsers, client_command, client_of, print_json
from localrun.cli.progress import ending, progress_line
from localrun.runs import TERMINAL


def register(sub: Subparsers) -> None:
    submit = client_command(sub, "submit", "upload a case directory and start it")
    submit.add_argument("case_dir", type=Path)
    submit.add_argument("--cores", type=int)
    submit.add_argument("--name")
    submit.add_argument(
        "--version",
        dest="model_version",
        default="latest",
        help="WRF version to run (latest = the newest configured; sim = the simulator)",
    )
    submit.add_argument("--watch", action="store_true", help="show progress until it ends")
    submit.set_defaults(handler=cmd_submit)
    client_command(sub, "list", "list runs").set_defaults(handler=cmd_list)
    status = client_command(sub, "status", "show one run")
    status.add_argument("run_id")
    status.set_defaults(handler=cmd_status)
    logs = client_command(sub, "logs", "print a run's log")
    logs.add_argument("run_id")
    logs.add_argument("--name", default="rsl.out.0000", help="log file (or stdout, stderr)")
    logs.add_argument("-f", "--follow", action="store_true")
    logs.set_defaults(handler=cmd_logs)
    stop = client_command(sub, "stop", "stop a run")
    stop.add_argument("run_id")
    stop.set_defaults(handler=cmd_stop)


def cmd_submit(args: argparse.Namespace) -> int:
    case_dir: Path = args.case_dir
    if not (case_dir / "namelist.input").is_file():
        print(f"localrun: {case_dir} has no namelist.input", file=sys.stderr)
        return 2
    client = client_of(args)
    run = client.create_run(name=args.name or case_dir.resolve().name, version=args.model_version)
    inputs = sorted(p for p in case_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    client.upload(run["id"], inputs)
    run = client.start(run["id"], args.cores)
    if not args.watch:
        print_json(run) if args.json else print(run["id"])
        return 0
    run = watch(client, run["id"])
    if args.json:
        print_json(run)
    return 0 if run["state"] == "succeeded" else 1


def watch(client: Any, run_id: str, out: Any = None) -> dict[str, Any]:
    out = out or sys.stderr
    print(f"run {run_id}", file=out)
    while True:
        run: dict[str, Any] = client.run(run_id)
        out.write("\r" + progress_line(run))
        out.flush()
        if run["state"] in TERMINAL:
            out.write("\n")
            print(ending(run), file=out)
            return run
        time.sleep(1)


def cmd_list(args: argparse.Namespace) -> int:
    client = client_of(args)
    runs, cursor = [], None
    while True:
        page = client.runs(limit=200, cursor=cursor)
        runs += page["runs"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    if args.json:
        print_json(runs)
        return 0
    for run in runs:
        percent = float((run.get("progress") or {}).get("percent") or 0)
        cores = f"{run['cores']:>3} cores"
        ran = executable_text(run)
        print(f"{run['id']}  {run['state']:<9}  {cores}  {percent:5.1f}%  {ran:<14}  {run['name']}")
    return 0


def executable_text(run: dict[str, Any]) -> str:
    """ "simulator", or the configured version that ran ("wrf 4.7.1")."""
    if run.get("executable", "simulator") == "simulator":
        return "simulator"
    return f"{run.get('model', 'wrf')} {run.get('version')}"


def cmd_status(args: argparse.Namespace) -> int:
    run = client_of(args).run(args.run_id, events=True)
    if args.json:
        print_json(run)
        return 0
    print(f"{run['id']}  {run['name']}  {run['state']}  {run['cores']} core(s)")
    print(f"model {run.get('model', 'wrf')} {run.get('version')}: {run.get('executable')}")
    print(progress_line(run).strip())
    if run.get("error"):
        print(ending(run))
    for event in run.get("events", []):
        print(f"  {event['at']}  {event['state']:<9}  {event['message']}")
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    client = client_of(args)
    offset = 0
    while True:
        chunk = client.logs(args.run_id, args.name, offset, follow=30 if args.follow else 0)
        sys.stdout.write(chunk["text"])
        sys.stdout.flush()
        offset = chunk["next_offset"]
        if not args.follow or chunk["eof"]:
            return 0


def cmd_stop(args: argparse.Namespace) -> int:
    run = client_of(args).stop(args.run_id)
    print_json(run) if args.json else print(f"{run['id']}: stop requested ({run['state']})")
    return 0
