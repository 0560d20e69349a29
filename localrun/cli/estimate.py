"""`localrun estimate NAMELIST`: time and cost per core count, from this host's calibration."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from localrun.cli.common import CommandError, Subparsers, readable_file
from localrun.config import Settings, load


def register(sub: Subparsers) -> None:
    estimate = sub.add_parser(
        "estimate",
        help="time and cost per core count for a namelist",
        description="Time and cost per core count for a namelist, from this host's calibration.",
    )
    estimate.add_argument("namelist", type=Path, help="a namelist.input")
    estimate.add_argument("--cores", type=int, help="largest core count to consider")
    estimate.add_argument("--data-dir", dest="data_dir", help="where calibration runs are kept")
    estimate.add_argument("--json", action="store_true", help="print JSON")
    estimate.set_defaults(handler=cmd_estimate)


def cmd_estimate(args: argparse.Namespace) -> int:
    from localrun.wrf.estimate import estimate, options_json, render_table
    from localrun.wrf.namelist import NamelistError, read_case

    path = readable_file(args.namelist, "namelist")
    try:
        case = read_case(path)
    except UnicodeDecodeError:
        raise CommandError(f"{path} is not a namelist (not text)", 2) from None
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}", 2) from None
    except NamelistError as exc:
        raise CommandError(f"{path}: {exc.message}", 2) from None
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
