"""The commands on runs already made: list, status, stop, rm, prune."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import time
from typing import Any

from localrun.cli.common import (
    CommandError,
    Subparsers,
    client_command,
    client_of,
    data_dir_options,
    data_settings,
    print_json,
)
from localrun.cli.durations import duration_arg
from localrun.cli.ids import all_runs, resolve_id
from localrun.cli.progress import _epoch, elapsed_s, ending, percent_of, progress_line
from localrun.client import Client, ClientError
from localrun.runs import TERMINAL
from localrun.wrf.estimate_table import format_duration

ENDED = ",".join(sorted(TERMINAL))


def register(sub: Subparsers) -> None:
    listing = client_command(sub, "list", "list runs, newest first")
    listing.add_argument("--state", help="only runs in these states (comma-separated)")
    listing.add_argument("--name", help="only runs with this name")
    listing.add_argument("--since", type=duration_arg, help="only runs made this recently (2h, 7d)")
    listing.add_argument("--limit", type=int, help="at most this many runs")
    listing.add_argument(
        "--all",
        action="store_true",
        help="every owner's runs, read from the data directory (an administrator's view)",
    )
    data_dir_options(listing)
    listing.set_defaults(handler=cmd_list)

    status = client_command(sub, "status", "show one run: times, usage, outputs, events")
    status.add_argument("run_id", help="a run id, or a prefix naming one run")
    status.set_defaults(handler=cmd_status)

    stop = client_command(sub, "stop", "stop runs (a queued run is cancelled)")
    stop.add_argument("run_ids", nargs="*", metavar="RUN_ID", help="run ids or prefixes")
    stop.add_argument("--name", help="stop every live run with this name")
    stop.set_defaults(handler=cmd_stop)

    rm = client_command(sub, "rm", "delete runs: their files and their records")
    rm.add_argument("run_ids", nargs="+", metavar="RUN_ID", help="run ids or prefixes")
    rm.add_argument("--force", action="store_true", help="stop a live run first, then delete it")
    rm.set_defaults(handler=cmd_rm)

    prune = client_command(sub, "prune", "delete ended runs older than a given age")
    prune.add_argument(
        "--older-than", type=duration_arg, required=True, help="age, like 30d or 12h"
    )
    prune.add_argument("--state", default=ENDED, help=f"only these states (default: {ENDED})")
    prune.add_argument("--dry-run", action="store_true", help="say what would go; delete nothing")
    prune.set_defaults(handler=cmd_prune)


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    if args.state:
        filters["state"] = args.state
    if args.name:
        filters["name"] = args.name
    if args.since:
        filters["created_after"] = str(time.time() - args.since)
    return filters


def cmd_list(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        raise CommandError("--limit must be at least 1", 2)
    if args.all:
        runs = asyncio.run(_every_owners_runs(args))
    else:
        runs = all_runs(client_of(args), **_filters(args))
    runs.sort(key=lambda r: r.get("created_at") or "", reverse=True)
    runs = runs[: args.limit] if args.limit else runs
    if args.json:
        print_json(runs)
        return 0
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    print(table(runs, owners=args.all, width=width))
    return 0


def short_ids(ids: list[str], least: int = 8) -> dict[str, str]:
    """Each id by its shortest prefix of at least `least` characters that no other id shares."""
    shortened = {}
    for run_id in ids:
        size = least
        while size < len(run_id) and any(o != run_id and o.startswith(run_id[:size]) for o in ids):
            size += 1
        shortened[run_id] = run_id[:size]
    return shortened


def table(runs: list[dict[str, Any]], owners: bool = False, width: int | None = None) -> str:
    """The runs, a row each; on a terminal narrower than the table, ids are shortened to
    prefixes that name one run (every command takes them)."""
    text = _table(runs, owners, {})
    if width is not None and max(map(len, text.splitlines())) > width:
        text = _table(runs, owners, short_ids([str(r["id"]) for r in runs]))
    return text


def _table(runs: list[dict[str, Any]], owners: bool, ids: dict[str, str]) -> str:
    head = ["ID", "NAME", "STATE", "CORES", "ELAPSED", "PROGRESS", "MODEL"]
    rows = [head + (["OWNER"] if owners else [])]
    for run in runs:
        ran = elapsed_s(run)
        row = [
            ids.get(str(run["id"]), str(run["id"])),
            str(run.get("name") or "-"),
            str(run["state"]),
            str(run.get("cores") or "-"),
            "-" if ran is None else format_duration(ran),
            f"{percent_of(run):.1f}%",
            executable_text(run),
        ]
        rows.append(row + ([str(run.get("owner"))] if owners else []))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in rows]
    return "\n".join(lines) if runs else lines[0] + "\n(no runs)"


async def _every_owners_runs(args: argparse.Namespace) -> list[dict[str, Any]]:
    from localrun.api.formats import iso_z
    from localrun.store import Store

    settings = data_settings(args)
    db = settings.data_path / "localrun.db"
    if not db.exists():
        raise CommandError(f"no localrun data in {settings.data_path} (give --data-dir)")
    store = await Store.open(db)
    try:
        states = args.state.split(",") if args.state else None
        after = time.time() - args.since if args.since else None
        found = await store.list_runs(
            None, states=states, name=args.name, created_after=after, limit=1 << 30, launch=False
        )
    finally:
        await store.close()
    return [
        {
            "id": r.id,
            "owner": r.owner,
            "name": r.name,
            "state": str(r.state),
            "cores": r.cores,
            "family": r.family,
            "model": r.model,
            "version": r.version,
            "executable": r.extra.get("executable") or "simulator",
            "progress": r.progress,
            "created_at": iso_z(r.created_at),
            "started_at": iso_z(r.started_at),
            "ended_at": iso_z(r.ended_at),
        }
        for r in found
    ]


def executable_text(run: dict[str, Any]) -> str:
    """ "simulator", or the configured version that ran ("wrf 4.7.1")."""
    if run.get("executable", "simulator") == "simulator":
        return "simulator"
    return f"{run.get('model', 'wrf')} {run.get('version')}"


def cmd_status(args: argparse.Namespace) -> int:
    client = client_of(args)
    run = client.run(resolve_id(client, args.run_id), events=True)
    if args.json:
        print_json(run)
        return 0
    print("\n".join(status_lines(run, client.files(run["id"]))))
    return 0


def status_lines(run: dict[str, Any], outputs: list[dict[str, Any]]) -> list[str]:
    lines = [
        f"{run['id']}  {run['name']}  {run['state']}  {run['cores']} core(s)",
        f"model {run.get('model', 'wrf')} {run.get('version')}: {run.get('executable')}",
        progress_line(run),
    ]
    ran = elapsed_s(run)
    if ran is not None:
        lines.append(f"elapsed {format_duration(ran)}" + _cpu_text(run, ran))
    if run["state"] == "queued":
        waited = time.time() - (_epoch(run.get("queued_at")) or time.time())
        reason = run.get("queue_reason") or "waiting for free cores"
        place = f", number {run['queue_position']} in line" if run.get("queue_position") else ""
        lines.append(f"queued {format_duration(waited)}{place}: {reason}")
    if run.get("work_dir"):
        lines.append(f"run directory {run['work_dir']}")
    if run.get("exit_code") is not None:
        lines.append(f"exit code {run['exit_code']}")
    lines += link_lines(run.get("links") or {})
    if run.get("error"):
        lines.append(ending(run))
    if outputs:
        size = sum(int(f.get("size") or 0) for f in outputs)
        lines.append(f"outputs: {len(outputs)} file(s), {size} bytes (localrun download)")
        lines += [f"  {f['path']}  {f['size']}" for f in outputs[:10]]
        if len(outputs) > 10:
            lines.append(f"  ... and {len(outputs) - 10} more")
    lines += [f"  {e['at']}  {e['state']:<9}  {e['message']}" for e in run.get("events", [])]
    return lines


def link_lines(links: dict[str, Any]) -> list[str]:
    said = {
        "resumed_from": "resumes run {} (from model time {restart_at})",
        "resumed_by": "resumed by run {}",
        "retry_of": "attempt {attempt} after a CFL failure of run {}",
        "retried_by": "retried after CFL as run {}",
    }
    return [text.format(links[key], **links) for key, text in said.items() if key in links]


def _cpu_text(run: dict[str, Any], ran: float) -> str:
    usage = run.get("usage") or {}
    parts = []
    if usage.get("cpu_s") is not None:
        parts.append(f"CPU time {format_duration(float(usage['cpu_s']))}")
    elif usage.get("cpu_percent") is not None:
        parts.append(f"CPU {usage['cpu_percent']}%")
    rss = usage.get("peak_rss_bytes") or usage.get("rss_bytes")
    if rss:
        label = "peak RSS" if usage.get("peak_rss_bytes") else "RSS"
        parts.append(f"{label} {int(rss) / (1 << 20):.0f} MiB")
    return ("  " + "  ".join(parts)) if parts else ""


def _ids(client: Client, texts: list[str]) -> list[str]:
    return [resolve_id(client, t) for t in texts]


def cmd_stop(args: argparse.Namespace) -> int:
    client = client_of(args)
    if not args.run_ids and not args.name:
        raise CommandError("stop needs RUN_IDs or --name NAME", 2)
    ids = _ids(client, args.run_ids)
    if args.name:
        live = [r for r in all_runs(client, name=args.name) if r["state"] not in TERMINAL]
        if not live and not ids:
            raise CommandError(f"no live run is named {args.name!r}")
        ids += [r["id"] for r in live if r["id"] not in ids]
    failed, done = 0, []
    for run_id in ids:
        try:
            run = client.stop(run_id)
        except ClientError as exc:
            print(f"localrun: {run_id}: {exc.message}", file=sys.stderr)
            failed += 1
            continue
        done.append(run)
        if not args.json:
            print(f"{run['id']}: stop requested ({run['state']})")
    if args.json:
        print_json(done)
    return 1 if failed else 0


def cmd_rm(args: argparse.Namespace) -> int:
    client = client_of(args)
    ids = _ids(client, args.run_ids)
    failed = 0
    for run_id in ids:
        run = client.run(run_id)
        if run["state"] not in TERMINAL and not args.force:
            print(
                f"localrun: {run_id} is {run['state']}: stop it first, or rm --force",
                file=sys.stderr,
            )
            failed += 1
            continue
        client.delete(run_id, record=True)
        print(f"{run_id}: deleted")
    return 1 if failed else 0


def cmd_prune(args: argparse.Namespace) -> int:
    client = client_of(args)
    states = [s for s in args.state.split(",") if s]
    live = [s for s in states if s not in TERMINAL]
    if live:
        raise CommandError(f"prune deletes ended runs only; {live[0]!r} is not an ended state", 2)
    cutoff = time.time() - args.older_than
    old = [
        r
        for r in all_runs(client, state=",".join(states))
        if (_epoch(r.get("ended_at")) or _epoch(r.get("created_at")) or cutoff) < cutoff
    ]
    for run in old:
        if not args.dry_run:
            client.delete(run["id"], record=True)
    if args.json:
        print_json({"dry_run": args.dry_run, "runs": [r["id"] for r in old]})
        return 0
    verb = "would delete" if args.dry_run else "deleted"
    for run in old:
        print(f"{verb} {run['id']}  {run['state']}  {run.get('ended_at') or '-'}  {run['name']}")
    print(f"{verb} {len(old)} run(s)", file=sys.stderr)
    return 0
