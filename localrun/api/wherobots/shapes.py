"""Wherobots' Run object, its logs page, its metrics and its errors (CLIENTS.md §B3, §C3)."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from localrun.api.formats import iso_z_seconds
from localrun.runs import Run, State

STATUS: dict[State, str] = {
    State.CREATED: "PENDING",
    State.READY: "PENDING",
    State.QUEUED: "PENDING",
    State.STARTING: "PENDING",
    State.RUNNING: "RUNNING",
    State.SUCCEEDED: "COMPLETED",
    State.FAILED: "FAILED",
    State.LOST: "FAILED",
    State.TIMED_OUT: "FAILED",  # never TIMED_OUT: the SDK would poll it forever
    State.CANCELLED: "CANCELLED",
}
RUNTIME_CORES = {
    "micro": 1,
    "tiny": 1,
    "small": 2,
    "medium": 4,
    "large": 8,
    "x-large": 16,
    "xlarge": 16,
    "2x-large": 32,
    "xxlarge": 32,
    "4x-large": 64,
}
DEFAULT_RUNTIME = "tiny"


def render_error(status: int, code: str, message: str) -> web.Response:
    """{"message"}, which both clients show; a 422 also carries FastAPI's detail."""
    body: dict[str, Any] = {"message": message}
    if status == 422:
        field, _, why = message.partition(": ")
        body["detail"] = [{"loc": ["body", *field.split(".")], "msg": why, "type": "value_error"}]
    return web.json_response(body, status=status)


def kube_app(run: Run) -> dict[str, Any] | None:
    """null, or an object with events (the Airflow models reject {}); a run that outlived its
    timeout carries RUN_FAIL_EXEC with "timeout" in its message; what localrun noted at
    creation (ignored sparkConfigs) follows as LOCALRUN_NOTE."""
    events = []
    if run.state == State.TIMED_OUT:
        events.append({"code": "RUN_FAIL_EXEC", "message": "the run reached its timeout"})
    elif run.state in (State.FAILED, State.LOST):
        message = run.error_message or "the run failed"
        events.append({"code": "RUN_FAIL_EXEC", "message": message[:2000]})
    notes = (run.extra.get("wherobots") or {}).get("notes") or []
    events += [{"code": "LOCALRUN_NOTE", "message": str(note)} for note in notes]
    if not events:
        return None
    moments = [t for t in (run.created_at, run.queued_at, run.started_at, run.ended_at) if t]
    return {
        "id": run.id,
        "createTime": iso_z_seconds(run.created_at),
        "updateTime": iso_z_seconds(max(moments)),
        "instanceId": run.id,
        "appType": "JOB",  # a Run is a job application; the seed shows JUPYTER for notebooks
        "status": STATUS[run.state],
        "createdById": run.owner,
        "message": events[0]["message"],
        "apiPayload": (run.extra.get("wherobots") or {}).get("payload") or {},
        "appMeta": {"spark_ui_url": "", "spark_eventlogs_url": ""},
        "events": events,
    }


def run_json(run: Run) -> dict[str, Any]:
    spec = run.extra.get("wherobots") or {}
    moments = [t for t in (run.created_at, run.queued_at, run.started_at, run.ended_at) if t]
    return {
        "id": run.id,
        "name": run.name,
        "status": STATUS[run.state],
        "createTime": iso_z_seconds(run.created_at),
        "updateTime": iso_z_seconds(max(moments)),
        "startTime": iso_z_seconds(run.started_at),
        "completeTime": iso_z_seconds(run.ended_at),
        "region": spec.get("region"),
        "triggeredBy": {
            "id": run.owner,
            "createTime": iso_z_seconds(run.created_at),
            "updateTime": iso_z_seconds(run.created_at),
            "roles": [],
            "email": "",
            "name": run.owner,
        },
        "payload": spec.get("payload") or {},
        "kubeApp": kube_app(run),
    }


def logs_json(cursor: int, lines: list[tuple[int, str]]) -> dict[str, Any]:
    """The cursor contract both clients follow: timestamps are line numbers (from 1), a page
    holds the lines after the cursor, next_page is the last one given (the cursor when none),
    current_page echoes the cursor."""
    return {
        "items": [{"timestamp": number, "raw": text} for number, text in lines],
        "current_page": cursor,
        "next_page": lines[-1][0] if lines else cursor,
    }


def metrics_json(run: Run, cost_per_core_hour: float, memory_total: int) -> dict[str, Any]:
    usage = run.usage or {}
    end = run.ended_at or 0.0
    hours = max(0.0, (end or time.time()) - run.started_at) / 3600 if run.started_at else 0.0
    instant: dict[str, Any] = {"COST_USD": round(hours * run.cores * cost_per_core_hour, 6)}
    if usage.get("cpu_percent") is not None:
        instant["CPU_UTILIZATION_PERCENT"] = round(usage["cpu_percent"] / max(run.cores, 1), 1)
    if usage.get("rss_bytes") is not None and memory_total:
        instant["MEMORY_UTILIZATION_PERCENT"] = round(100 * usage["rss_bytes"] / memory_total, 2)
    return {"instant_metrics": instant, "series_metrics": {}}
