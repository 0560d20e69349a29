"""`localrun serve`: the daemon in the foreground."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys

from localrun.cli.common import Subparsers
from localrun.config import SETTINGS, Settings, SettingsError, load


def register(sub: Subparsers) -> None:
    serve = sub.add_parser("serve", help="run the daemon", description="Run the daemon.")
    serve.add_argument("--config", help="TOML settings file")
    serve.add_argument(
        "--demo", action="store_true", help="also submit the example case and show its progress"
    )
    for setting in SETTINGS:
        kind = str if setting.type is bool else setting.type
        serve.add_argument(setting.flag, dest=setting.name, type=kind, help=setting.help)
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
            "or --allow-remote true to serve plain HTTP on it"
        )


def cmd_serve(args: argparse.Namespace) -> int:
    from localrun.serve import serve

    settings = settings_from(args)
    check_bind(settings)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    serve(settings, demo=args.demo)
    return 0
