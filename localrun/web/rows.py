"""What the pages show of a run: plain values, computed once for the templates and for the
live updates' JSON alike."""

from __future__ import annotations

import time
from typing import Any

from localrun.runs import LIVE, Run, State

STATE_CLASSES: dict[State, str] = {
    State.CREATED: "idle",
    State.READY: "idle",
    State.QUEUED: "waiting",
    State.STARTING: "live",
    State.RUNNING: "live",
    State.SUCCEEDED: "good",
    State.FAILED: "bad",
    State.CANCELLED: "idle",
    State.TIMED_OUT: "bad",
    State.LOST: "bad",
}


def duration(seconds: float | None) -> str:
    """3h 02m, 4m 05s, 12s; "" for no value."""
    if seconds is None or seconds < 0:
        return ""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def elapsed_s(run: Run, now: float) -> float | None:
    if run.started_at is None:
        return None
    return (run.ended_at or now) - run.started_at


def summary(run: Run, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    progress = run.progress or {}
    remaining = progress.get("remaining_s") if run.state in LIVE else None
    return {
        "id": run.id,
        "name": run.name or run.id[:8],
        "state": run.state.value,
        "state_class": STATE_CLASSES[run.state],
        "family": run.family,
        "cores": run.cores,
        "percent": round(float(progress.get("percent") or 0.0), 1),
        "remaining": duration(remaining),
        "elapsed": duration(elapsed_s(run, now)),
        "created_at": time.strftime("%Y-%m-%d %H:%M", time.localtime(run.created_at)),
        "live": run.state in LIVE,
        "error_code": run.error_code or "",
    }


def domains(run: Run) -> list[dict[str, Any]]:
    found = (run.progress or {}).get("domains") or []
    return [
        {
            "domain": int(d.get("domain", 0)),
            "percent": round(float(d.get("percent") or 0.0), 1),
            "model_time": str(d.get("model_time") or ""),
            "steps": int(d.get("steps") or 0),
        }
        for d in found
        if isinstance(d, dict)
    ]
