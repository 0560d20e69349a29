"""localrun resume and submit --cfl-retries against the real daemon and the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from localrun.wrf.namelist import read_case
from tests.conftest import Daemon
from tests.polling import wait_for


@pytest.fixture
def daemon_env() -> dict[str, str]:
    return {"LOCALRUN_SIM_SPEED": "3"}


def make_case(daemon: Daemon, folder: Path, **changes: str) -> Path:
    assert daemon.localrun("example", str(folder)).returncode == 0
    namelist = folder / "namelist.input"
    text = namelist.read_text()
    for old, new in changes.items():
        text = text.replace(old, new)
    namelist.write_text(text)
    return folder


def get(daemon: Daemon, run_id: str) -> dict[str, object]:
    run: dict[str, object] = daemon.api("GET", f"/localrun/v1/runs/{run_id}?events=1")
    return run


def test_resume_goes_on_from_the_restart_file(daemon: Daemon, tmp_path: Path) -> None:
    interval = "restart_interval                    = 120,"
    case = make_case(daemon, tmp_path / "case", **{interval: "restart_interval = 10,"})
    first = daemon.localrun("submit", str(case), "--cores", "1").stdout.strip()
    work = daemon.data_dir / "runs" / first / "work"
    wait_for(lambda: (work / "wrfrst_d01_0001-01-01_00:10:00").exists(), timeout=90)
    assert daemon.localrun("stop", first).returncode == 0
    wait_for(lambda: get(daemon, first)["state"] == "cancelled", timeout=30)

    done = daemon.localrun("resume", first[:8], "--wait")
    assert done.returncode == 0, done.stderr
    second = done.stdout.strip().splitlines()[-1]
    assert f"run {second} resumes {first} from model time 0001-01-01_00:10:00" in done.stderr
    run = get(daemon, second)
    assert run["state"] == "succeeded"
    assert run["links"] == {"resumed_from": first, "restart_at": "0001-01-01_00:10:00"}
    assert get(daemon, first)["links"] == {"resumed_by": second}
    namelist = read_case(daemon.data_dir / "runs" / second / "input" / "namelist.input")
    assert namelist.restart and namelist.start.minute == 10 and namelist.end.minute == 30
    rsl = (daemon.data_dir / "runs" / second / "work" / "rsl.out.0000").read_text()
    steps = [line for line in rsl.splitlines() if line.startswith("Timing for main")]
    assert "time 0001-01-01_00:10:12 on domain" in steps[0]  # the model time carried on
    assert len(steps) == 100  # 20 minutes of 12 s steps, not 30
    outputs = sorted(p.name for p in (daemon.data_dir / "runs" / second / "work").iterdir())
    assert "wrfout_d01_0001-01-01_00:30:00" in outputs
    assert "wrfout_d01_0001-01-01_00:00:00" not in outputs
    status = daemon.localrun("status", second).stdout
    assert f"resumes run {first} (from model time 0001-01-01_00:10:00)" in status

    again = daemon.localrun("resume", first)
    assert again.returncode == 1 and f"already resumed as {second}" in again.stderr
    ended = daemon.localrun("resume", second)
    assert ended.returncode == 1 and "only a failed, stopped" in ended.stderr


def test_a_run_without_restart_files_cannot_resume(daemon: Daemon, tmp_path: Path) -> None:
    case = make_case(daemon, tmp_path / "case")
    made = daemon.api("POST", "/localrun/v1/runs", {})["id"]
    assert daemon.localrun("stop", made).returncode == 0
    done = daemon.localrun("resume", made)
    assert done.returncode == 1 and "no namelist.input" in done.stderr, done.stderr
    first = daemon.localrun("submit", str(case), "--cores", "1").stdout.strip()
    assert daemon.localrun("stop", first).returncode == 0
    wait_for(lambda: get(daemon, first)["state"] == "cancelled", timeout=30)
    done = daemon.localrun("resume", first)
    assert done.returncode == 1 and "wrote no restart files" in done.stderr
    assert "restart_interval" in done.stderr
    runs = daemon.api("GET", "/localrun/v1/runs")["runs"]
    assert sorted(r["id"] for r in runs) == sorted([made, first])  # no run left behind


def test_a_cfl_failure_is_retried_with_a_smaller_step(daemon: Daemon, tmp_path: Path) -> None:
    step = "time_step                           = 12,"
    case = make_case(daemon, tmp_path / "case", **{step: "time_step = 24,"})
    with (case / "namelist.input").open("a") as handle:  # nothing here is watched mid-run
        handle.write("\n&localrun_simulator\n speed = 10,\n/\n")
    done = daemon.localrun("submit", str(case), "--cores", "1", "--cfl-retries", "2", "--wait")
    assert done.returncode == 1  # this run failed; its retry is another run
    first = done.stdout.strip().splitlines()[-1]
    run = get(daemon, first)
    assert run["error"]["code"] == "cfl"  # type: ignore[index]
    retry = str(wait_for(lambda: get(daemon, first)["links"].get("retried_by"), timeout=30))  # type: ignore[attr-defined]
    wait_for(lambda: get(daemon, retry)["state"] in ("succeeded", "failed"), timeout=90)
    second = get(daemon, retry)
    assert second["state"] == "succeeded"
    assert second["links"] == {"retry_of": first, "attempt": 2, "cfl_retries": 1}
    namelist = read_case(daemon.data_dir / "runs" / retry / "input" / "namelist.input")
    assert namelist.domains[0].time_step == 18.0
    events = [e["message"] for e in get(daemon, first)["events"]]  # type: ignore[attr-defined]
    assert f"retried after CFL as run {retry}, with time_step = 18" in events
    refused = daemon.localrun("submit", str(case), "--cfl-retries", "99")
    assert refused.returncode == 1 and "cfl_retries" in refused.stderr
