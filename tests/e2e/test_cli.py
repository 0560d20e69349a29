"""The localrun command against a real daemon, as the README's tour uses it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import FIXTURES, Daemon


def test_example_submit_watch_list_status_logs(daemon: Daemon, tmp_path: Path) -> None:
    case = tmp_path / "mycase"
    out = daemon.localrun("example", str(case))
    assert out.returncode == 0, out.stderr
    assert (case / "namelist.input").exists() and (case / "wrfinput_d01").exists()
    out = daemon.localrun("submit", str(case), "--cores", "2", "--watch", "--json")
    assert out.returncode == 0, out.stderr
    run = json.loads(out.stdout)
    assert run["state"] == "succeeded"
    assert "100.0%" in out.stderr and "left" in out.stderr
    listing = json.loads(daemon.localrun("list", "--json").stdout)
    assert [r["id"] for r in listing] == [run["id"]]
    status = daemon.localrun("status", run["id"])
    assert "succeeded" in status.stdout and "queued" in status.stdout
    logs = daemon.localrun("logs", run["id"])
    assert "SUCCESS COMPLETE WRF" in logs.stdout
    stop = daemon.localrun("stop", run["id"])
    assert stop.returncode == 1 and "nothing to stop" in stop.stderr


def test_check_reports_each_step(daemon: Daemon) -> None:
    out = daemon.localrun("check", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    steps = json.loads(out.stdout)
    assert [s["ok"] for s in steps] == [True] * 6
    text = daemon.localrun("check").stdout.splitlines()
    assert all(len(line) <= 80 for line in text), text  # one line per step, in 80 columns


def test_token_list_and_revoke(daemon: Daemon) -> None:
    listed = json.loads(daemon.localrun("token", "list", "--json").stdout)
    assert [t["name"] for t in listed] == ["tester"]
    assert daemon.localrun("token", "create", "other").returncode == 0
    assert daemon.localrun("token", "create", "other").returncode == 1
    assert daemon.localrun("token", "revoke", "tester").returncode == 0
    out = daemon.localrun("list")
    assert out.returncode == 1 and "invalid or revoked token" in out.stderr


def test_unreachable_daemon_is_a_clear_message(daemon: Daemon) -> None:
    out = daemon.localrun("list", "--url", "http://127.0.0.1:9")
    assert out.returncode == 1
    assert "cannot reach localrun" in out.stderr
    assert "Traceback" not in out.stderr


def test_inspect_and_estimate(daemon: Daemon) -> None:
    out = daemon.localrun("inspect", str(FIXTURES / "cfl_blowup"), "--exit-code", "11", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert (report["state"], report["code"]) == ("failed", "cfl")
    out = daemon.localrun(
        "estimate", str(FIXTURES / "case_quarter_ss" / "namelist.input"), "--json"
    )
    options = json.loads(out.stdout)
    assert {"cores", "time_s", "core_hours", "cost", "recommended", "reason"} <= set(options[0])
