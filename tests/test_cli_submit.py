"""`localrun submit`: refused before any upload where it can be, and no run left behind when
the daemon refuses it later; --json, --wait, --walltime and --name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Daemon


def runs_of(daemon: Daemon) -> list[dict[str, object]]:
    found: list[dict[str, object]] = daemon.api("GET", "/localrun/v1/runs")["runs"]
    return found


@pytest.fixture
def case(daemon: Daemon, tmp_path: Path) -> Path:
    made = tmp_path / "case"
    assert daemon.localrun("example", str(made)).returncode == 0
    return made


def refused(daemon: Daemon, *args: str) -> str:
    done = daemon.localrun("submit", *args)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert runs_of(daemon) == [], "a refused submit left a run"
    return lines[0]


def test_bad_cores_are_refused_and_leave_nothing(daemon: Daemon, case: Path) -> None:
    assert "at least 1" in refused(daemon, str(case), "--cores", "0")
    assert "--oversubscribe" in refused(daemon, str(case), "--cores", "3")
    assert "ranks" in refused(daemon, str(case), "--cores", "64")


def test_a_broken_namelist_is_refused_before_upload(daemon: Daemon, case: Path) -> None:
    namelist = case / "namelist.input"
    good = namelist.read_text()
    namelist.write_text("this is not a namelist &&&\n")
    refused(daemon, str(case))
    namelist.write_text(good.replace("history_interval", "histroy_interval"))
    assert "histroy_interval" in refused(daemon, str(case))
    namelist.write_bytes(b"\x00\xff\xfe binary")
    refused(daemon, str(case))


def test_missing_inputs_are_refused(daemon: Daemon, case: Path) -> None:
    (case / "wrfinput_d01").unlink()
    assert "wrfinput_d01" in refused(daemon, str(case))
    assert "not a directory" in refused(daemon, str(case / "nope"))


@pytest.mark.daemon_not_started
def test_a_refusal_by_the_daemon_deletes_the_run(daemon: Daemon, case: Path) -> None:
    """What only the daemon knows (here, its upload limit) refuses the submit after the run
    was made: the CLI deletes that run."""
    daemon.env["LOCALRUN_MAX_UPLOAD_BYTES"] = "1000"
    daemon.start()
    line = refused(daemon, str(case))
    assert "1000" in line or "large" in line, line


def test_json_is_one_document_and_wait_and_walltime(daemon: Daemon, case: Path) -> None:
    done = daemon.localrun(
        "submit", str(case), "--wait", "--json", "--name", "night", "--walltime", "90m"
    )
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)
    assert run["state"] == "succeeded" and run["name"] == "night"
    assert run["walltime_s"] == 5400
    plain = daemon.localrun("submit", str(case), "--json")
    assert json.loads(plain.stdout)["state"] in {"queued", "starting", "running", "succeeded"}


def test_oversubscribe_is_a_flag(daemon: Daemon, case: Path) -> None:
    done = daemon.localrun("submit", str(case), "--cores", "3", "--oversubscribe", "--wait")
    assert done.returncode == 0, done.stderr
    assert runs_of(daemon)[0]["cores"] == 3
