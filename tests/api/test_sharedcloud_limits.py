"""Sharedcloud against the real daemon: the handler time limit, bad input (DRF's 4xx, nothing
stored), other owners, login throttling."""

from __future__ import annotations

import contextlib
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from tests.api.sharedcloud_cli import IMAGE, PASSWORD, Cli, cli_for, make_user
from tests.conftest import Daemon
from tests.polling import wait_for

SLEEPS = """
import time

def handler(event):
    print("going to sleep", flush=True)
    time.sleep(600)
"""
HELLO = "def handler(event):\n    return event\n"
LIMIT_S = 4


@pytest.fixture
def daemon_env() -> dict[str, str]:
    return {"LOCALRUN_HANDLER_TIMEOUT_S": str(LIMIT_S)}


@pytest.fixture
def sharedcloud(daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    make_user(daemon, "alice")
    cli = cli_for(daemon, tmp_path, monkeypatch)
    cli.login("alice")
    return cli


def live_processes(daemon: Daemon) -> list[psutil.Process]:
    runs = str(daemon.data_dir / "runs")
    return [p for p in psutil.process_iter(["cwd"]) if (p.info.get("cwd") or "").startswith(runs)]


def test_a_handler_past_the_limit_is_timeout_with_its_tree_killed(
    sharedcloud: Cli, daemon: Daemon, tmp_path: Path
) -> None:
    run_id = sharedcloud.run(sharedcloud.function(tmp_path, "sleeps", SLEEPS), "((1,),)")
    [(job_id, status)] = sharedcloud.wait_jobs(run_id, 1, ("SUCCEEDED", "FAILED", "TIMEOUT"))
    assert status == "TIMEOUT"
    assert live_processes(daemon) == []
    job = sharedcloud.http("GET", f"jobs/{job_id}").json()
    assert job["status"] == 5 and job["result"] is None
    assert "going to sleep" in job["stdout"]
    assert job["duration"] >= LIMIT_S
    assert "timed_out" in job["build_logs"]


def counts(cli: Cli) -> tuple[int, int, int]:
    return (
        len(cli.http("GET", "runs/").json()),
        len(cli.http("GET", "jobs/").json()),
        len(cli.http("GET", "functions/").json()),
    )


def test_bad_input_is_a_drf_4xx_and_stores_nothing(
    sharedcloud: Cli, daemon: Daemon, tmp_path: Path
) -> None:
    function_id = sharedcloud.function(tmp_path, "hello", HELLO)
    before = counts(sharedcloud)
    assert before == (0, 0, 1)

    def post(path: str, data: dict[str, str]) -> tuple[int, Any]:
        answer = sharedcloud.http("POST", path, data=data)
        assert answer.headers["Content-Type"].startswith("application/json")
        return answer.status_code, answer.json()

    run = {"function": function_id, "parameters": "((1,),)", "bid_price": "1.0"}
    missing = "00000000-0000-4000-8000-000000000000"
    assert post("runs/", {**run, "function": missing}) == (
        400,
        {"function": [f'Invalid pk "{missing}" - object does not exist.']},
    )
    assert post("runs/", {**run, "function": "not-a-uuid"})[1] == {
        "function": ['"not-a-uuid" is not a valid UUID.']
    }
    for bad in (
        "((1,),",  # malformed
        "__import__('os').system('touch /tmp/owned')",  # a call
        "print(1)",
        "(1, 2)",  # not a tuple of tuples
        "()",
        "((1,),) + ((2,),)",
        "(" * 300 + ")" * 300,
        "((1,),)" + " " * (64 * 1024),  # enormous
        "(" + "(1,)," * 20_000 + ")",
        "((" + "9" * 5000 + ",),)",
        "((0x" + "f" * 5000 + ",),)",  # reads, but cannot be written back (was a 500)
        "((1e999,),)",  # inf, which no job could read back
    ):
        status, body = post("runs/", {**run, "parameters": bad})
        assert status == 400 and list(body) == ["parameters"], (bad[:40], body)
        assert isinstance(body["parameters"][0], str)
    assert post("runs/", {**run, "bid_price": "cheap"})[1] == {
        "bid_price": ["A valid number (0 or more) is required."]
    }
    assert post("runs/", {**run, "bid_price": "-1"})[0] == 400
    assert post("runs/", {**run, "bid_price": "nan"})[0] == 400
    assert post("runs/", {"function": function_id, "bid_price": "1"}) == (
        400,
        {"parameters": ["This field is required."]},
    )
    assert post("runs/", {**run, "base_gpu": missing})[0] == 400
    assert post("functions/", {"name": "x", "image": missing, "code": HELLO})[1] == {
        "image": [f'Invalid pk "{missing}" - object does not exist.']
    }
    assert list(post("functions/", {"name": "x", "image": IMAGE, "code": "def h(:"})[1]) == ["code"]
    assert post("functions/", {"name": "x", "image": IMAGE, "code": "x = 1"})[0] == 400
    assert counts(sharedcloud) == before
    assert not Path("/tmp/owned").exists()

    for path in ("runs/nope/", "jobs/nope", "functions/12345/", f"runs/{missing}/"):
        answer = sharedcloud.http("GET", path)
        assert (answer.status_code, answer.json()) == (404, {"detail": "Not found."})
    assert sharedcloud.http("DELETE", "runs/nope/").status_code == 404

    bare = requests.get(f"{daemon.url}/api/v1/runs/", timeout=30)
    assert (bare.status_code, bare.json()) == (
        401,
        {"detail": "Authentication credentials were not provided."},
    )
    wrong = requests.get(
        f"{daemon.url}/api/v1/runs/", headers={"Authorization": "Token nope"}, timeout=30
    )
    assert (wrong.status_code, wrong.json()) == (401, {"detail": "Invalid token."})
    signup = requests.post(
        f"{daemon.url}/api/v1/users/",
        data={"username": "mallory", "password": PASSWORD, "email": "m@example.org"},
        timeout=30,
    )
    assert signup.status_code == 403 and "localrun user create" in signup.json()["detail"]


def test_another_owners_run_is_not_found(
    sharedcloud: Cli, daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    function_id = sharedcloud.function(tmp_path, "hello", HELLO)
    run_id = sharedcloud.run(function_id, "((1,),)")
    [(job_id, _)] = sharedcloud.wait_jobs(run_id, 1, ("SUCCEEDED",))
    make_user(daemon, "bob")
    bob = cli_for(daemon, tmp_path / "bob", monkeypatch)
    bob.login("bob")
    for method, path in (
        ("GET", f"runs/{run_id}/"),
        ("DELETE", f"runs/{run_id}/"),
        ("GET", f"jobs/{job_id}/"),
        ("GET", f"functions/{function_id}/"),
        ("PATCH", f"functions/{function_id}/"),
        ("DELETE", f"functions/{function_id}/"),
    ):
        answer = bob.http(method, path, data={"name": "stolen"})
        assert (answer.status_code, answer.json()) == (404, {"detail": "Not found."}), path
    assert bob.http("GET", "runs/").json() == [] and bob.http("GET", "jobs/").json() == []
    others = bob.http(
        "POST", "runs/", data={"function": function_id, "parameters": "((1,),)", "bid_price": "1"}
    )
    assert others.status_code == 400 and list(others.json()) == ["function"]
    assert sharedcloud.http("GET", f"runs/{run_id}").status_code == 200
    assert sharedcloud.http("GET", f"functions/{function_id}").json()["name"] == "hello"


def test_failed_logins_are_drf_400_then_throttled(sharedcloud: Cli, daemon: Daemon) -> None:
    url = f"{daemon.url}/api/v1/api-token-auth/"
    wrong = requests.post(url, data={"username": "alice", "password": "wrong"}, timeout=30)
    assert (wrong.status_code, wrong.json()) == (
        400,
        {"non_field_errors": ["Unable to log in with provided credentials."]},
    )
    nobody = requests.post(url, data={"username": "nobody", "password": "wrong"}, timeout=30)
    assert nobody.json() == wrong.json()
    assert requests.post(url, data={"username": "alice"}, timeout=30).json() == {
        "password": ["This field is required."]
    }
    failed = sharedcloud("login", "--username", "alice", input="wrong\n")
    assert failed.exit_code == 1 and "Unable to log in" in failed.output
    for _ in range(2):
        requests.post(url, data={"username": "alice", "password": "wrong"}, timeout=30)
    # five failures within the minute: even the right password waits now
    slowed = requests.post(url, data={"username": "alice", "password": PASSWORD}, timeout=30)
    assert slowed.status_code == 429 and int(slowed.headers["Retry-After"]) >= 1
    assert slowed.json()["detail"].startswith("Request was throttled.")
    assert sharedcloud.http("GET", "runs/").status_code == 200  # its token still works


NAPS = """
import time

def handler(event):
    print("napping", event[0], flush=True)
    time.sleep(event[0])
    return event[0]
"""


def terminal_lines(build_logs: str) -> list[str]:
    ends = ("succeeded:", "failed:", "cancelled:", "timed_out:", "lost:")
    return [line for line in build_logs.splitlines() if line.split(" ", 2)[-1].startswith(ends)]


def test_kill_9_while_jobs_run_each_ends_once(
    sharedcloud: Cli, daemon: Daemon, tmp_path: Path
) -> None:
    run_id = sharedcloud.run(sharedcloud.function(tmp_path, "naps", NAPS), "((2,),(2,),(1,))")
    wait_for(lambda: "IN_PROGRESS" in {s for _, s in sharedcloud.job_rows(run_id)}, timeout=60)
    daemon.kill()
    daemon.start()  # the live calls are adopted, the waiting one starts after them
    rows = sharedcloud.wait_jobs(run_id, 3, ("SUCCEEDED", "FAILED", "TIMEOUT"))
    assert [status for _, status in rows] == ["SUCCEEDED"] * 3
    results = []
    for job_id, _ in rows:
        job = sharedcloud.http("GET", f"jobs/{job_id}/").json()
        assert len(terminal_lines(job["build_logs"])) == 1, job["build_logs"]
        results.append(job["result"])
    assert sorted(results) == ["1", "2", "2"]
    assert live_processes(daemon) == []


def test_kill_9_while_a_run_is_being_made_leaves_nothing(
    sharedcloud: Cli, daemon: Daemon, tmp_path: Path
) -> None:
    """The daemon dies inside POST /runs (1000 jobs take seconds to make): after the restart
    the owner's first request rolls the half-made run back, as a refused create is."""
    function_id = sharedcloud.function(tmp_path, "hello", HELLO)
    db = daemon.data_dir / "localrun.db"
    body = {"function": function_id, "parameters": "(" + "(1,)," * 1000 + ")", "bid_price": "1"}
    with ThreadPoolExecutor(1) as pool:
        posting = pool.submit(sharedcloud.http, "POST", "runs/", data=body)

        def some_ready() -> bool:
            with contextlib.closing(sqlite3.connect(db, timeout=30)) as con:
                ready = con.execute("SELECT count(*) FROM runs WHERE state = 'ready'").fetchone()
                return bool(ready[0])

        wait_for(some_ready, timeout=60, interval=0.02)
        daemon.kill()
        with pytest.raises(requests.ConnectionError):
            posting.result(timeout=60)
    daemon.start()
    # rolled back at start-up, before any request, with the empty folder of a run killed
    # between Runs.create_run's mkdir and its INSERT
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM jobs").fetchone()[0] == 0
    assert list((daemon.data_dir / "runs").iterdir()) == []
    assert sharedcloud.http("GET", "runs/").json() == []
    assert sharedcloud.http("GET", "jobs/").json() == []
    assert live_processes(daemon) == []
    assert sharedcloud.http("GET", f"functions/{function_id}/").json()["num_runs"] == 0
