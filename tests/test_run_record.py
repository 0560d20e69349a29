"""logs/run.json: written by the daemon, read by `localrun inspect` of a run's folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localrun import run_record
from localrun.runs import Run, State, StopReason
from tests.conftest import Daemon
from tests.polling import wait_for


def make_run(**fields: object) -> Run:
    base: dict[str, object] = dict(
        id="r1", owner="me", family="native", name="n", model="wrf", version="sim",
        state=State.RUNNING, walltime_s=60, created_at=1.0,
    )  # fmt: skip
    return Run(**{**base, **fields})  # type: ignore[arg-type]


def test_write_then_read(tmp_path: Path) -> None:
    run = make_run(stop_requested_at=5.0, stop_reason=StopReason.USER)
    run_record.write(tmp_path, run)
    got = run_record.read(tmp_path)
    assert got is not None
    assert got["state"] == "running" and got["stop_requested"] is True
    assert got["stop_reason"] == "user" and got["terminal"] is False
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_a_missing_folder_or_a_broken_file(tmp_path: Path) -> None:
    run_record.write(tmp_path / "gone", make_run())
    assert not (tmp_path / "gone").exists()
    (tmp_path / "run.json").write_text("{half")
    assert run_record.read(tmp_path) is None
    (tmp_path / "run.json").write_text("[1]")
    assert run_record.read(tmp_path) is None


@pytest.fixture
def daemon_env() -> dict[str, str]:
    return {"LOCALRUN_SIM_SPEED": "5"}


def inspect(daemon: Daemon, run_id: str) -> dict[str, object]:
    done = daemon.localrun("inspect", str(daemon.data_dir / "runs" / run_id), "--json")
    assert done.returncode == 0, done.stderr
    report: dict[str, object] = json.loads(done.stdout)
    return report


def submit(daemon: Daemon, case: Path, *args: str) -> str:
    done = daemon.localrun("submit", str(case), "--cores", "1", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_inspect_of_a_daemon_run_folder(daemon: Daemon, tmp_path: Path) -> None:
    case, quick = tmp_path / "case", tmp_path / "quick"
    for folder in (case, quick):
        assert daemon.localrun("example", str(folder)).returncode == 0
    with (quick / "namelist.input").open("a") as handle:  # this one is only read once ended
        handle.write("\n&localrun_simulator\n speed = 20,\n/\n")
    ended = submit(daemon, quick, "--wait")
    report = inspect(daemon, ended)
    assert report["state"] == "succeeded" and report["code"] == "ok"
    assert report["exit_code"] == 0 and report["outputs"]
    assert report["daemon"]["state"] == "succeeded"  # type: ignore[index]

    live = submit(daemon, case)

    def running() -> bool:
        run = daemon.api("GET", f"/localrun/v1/runs/{live}")
        return bool(run["state"] == "running" and (run["progress"] or {}).get("percent"))

    wait_for(running, timeout=60)
    assert inspect(daemon, live)["state"] == "running"
    assert daemon.localrun("stop", live).returncode == 0
    wait_for(lambda: daemon.api("GET", f"/localrun/v1/runs/{live}")["state"] == "cancelled")
    report = inspect(daemon, live)
    assert report["state"] == "cancelled", report
    assert report["daemon"]["stop_requested"] is True  # type: ignore[index]
    text = daemon.localrun("inspect", str(daemon.data_dir / "runs" / live)).stdout
    assert "daemon: cancelled, stop requested (user)" in text
