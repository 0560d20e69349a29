"""`localrun tls init [DIR]`: a private CA and a certificate for HTTPS."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from localrun.cli.common import Subparsers, data_dir_options, data_settings


def register(sub: Subparsers) -> None:
    tls = sub.add_parser("tls", help="make a private CA and a certificate for HTTPS")
    tls.add_argument("action", choices=["init"])
    tls.add_argument(
        "dir", type=Path, nargs="?", help="where to write them (default: DATA_DIR/tls)"
    )
    data_dir_options(tls)
    tls.set_defaults(handler=cmd_tls)


def cmd_tls(args: argparse.Namespace) -> int:
    from localrun import tls

    directory = args.dir or data_settings(args).data_path / "tls"
    names = tls.host_names()
    made = tls.init(directory.expanduser().resolve(), names)
    print(f"wrote {made.ca}, {made.cert} and {made.key} for {', '.join(names)}", file=sys.stderr)
    print(f"localrun serve --tls-cert {made.cert} --tls-key {made.key}")
    print(f"REQUESTS_CA_BUNDLE={made.ca}")
    return 0
