"""The localrun command."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import logging
import shutil
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

from localrun import __version__
from localrun.config import SETTINGS, Settings, SettingsError, load
from localrun.errors import StartupError
from localrun.runs import TERMINAL
from localrun.wrf.estimate_table import format_duration

EXAMPLE_FILES = ("namelist.input", "wrfinput_d01")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="localrun", description="Run WRF on this machine.")
    parser.add_argument("--version", action="version", version=f"localrun {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the daemon")
    serve.add_argument("--config", help="TOML settings file")
    serve.add_argument(
        "--demo", action="store_true", help="also submit the example case and show its progress"
    )
    for setting in SETTINGS:
        kind = str if setting.type is bool else setting.type
        serve.add_argument(setting.flag, dest=setting.name, type=kind, help=setting.help)

    token = sub.add_parser("token", help="manage API tokens (works on the data directory)")
    token.add_argument("action", choices=["create", "list", "revoke"])
    token.add_argument("name", nargs="?")
    token.add_argument("--owner", help="owner of the runs made with this token (default: NAME)")
    token.add_argument("--data-dir", dest="data_dir")
    token.add_argument("--config")
    token.add_argument("--save", action="store_true", help="write URL and token to client.toml")
    token.add_argument("--json", action="store_true")

    user = sub.add_parser("user", help="manage accounts (works on the data directory)")
    user.add_argument("action", choices=["create", "passwd"])
    user.add_argument("name")
    user.add_argument("--email", default="", help="the account's email (create)")
    user.add_argument(
        "--password-stdin", action="store_true", help="read the password as one line of stdin"
    )
    user.add_argument("--data-dir", dest="data_dir")
    user.add_argument("--config")

    def client_command(name: str, help_text: str) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("--url", help="daemon URL (LOCALRUN_URL)")
        cmd.add_argument("--token", help="API token (LOCALRUN_TOKEN)")
        cmd.add_argument("--json", action="store_true", help="print JSON")
        return cmd

    submit = client_command("submit", "upload a case directory and start it")
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
    client_command("list", "list runs")
    status = client_command("status", "show one run")
    status.add_argument("run_id")
    logs = client_command("logs", "print a run's log")
    logs.add_argument("run_id")
    logs.add_argument("--name", default="rsl.out.0000", help="log file (or stdout, stderr)")
    logs.add_argument("-f", "--follow", action="store_true")
    stop = client_command("stop", "stop a run")
    stop.add_argument("run_id")
    client_command("check", "run a short case end to end and report each step")

    tls = sub.add_parser("tls", help="make a private CA and a certificate for HTTPS")
    tls.add_argument("action", choices=["init"])
    tls.add_argument(
        "dir", type=Path, nargs="?", help="where to write them (default: DATA_DIR/tls)"
    )
    tls.add_argument("--data-dir", dest="data_dir")
    tls.add_argument("--config")

    example = sub.add_parser("example", help="copy the example case into DIR")
    example.add_argument("dir", type=Path)

    inspect = sub.add_parser("inspect", help="diagnose a WRF run directory on disk")
    inspect.add_argument("dir", type=Path)
    inspect.add_argument("--exit-code", type=int)
    inspect.add_argument("--stdout", type=Path, help="mpirun's stdout, if kept")
    inspect.add_argument("--json", action="store_true")

    estimate = sub.add_parser("estimate", help="time and cost per core count for a namelist")
    estimate.add_argument("namelist", type=Path)
    estimate.add_argument("--cores", type=int, help="largest core count to consider")
    estimate.add_argument("--data-dir", dest="data_dir", help="where calibration runs are kept")
    estimate.add_argument("--json", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        handler = COMMANDS[args.command]
        return int(handler(args))
    except SettingsError as exc:
        print(f"localrun: bad setting: {exc}", file=sys.stderr)
        return 2
    except StartupError as exc:
        print(f"localrun: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the CLI shows a message, not a traceback, for what a user did
        from localrun.client import ClientError

        if isinstance(exc, ClientError):
            print(f"localrun: {exc.message}", file=sys.stderr)
            return 1
        raise


# serve


def _settings_from(args: argparse.Namespace) -> Settings:
    flags = {s.name: getattr(args, s.name, None) for s in SETTINGS}
    return load(flags=flags, config_file=getattr(args, "config", None))


def check_bind(settings: Settings) -> None:
    try:
        loopback = settings.host == "localhost" or ipaddress.ip_address(settings.host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not settings.tls and not settings.allow_remote:
        raise SettingsError(
            f"host {settings.host} is not a loopback address: give --tls-cert/--tls-key, "
            "or --allow-remote true to serve plain HTTP on it"
        )


def cmd_serve(args: argparse.Namespace) -> int:
    from localrun.serve import serve

    settings = _settings_from(args)
    check_bind(settings)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    serve(settings, demo=args.demo)
    return 0


# tokens


def cmd_token(args: argparse.Namespace) -> int:
    flags = {"data_dir": args.data_dir} if args.data_dir else {}
    settings = load(flags=flags, config_file=args.config)
    return asyncio.run(_token(settings, args))


async def _token(settings: Settings, args: argparse.Namespace) -> int:
    from localrun.errors import ServiceError
    from localrun.service.auth import tokens_at

    async with tokens_at(settings.data_path / "localrun.db") as tokens:
        if args.action == "list":
            found = await tokens.listing()
            if args.json:
                print(json.dumps(found))
            for t in [] if args.json else found:
                revoked = " (revoked)" if t["revoked_at"] else ""
                print(f"{t['name']}\towner={t['owner']}{revoked}")
            return 0
        if not args.name:
            print("localrun: token create/revoke needs a NAME", file=sys.stderr)
            return 2
        if args.action == "revoke":
            done = await tokens.revoke(args.name)
            print(f"revoked {args.name}" if done else f"no active token named {args.name}")
            return 0 if done else 1
        try:
            token = await tokens.create(args.name, args.owner)
        except ServiceError as exc:
            print(f"localrun: {exc.message}", file=sys.stderr)
            return 1
    if args.save:
        from localrun.client import save_client_config

        scheme = "https" if settings.tls else "http"
        url = f"{scheme}://{settings.host}:{settings.port}"
        where = save_client_config(url, token)
        print(f"saved to {where}", file=sys.stderr)
    print(json.dumps({"name": args.name, "token": token}) if args.json else token)
    return 0


# accounts


def read_password(from_stdin: bool) -> str:
    """One line of stdin, or asked twice at the terminal."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ValueError("stdin is not a terminal: give the password with --password-stdin")
    import getpass

    first = getpass.getpass("Password: ")
    if getpass.getpass("Password (again): ") != first:
        raise ValueError("the two passwords differ")
    return first


def cmd_user(args: argparse.Namespace) -> int:
    flags = {"data_dir": args.data_dir} if args.data_dir else {}
    settings = load(flags=flags, config_file=args.config)
    try:
        password = read_password(args.password_stdin)
    except ValueError as exc:
        print(f"localrun: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_user(settings, args, password))


async def _user(settings: Settings, args: argparse.Namespace, password: str) -> int:
    from localrun.errors import ServiceError
    from localrun.service.accounts import accounts_at

    async with accounts_at(settings.data_path / "localrun.db") as accounts:
        try:
            if args.action == "create":
                await accounts.create(args.name, password, args.email)
                print(f"created user {args.name}")
            else:
                await accounts.set_password(args.name, password)
                print(f"changed the password of {args.name}")
        except ServiceError as exc:
            print(f"localrun: {exc.message}", file=sys.stderr)
            return 1
    return 0


# client commands


def _client(args: argparse.Namespace) -> Any:
    from localrun.client import Client, resolve

    url, token = resolve(args.url, args.token)
    return Client(url, token)


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2))


def cmd_submit(args: argparse.Namespace) -> int:
    case_dir: Path = args.case_dir
    if not (case_dir / "namelist.input").is_file():
        print(f"localrun: {case_dir} has no namelist.input", file=sys.stderr)
        return 2
    client = _client(args)
    run = client.create_run(name=args.name or case_dir.resolve().name, version=args.model_version)
    inputs = sorted(p for p in case_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    client.upload(run["id"], inputs)
    run = client.start(run["id"], args.cores)
    if not args.watch:
        _print_json(run) if args.json else print(run["id"])
        return 0
    run = watch(client, run["id"])
    if args.json:
        _print_json(run)
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
            print(_ending(run), file=out)
            return run
        time.sleep(1)


def progress_line(run: dict[str, Any], width: int = 30) -> str:
    progress = run.get("progress") or {}
    percent = float(progress.get("percent") or 0.0)
    filled = int(width * percent / 100)
    bar = "#" * filled + "-" * (width - filled)
    left = progress.get("remaining_s")
    left_text = "?" if left is None else format_duration(float(left))
    model_time = progress.get("model_time") or "-"
    return f"[{bar}] {percent:5.1f}%  {run['state']:<9} model {model_time}  left {left_text}   "


def _ending(run: dict[str, Any]) -> str:
    error = run.get("error") or {}
    text = f"{run['state']}"
    if error.get("message"):
        text += f" ({error.get('code')}): {error['message']}"
    if error.get("hint"):
        text += f"\nhint: {error['hint']}"
    return text


def cmd_list(args: argparse.Namespace) -> int:
    client = _client(args)
    runs, cursor = [], None
    while True:
        page = client.runs(limit=200, cursor=cursor)
        runs += page["runs"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    if args.json:
        _print_json(runs)
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
    run = _client(args).run(args.run_id, events=True)
    if args.json:
        _print_json(run)
        return 0
    print(f"{run['id']}  {run['name']}  {run['state']}  {run['cores']} core(s)")
    print(f"model {run.get('model', 'wrf')} {run.get('version')}: {run.get('executable')}")
    print(progress_line(run).strip())
    if run.get("error"):
        print(_ending(run))
    for event in run.get("events", []):
        print(f"  {event['at']}  {event['state']:<9}  {event['message']}")
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    client = _client(args)
    offset = 0
    while True:
        chunk = client.logs(args.run_id, args.name, offset, follow=30 if args.follow else 0)
        sys.stdout.write(chunk["text"])
        sys.stdout.flush()
        offset = chunk["next_offset"]
        if not args.follow or chunk["eof"]:
            return 0


def cmd_stop(args: argparse.Namespace) -> int:
    run = _client(args).stop(args.run_id)
    _print_json(run) if args.json else print(f"{run['id']}: stop requested ({run['state']})")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from localrun.check import run_check

    return run_check(_client(args), as_json=args.json)


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


def cmd_inspect(args: argparse.Namespace) -> int:
    from localrun.wrf.inspect import inspect_dir, render

    stdout = args.stdout.read_text(errors="replace") if args.stdout else None
    report = inspect_dir(args.dir, exit_code=args.exit_code, mpirun_stdout=stdout)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


def cmd_estimate(args: argparse.Namespace) -> int:
    from localrun.wrf.estimate import estimate, options_json, render_table
    from localrun.wrf.namelist import NamelistError, read_case

    try:
        case = read_case(args.namelist)
    except (OSError, NamelistError) as exc:
        print(f"localrun: {exc}", file=sys.stderr)
        return 2
    settings = load(flags={"data_dir": args.data_dir} if args.data_dir else {})
    model = asyncio.run(host_cost_model(settings))
    options = estimate(case, args.cores or settings.total_cores, model, settings.cost_per_core_hour)
    if args.json:
        print(json.dumps(options_json(options), indent=2))
    else:
        print(render_table(options))
        source = f"calibrated on {model.samples} run(s)" if model.samples else "not calibrated"
        print(f"cost model: c = {model.c * 1e6:.2f} us per point-step per core ({source})")
    return 0


async def host_cost_model(settings: Settings) -> Any:
    """This host's cost model, refitted on the runs recorded in the data directory."""
    import socket

    from localrun.service.estimates import calibrated_model
    from localrun.store import Store
    from localrun.wrf.estimate import DEFAULT_MODEL

    db = settings.data_path / "localrun.db"
    if not db.exists():
        return DEFAULT_MODEL
    store = await Store.open(db)
    try:
        return await calibrated_model(store, socket.gethostname())
    finally:
        await store.close()


def cmd_tls(args: argparse.Namespace) -> int:
    from localrun import tls

    flags = {"data_dir": args.data_dir} if args.data_dir else {}
    directory = args.dir or load(flags=flags, config_file=args.config).data_path / "tls"
    names = tls.host_names()
    made = tls.init(directory.expanduser().resolve(), names)
    print(f"wrote {made.ca}, {made.cert} and {made.key} for {', '.join(names)}", file=sys.stderr)
    print(f"localrun serve --tls-cert {made.cert} --tls-key {made.key}")
    print(f"REQUESTS_CA_BUNDLE={made.ca}")
    return 0


COMMANDS = {
    "serve": cmd_serve,
    "token": cmd_token,
    "user": cmd_user,
    "submit": cmd_submit,
    "list": cmd_list,
    "status": cmd_status,
    "logs": cmd_logs,
    "stop": cmd_stop,
    "check": cmd_check,
    "example": cmd_example,
    "inspect": cmd_inspect,
    "estimate": cmd_estimate,
    "tls": cmd_tls,
}
