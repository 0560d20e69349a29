"""Sharedcloud's shapes: DRF errors, integer statuses, money as numbers, day-first dates."""

from __future__ import annotations

import json

from localrun.api.sharedcloud.shapes import (
    STATUS,
    account_json,
    job_json,
    render_error,
    run_json,
)
from localrun.runs import Job, Run, State

JOB = Job(
    "j-1",
    "alice",
    "sharedcloud",
    "f",
    {"bid_price": 3.6, "function": "fid", "function_name": "f", "parameters": "((1,),)"},
    0.0,
    1,
)


def body(status: int, code: str, message: str) -> tuple[int, object]:
    response = render_error(status, code, message)
    assert response.text is not None
    return response.status, json.loads(response.text)


def test_errors_are_drf_shaped() -> None:
    assert body(400, "field:parameters", "bad") == (400, {"parameters": ["bad"]})
    assert body(401, "unauthorized", "Invalid token.") == (401, {"detail": "Invalid token."})
    assert body(404, "not_found", "no run x") == (404, {"detail": "Not found."})


def test_every_state_has_a_status() -> None:
    assert set(STATUS) == set(State)
    assert STATUS[State.RUNNING] == 2 and STATUS[State.TIMED_OUT] == 5
    assert STATUS[State.CANCELLED] == STATUS[State.FAILED] == 4


def test_a_job_costs_its_duration_at_the_bid_per_hour() -> None:
    run = Run(
        "r-1",
        "alice",
        "sharedcloud",
        "f (job 1)",
        "python",
        "3",
        State.SUCCEEDED,
        600,
        86400.0,
        seq=7,
        started_at=100.0,
        ended_at=110.5,
        job_id="j-1",
        job_index=1,
        extra={"event": "(1,)"},
    )
    found = job_json(run, JOB)
    assert (found["duration"], found["cost"], found["incremental_id"]) == (10.5, 0.0105, 7)
    assert found["status"] == 3 and found["run"] == "j-1" and found["parameters"] == "(1,)"
    assert found["created_at"] == "02-01-1970 00:00:00"
    waiting = job_json(
        Run(
            "r-2", "alice", "sharedcloud", "f", "python", "3", State.QUEUED, 600, 0.0, job_id="j-1"
        ),
        JOB,
    )
    assert (waiting["duration"], waiting["cost"], waiting["started_at"]) == (0.0, 0.0, None)


def test_runs_and_accounts_carry_numbers_and_server_time() -> None:
    found = run_json(JOB)
    assert found["bid_price"] == 3.6 and found["base_gpu_name"] == "n/a"
    assert found["num_jobs"] == 1 and found["current_server_time"]
    account = account_json(
        {"id": "u", "username": "a", "email": "", "created_at": 0.0, "last_login": None}
    )
    assert account["balance"] == 0.0 and account["last_login"] is None
