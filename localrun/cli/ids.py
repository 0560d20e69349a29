"""Run ids as people type them: whole, or a prefix that names one run (as git takes)."""

from __future__ import annotations

from typing import Any

from localrun.cli.common import CommandError
from localrun.client import Client, ClientError


def all_runs(client: Client, **filters: Any) -> list[dict[str, Any]]:
    """Every run the token sees, oldest first, page by page."""
    runs: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = client.runs(limit=1000, cursor=cursor, **filters)
        runs += page["runs"]
        cursor = page["next_cursor"]
        if not cursor:
            return runs


def resolve_id(client: Client, text: str) -> str:
    """The full id of the run text names; a CommandError when none or several match."""
    text = text.strip()
    if not text:
        raise CommandError("a run id is empty", 2)
    try:
        return str(client.run(text)["id"])
    except ClientError as exc:
        if exc.status != 404:
            raise
    matches = [r["id"] for r in all_runs(client) if str(r["id"]).startswith(text)]
    if not matches:
        raise CommandError(f"no run {text!r} (localrun list shows your runs)")
    if len(matches) > 1:
        shown = ", ".join(matches[:5]) + (", ..." if len(matches) > 5 else "")
        raise CommandError(f"run id {text!r} is ambiguous: it starts {shown}", 2)
    return str(matches[0])
