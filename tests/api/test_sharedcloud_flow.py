"""sharedcloud-cli 0.0.5 itself against the real daemon (CLIENTS.md §E5): login, functions, runs
that fan out into jobs, a WRF sweep, a raising handler, delete of a live run."""

from __future__ import annotations

import ast
from pathlib import Path

import psutil
import pytest

from tests.api.sharedcloud_cli import Cli, cli_for, make_user
from tests.conftest import Daemon
from tests.polling import wait_for

HELLO = """
import sys

def handler(event):
    print("Hello World {}".format(event[0]))
    print("to stderr {}".format(event[0]), file=sys.stderr)
    return 42 + int(event[0])
"""
RAISES = """
def handler(event):
    raise Exception('This is a test Exception')
"""
SLEEPS = """
import time

def handler(event):
    print("sleeping", flush=True)
    time.sleep(600)
"""
SWEEP = """
from localrun.handlers import run_case

def handler(event):
    report = run_case({"time_step": event[0], "run_minutes": 6})
    print("time_step", event[0], report["state"])
    return report
"""


@pytest.fixture
def sharedcloud(daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    return cli_for(daemon, tmp_path, monkeypatch)


def run_processes(daemon: Daemon) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cwd"]):
        if (proc.info.get("cwd") or "").startswith(str(daemon.data_dir / "runs")):
            found.append(proc)
    return found


def test_the_cli_flow(sharedcloud: Cli, daemon: Daemon, tmp_path: Path) -> None:
    make_user(daemon, "alice")
    sharedcloud.login("alice")
    assert sharedcloud.token().startswith("lr_")  # written verbatim, no newline
    account = sharedcloud.ok("account", "list")
    assert "alice" in account and "$0.000" in account
    assert "24b3a0f8-c405-4928-954f-d5c93273f88a" in sharedcloud.ok("image", "list")
    sharedcloud.ok("gpu", "list")
    sharedcloud.ok("offer", "list")

    function_id = sharedcloud.function(tmp_path, "hello", HELLO)
    assert function_id in sharedcloud.ok("function", "list")
    assert "Hello World" in sharedcloud.ok("function", "code", "--uuid", function_id)

    run_id = sharedcloud.run(function_id, "((1,),(2,),(3,))")
    listing = sharedcloud.ok("run", "list")
    assert run_id in listing and "$2.000" in listing and "((1,),(2,),(3,))" in listing
    rows = sharedcloud.wait_jobs(run_id, 3, ("SUCCEEDED", "FAILED", "TIMEOUT"))
    assert [status for _, status in rows] == ["SUCCEEDED"] * 3

    outputs = {}
    for job_id, _ in rows:
        stdout = sharedcloud.ok("job", "stdout", "--uuid", job_id)
        result = sharedcloud.ok("job", "result", "--uuid", job_id).strip()
        assert "to stderr" in sharedcloud.ok("job", "stderr", "--uuid", job_id)
        assert "queued" in sharedcloud.ok("job", "logs", "--uuid", job_id)
        outputs[stdout.strip()] = result
    assert outputs == {"Hello World 1": "43", "Hello World 2": "44", "Hello World 3": "45"}
    job = sharedcloud.http("GET", f"jobs/{rows[0][0]}/").json()
    assert job["status"] == 3 and job["run"] == run_id and job["function_name"] == "hello"
    assert isinstance(job["cost"], float) and job["duration"] > 0
    assert job["cost"] == round(job["duration"] * 2.0 / 3600, 6)
    assert sharedcloud.http("GET", f"functions/{function_id}").json()["num_runs"] == 1

    assert sharedcloud("run", "delete", "--uuid", run_id).exit_code == 0
    second = sharedcloud("run", "delete", "--uuid", run_id)
    assert second.exit_code == 1 and "Not found resource with this UUID" in second.output
    assert run_id not in sharedcloud.ok("run", "list")
    assert sharedcloud.job_rows(run_id) == []
    assert sharedcloud("function", "delete", "--uuid", function_id).exit_code == 0


def test_a_wrf_sweep_is_one_job_group_in_the_native_api(
    sharedcloud: Cli, daemon: Daemon, tmp_path: Path
) -> None:
    make_user(daemon, "alice")
    sharedcloud.login("alice")
    run_id = sharedcloud.run(sharedcloud.function(tmp_path, "sweep", SWEEP), "((10,),(12,),(20,))")
    rows = sharedcloud.wait_jobs(run_id, 3, ("SUCCEEDED", "FAILED", "TIMEOUT"))
    assert [status for _, status in rows] == ["SUCCEEDED"] * 3
    steps = {}
    for job_id, _ in rows:
        report = ast.literal_eval(sharedcloud.ok("job", "result", "--uuid", job_id).strip())
        assert (report["state"], report["code"], report["exit_code"]) == ("succeeded", "ok", 0)
        assert report["progress"]["percent"] == 100.0
        steps[report["edits"]["time_step"]] = report["steps"]["1"]["count"]
    assert steps == {10: 36, 12: 30, 20: 18}  # 6 model minutes at each time step

    daemon.token = sharedcloud.token()
    group = daemon.api("GET", f"/localrun/v1/runs?job={run_id}")["runs"]
    assert len(group) == 3
    assert {r["job"]["id"] for r in group} == {run_id}
    assert sorted(r["job"]["index"] for r in group) == [1, 2, 3]
    assert all(r["state"] == "succeeded" and r["progress"]["percent"] == 100.0 for r in group)


def test_a_raising_handler_fails_with_its_traceback(
    sharedcloud: Cli, daemon: Daemon, tmp_path: Path
) -> None:
    make_user(daemon, "alice")
    sharedcloud.login("alice")
    run_id = sharedcloud.run(sharedcloud.function(tmp_path, "raises", RAISES), "((1,),)")
    [(job_id, status)] = sharedcloud.wait_jobs(run_id, 1, ("SUCCEEDED", "FAILED", "TIMEOUT"))
    assert status == "FAILED"
    stderr = sharedcloud.ok("job", "stderr", "--uuid", job_id)
    assert stderr.startswith("Traceback (most recent call last):")
    assert 'function.py", line 3, in handler' in stderr
    assert "Exception: This is a test Exception" in stderr
    assert "runner.py" not in stderr  # the runner's own frames are left out
    assert sharedcloud.ok("job", "result", "--uuid", job_id).strip() == ""  # null


def test_delete_stops_live_jobs(sharedcloud: Cli, daemon: Daemon, tmp_path: Path) -> None:
    make_user(daemon, "alice")
    sharedcloud.login("alice")
    run_id = sharedcloud.run(sharedcloud.function(tmp_path, "sleeps", SLEEPS), "((1,),(2,),(3,))")
    # two cores: two jobs run, the third waits for a core
    wait_for(
        lambda: (
            sorted(s for _, s in sharedcloud.job_rows(run_id))
            == ["CREATED", "IN_PROGRESS", "IN_PROGRESS"]
        ),
        timeout=60,
    )
    assert run_processes(daemon)
    deleted = sharedcloud.http("DELETE", f"runs/{run_id}/")
    assert deleted.status_code == 204 and deleted.content == b""
    assert run_processes(daemon) == []
    again = sharedcloud.http("DELETE", f"runs/{run_id}/")
    assert (again.status_code, again.json()) == (404, {"detail": "Not found."})
    assert not list((daemon.data_dir / "runs").iterdir())
