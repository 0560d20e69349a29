"""The JSON shapes of localrun's own API."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from localrun.api.formats import iso_z
from localrun.runs import TERMINAL, Event, Run, State
from localrun.service import Service

# every state is shown as its own name
STATES: dict[State, str] = {state: state.value for state in State}


def render_error(status: int, code: str, message: str) -> web.Response:
    body = {"error": {"status": status, "code": code, "message": message}}
    return web.json_response(body, status=status)


LINKS = (
    "resumed_from",
    "resumed_by",
    "restart_at",
    "retry_of",
    "retried_by",
    "attempt",
    "cfl_retries",
)


def run_json(svc: Service, run: Run, events: list[Event] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": run.id,
        "name": run.name,
        "model": run.model,
        "version": run.version,
        "executable": run.extra.get("executable") or "simulator",
        "family": run.family,
        "state": STATES[run.state],
        "cores": run.cores,
        "walltime_s": run.walltime_s,
        "created_at": iso_z(run.created_at),
        "queued_at": iso_z(run.queued_at),
        "started_at": iso_z(run.started_at),
        "ended_at": iso_z(run.ended_at),
        "progress": progress_json(run),
        "usage": run.usage,
        "exit_code": run.exit_code,
        "error": None,
        "required_inputs": svc.required_inputs(run),
        "missing_inputs": svc.missing_inputs(run) if run.state == State.CREATED else [],
        "stop_requested": run.stop_requested_at is not None,
        "queue_reason": run.extra.get("queue_reason") if run.state == State.QUEUED else None,
        "job": None if run.job_id is None else {"id": run.job_id, "index": run.job_index},
        "links": {k: run.extra[k] for k in LINKS if run.extra.get(k) is not None},
        "preprocess": run.extra.get("preprocess"),
    }
    if run.error_code or run.error_message:
        body["error"] = {
            "code": run.error_code,
            "message": run.error_message,
            "hint": run.error_hint,
        }
    if events is not None:
        body["events"] = [event_json(e) for e in events]
    return body


def from_row_alone(svc: Service, run: Run) -> bool:
    """Whether run_json(svc, run) depends on the stored row alone, and not on the clock or the
    run's folder, so that its body may be kept (api.rendered). A live run's row changes at
    every sample: it is rendered each time."""
    return run.state in KEPT_STATES and svc.inputs_recorded(run)


KEPT_STATES = TERMINAL | {State.READY}


def progress_json(run: Run) -> dict[str, Any] | None:
    """The run's progress; a run that ended has no time left (0 when it succeeded)."""
    if run.progress is None or not run.terminal:
        return run.progress
    ended = 0.0 if run.state == State.SUCCEEDED else None
    return {**run.progress, "remaining_s": ended, "remaining_from": "ended"}


def event_json(event: Event) -> dict[str, Any]:
    return {"at": iso_z(event.at), "state": event.state, "message": event.message}
