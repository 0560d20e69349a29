"""`localrun token create|list|revoke`, on the data directory."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from localrun.cli.common import Subparsers, data_dir_options, data_settings
from localrun.config import Settings


def register(sub: Subparsers) -> None:
    token = sub.add_parser("token", help="manage API tokens (works on the data directory)")
    token.add_argument("action", choices=["create", "list", "revoke"])
    token.add_argument("name", nargs="?")
    token.add_argument("--owner", help="owner of the runs made with this token (default: NAME)")
    data_dir_options(token)
    token.add_argument("--save", action="store_true", help="write URL and token to client.toml")
    token.add_argument("--json", action="store_true")
    token.set_defaults(handler=cmd_token)


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
