"""`localrun submit DIR` and `localrun watch ID`.

A submit checks what it can before uploading, and a refused submit deletes the run it made:
no half-made run is left behind."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO, Any

from localrun.cli.common import CommandError, Subparsers, client_command, client_of, print_json
from localrun.cli.durations import duration_arg
from localrun.cli.ids import resolve_id
from localrun.cli.progress import ending, follow
from localrun.client import Client, ClientError


def register(sub: Subparsers) -> None:
    submit = client_command(sub, "submit", "upload a case directory and start it")
    submit.add_argument("case_dir", type=Path, help="folder with namelist.input and its inputs")
    submit.add_argument("--cores", type=int, help="MPI ranks (default: the daemon's choice)")
    submit.add_argument("--name", help="the run's name (default: the folder's name)")
    submit.add_argument(
        "--version",
        dest="model_version",
        default="latest",
        help="WRF version to run (latest = the newest configured; sim = the simulator)",
    )
    submit.add_argument(
        "--walltime", type=duration_arg, help="wall-clock limit, like 90m or 6h (default: daemon's)"
    )
    submit.add_argument(
        "--oversubscribe",
        action="store_true",
        help="allow more ranks than cores (much slower; for tests)",
    )
    submit.add_argument(
        "--cfl-retries",
        type=int,
        metavar="N",
        help="after a CFL failure, retry up to N times with time_step x0.75 (default: daemon's)",
    )
    submit.add_argument(
        "--preprocess",
        choices=("ideal", "real"),
        help="run ideal.exe or real.exe on one rank first; it makes wrfinput (and wrfbdy)",
    )
    mode = submit.add_mutually_exclusive_group()
    mode.add_argument("--watch", action="store_true", help="show progress until the run ends")
    mode.add_argument(
        "--wait",
        action="store_true",
        help="wait quietly for the end; exit 0 if it succeeded",
    )
    submit.set_defaults(handler=cmd_submit)

    watch = client_command(sub, "watch", "show a run's progress until it ends")
    watch.add_argument("run_id", help="a run id, or a prefix naming one run")
    watch.set_defaults(handler=cmd_watch)


def inputs_of(case_dir: Path) -> list[Path]:
    return sorted(p for p in case_dir.iterdir() if p.is_file() and not p.name.startswith("."))


def precheck(args: argparse.Namespace, client: Client) -> None:
    """Refuse, before any upload, what the daemon would refuse later."""
    from localrun.wrf.checks import check_case

    case_dir: Path = args.case_dir
    if not case_dir.is_dir():
        raise CommandError(f"{case_dir} is not a directory", 2)
    namelist = case_dir / "namelist.input"
    if not namelist.is_file():
        raise CommandError(f"{case_dir} has no namelist.input", 2)
    if args.cores is not None and args.cores < 1:
        raise CommandError(f"--cores must be at least 1, not {args.cores}", 2)
    try:
        text = namelist.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {namelist}: {exc}", 2) from None
    problems = check_case(text, cores=args.cores, inputs_dir=case_dir, preprocess=args.preprocess)
    if problems:
        first = problems[0]
        hint = f" ({first.hint})" if first.hint else ""
        more = f" and {len(problems) - 1} more problem(s)" if len(problems) > 1 else ""
        raise CommandError(f"{namelist}: {first.message}{hint}{more}", 2)
    if args.cores is not None and not args.oversubscribe:
        health = client.health()
        total = int(health["cores"]["total"])
        scheduler = (health.get("executor") or {}).get("name", "local") != "local"
        if scheduler and total and args.cores > total:
            raise CommandError(
                f"--cores {args.cores} but the cluster has {total} cores: ask for fewer", 2
            )
        if not scheduler and args.cores > total:
            raise CommandError(
                f"--cores {args.cores} but the daemon hands out {total}: ask for fewer, "
                "or add --oversubscribe (runs much slower)",
                2,
            )


def cmd_submit(args: argparse.Namespace) -> int:
    client = client_of(args)
    precheck(args, client)
    case_dir: Path = args.case_dir
    fields: dict[str, Any] = {
        "name": args.name or case_dir.resolve().name,
        "version": args.model_version,
    }
    if args.walltime:
        fields["walltime_s"] = max(1, round(args.walltime))
    if args.cfl_retries is not None:
        fields["cfl_retries"] = args.cfl_retries
    if args.preprocess:
        fields["preprocess"] = args.preprocess
    run = client.create_run(**fields)
    try:
        uploaded = client.upload(run["id"], inputs_of(case_dir))
        missing = uploaded["run"].get("missing_inputs") or []
        if missing:
            raise CommandError(f"{case_dir} lacks inputs the namelist needs: {', '.join(missing)}")
        body: dict[str, Any] = {"oversubscribe": True} if args.oversubscribe else {}
        if args.cores is not None:
            body["cores"] = args.cores
        run = client.call("POST", f"/localrun/v1/runs/{run['id']}/start", body)
    except (ClientError, CommandError, OSError):
        _forget(client, run["id"])
        raise
    if not (args.watch or args.wait):
        print_json(run) if args.json else print(run["id"])
        return 0
    out = sys.stderr if (args.json or args.wait) else sys.stdout
    print(f"run {run['id']} ({run['name']})", file=out, flush=True)
    if args.wait and not args.json:
        print(run["id"], flush=True)  # for a script: the id on stdout, the rest on stderr
    run = watch(client, run["id"], out, args.wait)
    print(ending(run), file=out)
    if args.json:
        print_json(run)
    return 0 if run["state"] == "succeeded" else 1


def _forget(client: Client, run_id: str) -> None:
    """Delete a run a refused submit made; a failure to do so must not hide the refusal."""
    try:
        client.delete(run_id, record=True)
    except ClientError:
        print(f"localrun: could not delete run {run_id}: localrun rm {run_id}", file=sys.stderr)


def watch(client: Client, run_id: str, out: IO[str], quiet: bool = False) -> dict[str, Any]:
    """Follow the run to its end; Ctrl-C leaves it running and says how to follow it again."""
    try:
        if quiet:
            return _wait(client, run_id)
        return follow(lambda: client.run(run_id), out)
    except KeyboardInterrupt:
        raise CommandError(
            f"stopped watching; run {run_id} goes on. Follow it with `localrun watch {run_id}`, "
            f"stop it with `localrun stop {run_id}`",
            130,
        ) from None


def _wait(client: Client, run_id: str) -> dict[str, Any]:
    import time

    from localrun.runs import TERMINAL

    while True:
        run = client.run(run_id)
        if run["state"] in TERMINAL:
            return run
        time.sleep(1.0)


def cmd_watch(args: argparse.Namespace) -> int:
    client = client_of(args)
    run_id = resolve_id(client, args.run_id)
    out = sys.stderr if args.json else sys.stdout
    run = watch(client, run_id, out)
    print(ending(run), file=out)
    if args.json:
        print_json(run)
    return 0 if run["state"] == "succeeded" else 1
