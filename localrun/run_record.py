"""`logs/run.json`: what the daemon knows of a run that its logs cannot say, kept beside them.

A stop request, the state the daemon decided and why. `localrun inspect` reads it, so a run
directory explains itself without the database (WRF.md §8: a stopped run's logs look like a
crash). Written to a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from localrun.runs import Run

NAME = "run.json"
VERSION = 1


def record(run: Run) -> dict[str, Any]:
    return {
        "version": VERSION,
        "id": run.id,
        "name": run.name,
        "state": run.state.value,
        "terminal": run.terminal,
        "stop_requested": run.stop_requested_at is not None,
        "stop_reason": run.stop_reason.value if run.stop_reason else None,
        "exit_code": run.exit_code,
        "error_code": run.error_code,
        "message": run.error_message,
        "hint": run.error_hint,
        "model": run.model,
        "version_asked": run.version,
        "executable": run.extra.get("executable") or (run.launch or {}).get("executable"),
        "cores": run.cores,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
    }


def write(logs: Path, run: Run) -> None:
    """Replace logs/run.json; a run whose folder is gone (deleted) is left alone."""
    if not logs.is_dir():
        return
    part = logs / f".{NAME}.part"
    part.write_text(json.dumps(record(run), indent=2) + "\n")
    os.replace(part, logs / NAME)


def read(logs: Path) -> dict[str, Any] | None:
    try:
        found = json.loads((logs / NAME).read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None
