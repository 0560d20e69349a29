"""The daemon as a user meets it: a real process, real mpirun, real SQLite, kill -9 included."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path
from typing import Any

import psutil

from localrun.client import Client
from tests.conftest import EXAMPLE, Daemon
from tests.polling import wait_for

TERMINAL = {"succeeded", "failed", "cancelled", "timed_out", "lost"}


def long_case(tmp: Path, minutes: int = 120) -> list[Path]:
    """The example case stretched so that a run lasts long enough to interfere with."""
    case = tmp / f"case{minutes}"
    case.mkdir(exist_ok=True)
    text = (EXAMPLE / "namelist.input").read_text()
    lines = []
    for line in text.splitlines():
        key = line.strip().split("=")[0].strip().lower()
        if key == "run_minutes":
            line = f" run_minutes = {minutes},"
        elif key in ("run_hours", "run_days", "run_seconds"):
            line = f" {key} = 0,"
        lines.append(line)
    (case / "namelist.input").write_text("\n".join(lines) + "\n")
    (case / "wrfinput_d01").write_bytes((EXAMPLE / "wrfinput_d01").read_bytes())
    return [case / "namelist.input", case / "wrfinput_d01"]


def submit(d: Daemon, paths: list[Path], cores: int = 2, name: str = "t") -> dict[str, Any]:
    client = Client(d.url, d.token)
    run = client.create_run(name=name)
    client.upload(run["id"], paths)
    return client.start(run["id"], cores)


def state(d: Daemon, run_id: str) -> dict[str, Any]:
    result: dict[str, Any] = d.api("GET", f"/localrun/v1/runs/{run_id}?events=1")
    return result


def run_processes(d: Daemon, run_id: str) -> list[psutil.Process]:
    work = str(d.data_dir / "runs" / run_id / "work")
    found = []
    for proc in psutil.process_iter(["cwd"]):
        if (proc.info.get("cwd") or "").startswith(work):
            found.append(proc)
    return found


def test_kill_9_the_daemon_mid_run_then_restart(daemon: Daemon, tmp_path: Path) -> None:
    run = submit(daemon, long_case(tmp_path, 40))
    wait_for(lambda: (state(daemon, run["id"])["progress"] or {}).get("percent", 0) > 5, 60)
    daemon.kill(signal.SIGKILL)
    alive = run_processes(daemon, run["id"])
    assert alive, "the run must survive the daemon"
    # held still while the daemon restarts (it adopts before it answers), so that a slow
    # start-up on a loaded machine cannot let the run end first: this restart must adopt it
    for proc in alive:
        proc.suspend()
    try:
        daemon.start()
    finally:
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.resume()
    final = wait_for(lambda: (s := state(daemon, run["id"]))["state"] in TERMINAL and s, 120)
    assert final["state"] == "succeeded", final
    terminal = [e for e in final["events"] if e["state"] in TERMINAL]
    assert len(terminal) == 1
    assert any("adopted" in e["message"] for e in final["events"])


def test_run_that_ended_while_the_daemon_was_down(daemon: Daemon, tmp_path: Path) -> None:
    run = submit(daemon, long_case(tmp_path, 20))
    wait_for(lambda: state(daemon, run["id"])["state"] == "running", 60)
    daemon.kill(signal.SIGKILL)
    wait_for(lambda: not run_processes(daemon, run["id"]), 120)
    daemon.start()
    final = wait_for(lambda: (s := state(daemon, run["id"]))["state"] in TERMINAL and s, 30)
    assert final["state"] == "succeeded", final


def test_stop_ends_every_process_within_5_s(daemon: Daemon, tmp_path: Path) -> None:
    run = submit(daemon, long_case(tmp_path, 120))
    wait_for(lambda: (state(daemon, run["id"])["progress"] or {}).get("steps", 0) > 2, 60)
    procs = run_processes(daemon, run["id"])
    assert len(procs) >= 3  # mpiexec, the proxy, the ranks
    daemon.api("POST", f"/localrun/v1/runs/{run['id']}/stop", {})
    _gone, alive = psutil.wait_procs(procs, timeout=5)  # the grace period is 3 s
    assert alive == [], alive
    final = wait_for(lambda: (s := state(daemon, run["id"]))["state"] in TERMINAL and s, 10)
    assert final["state"] == "cancelled"


def test_second_full_width_run_waits_queued_then_runs(daemon: Daemon, tmp_path: Path) -> None:
    first = submit(daemon, long_case(tmp_path, 30), cores=2, name="first")
    second = submit(daemon, long_case(tmp_path, 10), cores=2, name="second")
    wait_for(lambda: state(daemon, first["id"])["state"] == "running", 30)
    assert state(daemon, second["id"])["state"] == "queued"
    health = daemon.api("GET", "/healthz")
    assert health["cores"]["free"] == 0
    wait_for(lambda: state(daemon, first["id"])["state"] in TERMINAL, 180)
    final = wait_for(lambda: (s := state(daemon, second["id"]))["state"] in TERMINAL and s, 180)
    assert final["state"] == "succeeded"
    assert final["started_at"] >= state(daemon, first["id"])["ended_at"]


def test_sigterm_leaves_runs_running(daemon: Daemon, tmp_path: Path) -> None:
    run = submit(daemon, long_case(tmp_path, 30))
    wait_for(lambda: state(daemon, run["id"])["state"] == "running", 30)
    daemon.kill(signal.SIGTERM)
    assert daemon.proc is not None and daemon.proc.returncode == 0
    assert run_processes(daemon, run["id"])
    daemon.start()
    final = wait_for(lambda: (s := state(daemon, run["id"]))["state"] in TERMINAL and s, 180)
    assert final["state"] == "succeeded"
