"""`localrun token create|list|revoke` (on the data directory) and `localrun login`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from localrun.cli.common import (
    CommandError,
    Subparsers,
    data_dir_options,
    data_settings,
)
from localrun.config import Settings

URL_FILE = "daemon.url"  # beside daemon.lock: the URL the daemon owning the directory serves


def register(sub: Subparsers) -> None:
    token = sub.add_parser(
        "token",
        help="manage API tokens (works on the data directory)",
        description="Manage API tokens, on the data directory (as the daemon's user).",
    )
    actions = token.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create", help="make a token", description="Make a token and print it (once)."
    )
    create.add_argument("name", help="the token's name")
    create.add_argument("--owner", help="owner of the runs made with this token (default: NAME)")
    create.add_argument(
        "--save", action="store_true", help="save the daemon's URL and the token for the CLI"
    )
    create.add_argument("--url", help="the URL to save (default: the running daemon's)")
    listing = actions.add_parser(
        "list", help="list tokens", description="List every token: name, owner, revoked."
    )
    revoke = actions.add_parser(
        "revoke", help="revoke a token", description="Revoke the active token named NAME."
    )
    revoke.add_argument("name", help="the token's name")
    for cmd in (create, listing, revoke):
        data_dir_options(cmd)
        cmd.add_argument("--json", action="store_true", help="print JSON")
        cmd.set_defaults(handler=cmd_token)

    login = sub.add_parser(
        "login",
        help="save a daemon's URL and your token for the CLI",
        description="Check the token against the daemon, then save both for later commands.",
    )
    login.add_argument("--url", required=True, help="the daemon's URL, like https://host:8080")
    login.add_argument("--token", required=True, help="the token your administrator gave you")
    login.set_defaults(handler=cmd_login)


def daemon_url(settings: Settings) -> str:
    """The URL the daemon of this data directory serves, else the one its settings give."""
    path = settings.data_path / URL_FILE
    try:
        return path.read_text().strip()
    except OSError:
        scheme = "https" if settings.tls else "http"
        return f"{scheme}://{settings.host}:{settings.port}"


def cmd_token(args: argparse.Namespace) -> int:
    return asyncio.run(_token(data_settings(args), args))


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
        if args.action == "revoke":
            if not await tokens.revoke(args.name):
                raise CommandError(f"no active token named {args.name}")
            print(f"revoked {args.name}")
            return 0
        try:
            token = await tokens.create(args.name, args.owner)
        except ServiceError as exc:
            raise CommandError(exc.message) from None
    if args.save:
        from localrun.client import save_client_config

        url = (args.url or daemon_url(settings)).rstrip("/")
        where = save_client_config(url, token)
        print(f"saved {url} and the token to {where}", file=sys.stderr)
    print(json.dumps({"name": args.name, "token": token}) if args.json else token)
    return 0


def cmd_login(args: argparse.Namespace) -> int:
    from localrun.client import Client, save_client_config

    url = args.url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise CommandError(f"--url must start with http:// or https://, not {url!r}", 2)
    health = Client(url, args.token, timeout=30).call("GET", "/localrun/v1/health")
    where = save_client_config(url, args.token)
    print(f"logged in to localrun {health.get('version')} at {url}; saved to {where}")
    return 0
