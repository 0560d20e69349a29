"""Issue 11 items 2 and 3: a daemon killed with -9 changes no run's outcome."""

from __future__ import annotations

import signal
from typing import Any

import psutil
import requests

from tests.conftest import Daemon
from tests.polling import wait_for

TERMINAL = {"succeeded", "failed", "cancelled", "timed_out", "lost"}


def shell_run(daemon: Daemon, command: str) -> str:
    """A one-run Rescale job, submitted; the id of its run in the native API."""
    headers = {"Authorization": f"Token {daemon.token}"}
    analysis = {
        "analysis": {"code": "user_included", "version": "0"},
        "command": command,
        "hardware": {"coreType": "local", "coresPerSlot": 1, "walltime": 1},
        "inputFiles": [],
    }
    body = {"name": "restart", "jobanalyses": [analysis]}
    created = requests.post(f"{daemon.url}/api/v2/jobs/", json=body, headers=headers, timeout=30)
    assert created.status_code == 201, created.text
    job = created.json()["id"]
    submitted = requests.post(
        f"{daemon.url}/api/v2/jobs/{job}/submit/", headers=headers, timeout=30
    )
    assert submitted.status_code == 200, submitted.text
    run: str = daemon.api("GET", f"/localrun/v1/runs?job={job}")["runs"][0]["id"]
    return run


def state(daemon: Daemon, run_id: str) -> dict[str, Any]:
    found: dict[str, Any] = daemon.api("GET", f"/localrun/v1/runs/{run_id}?events=1")
    return found


def final(daemon: Daemon, run_id: str, within: float = 60) -> dict[str, Any]:
    return wait_for(lambda: (s := state(daemon, run_id))["state"] in TERMINAL and s, within)


def processes_with(text: str) -> list[psutil.Process]:
    return [
        p
        for p in psutil.process_iter(["cmdline"])
        if text in " ".join(p.info["cmdline"] or []) and p.pid != psutil.Process().pid
    ]


def test_shell_runs_live_across_a_kill_9_end_with_their_own_exit_code(daemon: Daemon) -> None:
    failing = shell_run(daemon, "sleep 4.1; exit 3")
    passing = shell_run(daemon, "sleep 4.2")
    for run in (failing, passing):
        wait_for(lambda run=run: state(daemon, run)["state"] == "running", 30)  # type: ignore[misc]
    daemon.kill(signal.SIGKILL)
    daemon.start()
    ended = final(daemon, failing)
    assert (ended["state"], ended["exit_code"]) == ("failed", 3), ended
    assert final(daemon, passing)["state"] == "succeeded"
    for run in (failing, passing):
        events = [e for e in state(daemon, run)["events"] if e["state"] in TERMINAL]
        assert len(events) == 1


def test_a_stop_under_way_is_finished_after_a_crash(daemon: Daemon) -> None:
    run = shell_run(daemon, "trap '' TERM; sleep 301.5 & wait; sleep 301.5")
    wait_for(lambda: state(daemon, run)["state"] == "running", 30)
    wait_for(lambda: processes_with("sleep 301.5"), 30)
    daemon.api("POST", f"/localrun/v1/runs/{run}/stop", {})
    daemon.kill(signal.SIGKILL)  # inside the 3 s grace: SIGKILL has not been sent yet
    assert processes_with("sleep 301.5"), "the run ignores SIGTERM, so it is still there"
    daemon.start()
    ended = final(daemon, run, within=30)
    assert ended["state"] == "cancelled", ended
    assert processes_with("sleep 301.5") == []
    assert any("stop resumed" in e["message"] for e in ended["events"]), ended["events"]
