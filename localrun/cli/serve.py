"""`localrun serve`: the daemon, in the foreground or (--detach) in the background."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import shutil
import sys
from pathlib import Path

from localrun import daemon_process
from localrun.cli.common import CommandError, Subparsers
from localrun.cli.logsetup import setup
from localrun.config import SETTINGS, Settings, SettingsError, load
from localrun.errors import StartupError

log = logging.getLogger("localrun")
URL_FILE = "daemon.url"


def register(sub: Subparsers) -> None:
    serve = sub.add_parser(
        "serve",
        help="run the daemon",
        description="Run the daemon. Every setting is a flag here, an environment variable "
        "(LOCALRUN_...) and a key of the TOML file.",
    )
    serve.add_argument("--config", help="TOML settings file (default: LOCALRUN_CONFIG)")
    serve.add_argument(
        "--demo", action="store_true", help="also submit the example case and show its progress"
    )
    serve.add_argument("--log-file", type=Path, help="append the log to this file, not stderr")
    serve.add_argument(
        "--detach",
        action="store_true",
        help="run in the background (log to --log-file, default DATA_DIR/localrun.log)",
    )
    for setting in SETTINGS:
        if setting.type is bool:  # `--allow-remote` alone means true; `--allow-remote false` too
            serve.add_argument(
                setting.flag, dest=setting.name, nargs="?", const="true", help=setting.help
            )
        else:
            serve.add_argument(
                setting.flag, dest=setting.name, type=setting.type, help=setting.help
            )
    serve.set_defaults(handler=cmd_serve)


def settings_from(args: argparse.Namespace) -> Settings:
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
            "or --allow-remote to serve plain HTTP on it"
        )


def check_launcher(settings: Settings) -> None:
    """Refuse to start with an MPI launcher that is not there: every run would fail."""
    if settings.executor != "local":
        return
    found = shutil.which(settings.mpirun)
    if found is None:
        why = "is not an executable file" if Path(settings.mpirun).exists() else "is not found"
        raise StartupError(f"mpirun {settings.mpirun} {why}: give --mpirun PATH (mpiexec)")


def cores_warning(settings: Settings) -> str | None:
    have = os.cpu_count() or 1
    if settings.cores > have:
        return (
            f"cores {settings.cores} is more than this machine's {have} CPUs: runs will share "
            "CPUs and run slower"
        )
    return None


def cmd_serve(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    check_bind(settings)
    check_launcher(settings)
    if args.detach:
        return detach(args, settings)
    log_file = args.log_file.expanduser() if args.log_file else None
    setup(settings.log_level, log_file)
    warning = cores_warning(settings)
    if warning:
        log.warning(warning)
    from localrun.serve import serve

    serve(settings, demo=args.demo)
    return 0


def detach(args: argparse.Namespace, settings: Settings) -> int:
    """Start `localrun serve` again in its own session; wait until it listens or dies."""
    settings.data_path.mkdir(parents=True, exist_ok=True)
    log_file: Path = (args.log_file or settings.data_path / "localrun.log").expanduser().resolve()
    argv = [a for a in args.argv if a != "--detach"]
    if args.log_file is None:
        argv += ["--log-file", str(log_file)]
    url_file = settings.data_path / URL_FILE
    before = url_file.stat().st_mtime_ns if url_file.exists() else -1
    proc = daemon_process.spawn(argv, log_file)
    try:
        daemon_process.wait_ready(
            proc, lambda: url_file.exists() and url_file.stat().st_mtime_ns != before, 60, 0.2
        )
    except daemon_process.NotReady as exc:
        if exc.exited:
            raise CommandError(f"the daemon exited at start-up: {_last_line(log_file)}") from None
        raise CommandError(
            f"the daemon did not start listening within 60 s; see {log_file}"
        ) from None
    url = url_file.read_text().strip()
    print(f"localrun serving at {url} (pid {proc.pid}); log in {log_file}")
    print(f"stop it with: kill {proc.pid}", file=sys.stderr)
    return 0


def _last_line(log_file: Path) -> str:
    try:
        lines = log_file.read_text(errors="replace").strip().splitlines()
    except OSError:
        return f"see {log_file}"
    return lines[-1] if lines else f"see {log_file}"
