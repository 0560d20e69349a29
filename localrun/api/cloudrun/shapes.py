"""Cloudrun's Run object, its statuses and its error shape."""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from localrun.api.common import json_response
from localrun.api.formats import iso_z
from localrun.runs import Run, State, StoredFile
from localrun.service import ComputeOption, Service
from localrun.wrf.output import FieldSlice

STATUS = {
    State.CREATED: "created",
    State.READY: "ready",
    State.QUEUED: "starting",
    State.STARTING: "starting",
    State.RUNNING: "active",
    State.SUCCEEDED: "done",
    State.CANCELLED: "stopped",
    State.FAILED: "error",
    State.TIMED_OUT: "error",
    State.LOST: "error",
}
_DEFAULT_ERRORS = {
    State.FAILED: "the run failed",
    State.TIMED_OUT: "the run reached its wall-clock limit",
    State.LOST: "the run's processes are gone and left no outcome",
}


def render_error(status: int, code: str, message: str) -> web.Response:
    return json_response({"status": status, "message": message}, status=status)


def option_json(option: ComputeOption) -> dict[str, Any]:
    return {
        "compute_option_id": option.id,
        "cores": option.cores,
        "cost": str(round(option.cost, 4)),  # a decimal string, as in the seed ("1.14")
        "time": option.time_s,
    }


def percent_complete(run: Run) -> float:
    if run.state == State.SUCCEEDED:
        return 100.0
    return run.percent


def remaining_time(run: Run) -> int | None:
    if run.state == State.SUCCEEDED:
        return 0
    left = (run.progress or {}).get("remaining_s")
    if run.terminal or left is None:
        return None
    return math.ceil(float(left))


def error_json(run: Run) -> dict[str, Any] | None:
    if STATUS[run.state] != "error":
        return None
    message = run.error_message or _DEFAULT_ERRORS.get(run.state, "the run failed")
    if run.error_hint:
        message = f"{message} ({run.error_hint})"
    return {"status": run.error_code or run.state, "message": message}


def file_json(stored: StoredFile) -> dict[str, Any]:
    return {"fileid": str(stored.id), "filename": stored.name, "size": stored.size}


async def run_json(svc: Service, run: Run) -> dict[str, Any]:
    options = await svc.compute_options(run)
    selected = svc.selected_option(run)
    current = [o for o in options if selected is not None and o.id == selected.id]
    chosen = current[0] if current else selected
    return {
        "compute_config": {},
        "compute_options": [option_json(o) for o in options],
        "disk_usage": svc.disk_usage(run),
        "error": error_json(run),
        "id": run.id,
        "input_files": [file_json(f) for f in await svc.input_files(run)],
        "model": run.model,
        "output_files": [{"filename": e.path, "size": e.size} for e in svc.output_entries(run)],
        "percent_complete": percent_complete(run),
        "remaining_time": remaining_time(run),
        "required_input_files": svc.required_inputs(run),
        "run_name": run.extra.get("run_name"),
        "selected_compute_option": {} if chosen is None else option_json(chosen),
        "status": STATUS[run.state],
        "time_created": iso_z(run.created_at),
        "time_started": iso_z(run.queued_at or run.started_at),
        "time_stopped": iso_z(run.ended_at),
        "version": run.version,
    }


def field_json(found: FieldSlice) -> dict[str, Any]:
    """read_output's answer: {FIELD: {attributes}, "times": [...], "data": [...]}."""
    return {found.field: found.attributes, "times": found.times, "data": found.data}
