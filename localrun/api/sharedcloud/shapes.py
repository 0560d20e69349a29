"""Sharedcloud's JSON shapes (CLIENTS.md §E3): day-first dates, money as JSON numbers,
current_server_time on every item, job statuses as integers, DRF's errors."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from localrun.api.formats import day_first
from localrun.runs import Event, Job, Run, State

CREATED, IN_PROGRESS, SUCCEEDED, FAILED, TIMEOUT = 1, 2, 3, 4, 5
STATUS: dict[State, int] = {
    State.CREATED: CREATED,
    State.READY: CREATED,
    State.QUEUED: CREATED,
    State.STARTING: CREATED,
    State.RUNNING: IN_PROGRESS,
    State.SUCCEEDED: SUCCEEDED,
    State.FAILED: FAILED,
    State.CANCELLED: FAILED,
    State.LOST: FAILED,
    State.TIMED_OUT: TIMEOUT,
}
NOT_FOUND = "Not found."
PYTHON_IMAGE = "24b3a0f8-c405-4928-954f-d5c93273f88a"  # the client's own tests use this id
IMAGES: dict[str, dict[str, Any]] = {
    PYTHON_IMAGE: {
        "uuid": PYTHON_IMAGE,
        "registry_path": "sharedcloud/web-crawling-python36:latest",
        "description": (
            "The daemon's own Python, sandboxed like every localrun run, with mpirun, wrf.exe "
            "and localrun.handlers.run_case for WRF cases"
        ),
        "requires_gpu": False,
    }
}


def render_error(status: int, code: str, message: str) -> web.Response:
    """DRF's shapes: {"<field>": [message]} for a refused field, {"detail": message} else."""
    if code.startswith("field:"):
        return web.json_response({code.removeprefix("field:"): [message]}, status=status)
    if status == 404:
        message = NOT_FOUND
    return web.json_response({"detail": message}, status=status)


def now() -> str | None:
    return day_first(time.time())


def image_json(image: dict[str, Any], since: float) -> dict[str, Any]:
    return {**image, "created_at": day_first(since), "current_server_time": now()}


def function_json(function: dict[str, Any], num_runs: int) -> dict[str, Any]:
    image = IMAGES.get(function["image"], {})
    return {
        "uuid": function["id"],
        "name": function["name"],
        "image": function["image"],
        "registry_path": image.get("registry_path"),
        "code": function["code"],
        "num_runs": num_runs,
        "created_at": day_first(function["created_at"]),
        "updated_at": day_first(function["updated_at"]),
        "current_server_time": now(),
    }


def run_json(job: Job) -> dict[str, Any]:
    spec = job.spec
    return {
        "uuid": job.id,
        "parameters": spec.get("parameters"),
        "bid_price": float(spec.get("bid_price", 0.0)),
        "base_gpu": None,
        "base_gpu_name": "n/a",
        "function": spec.get("function"),
        "function_name": spec.get("function_name"),
        "num_jobs": job.size,
        "created_at": day_first(job.created_at),
        "current_server_time": now(),
    }


def duration_s(run: Run) -> float:
    """Seconds the call has run (so far, while it runs)."""
    if run.started_at is None:
        return 0.0
    end = run.ended_at if run.ended_at is not None else time.time()
    return round(max(0.0, end - run.started_at), 3)


def job_json(run: Run, job: Job) -> dict[str, Any]:
    duration = duration_s(run)
    bid = float(job.spec.get("bid_price", 0.0))
    return {
        "uuid": run.id,
        "incremental_id": run.seq,
        "status": STATUS[run.state],
        "parameters": run.extra.get("event"),
        "cost": round(duration * bid / 3600, 6),
        "duration": duration,
        "created_at": day_first(run.created_at),
        "started_at": day_first(run.started_at),
        "finished_at": day_first(run.ended_at),
        "run": job.id,
        "function": job.spec.get("function"),
        "function_name": job.spec.get("function_name"),
        "current_server_time": now(),
    }


def job_detail(
    run: Run, job: Job, output: dict[str, str | None], events: list[Event]
) -> dict[str, Any]:
    """A job with what its call printed and returned; build_logs are the run's events."""
    logs = "\n".join(f"{day_first(e.at)} {e.state}: {e.message}" for e in events)
    return {**job_json(run, job), **output, "build_logs": logs}


def account_json(user: dict[str, Any]) -> dict[str, Any]:
    return {
        "uuid": user["id"],
        "username": user["username"],
        "email": user["email"],
        "balance": 0.0,
        "date_joined": day_first(user["created_at"]),
        "last_login": day_first(user["last_login"]),
        "current_server_time": now(),
    }
