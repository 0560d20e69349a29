"""The model a user configured is the model that runs (issue 19 item 1), with a stand-in
executable configured as a real WRF 4.7.1: it marks its working directory, then runs the
simulator."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import Daemon

STAND_IN = """#!/bin/sh
echo "$$" > "ran-the-configured-model.$$"
exec {sim} "$@"
"""


@pytest.fixture
def daemon_env(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "wrf-4.7.1" / "main"
    folder.mkdir(parents=True)
    exe = folder / "wrf.exe"
    exe.write_text(STAND_IN.format(sim=Path(sys.executable).parent / "localrun-wrf-sim"))
    exe.chmod(0o755)
    return {"LOCALRUN_MODELS": f"wrf:4.7.1={exe}"}


def submit(daemon: Daemon, case: Path, *more: str) -> dict[str, object]:
    out = daemon.localrun("submit", str(case), "--cores", "2", "--watch", "--json", *more)
    assert out.returncode == 0, out.stderr
    run: dict[str, object] = json.loads(out.stdout)
    return run


def test_no_version_runs_the_configured_model_and_says_so(daemon: Daemon, tmp_path: Path) -> None:
    case = tmp_path / "case"
    assert daemon.localrun("example", str(case)).returncode == 0
    with (case / "namelist.input").open("a") as handle:  # three runs, each only read once ended
        handle.write("\n&localrun_simulator\n speed = 30,\n/\n")
    configured = daemon.env["LOCALRUN_MODELS"].split("=", 1)[1]
    run = submit(daemon, case)
    assert (run["state"], run["version"], run["executable"]) == ("succeeded", "4.7.1", configured)
    work = Path(daemon.env["LOCALRUN_DATA_DIR"]) / "runs" / str(run["id"]) / "work"
    assert len(list(work.glob("ran-the-configured-model.*"))) == 2  # one per rank
    prefix = submit(daemon, case, "--version", "4.7")
    assert (prefix["version"], prefix["executable"]) == ("4.7.1", configured)
    simulated = submit(daemon, case, "--version", "sim")
    assert simulated["executable"] == "simulator"
    sim_work = Path(daemon.env["LOCALRUN_DATA_DIR"]) / "runs" / str(simulated["id"]) / "work"
    assert not list(sim_work.glob("ran-the-configured-model.*"))
    listing = daemon.localrun("list").stdout
    assert listing.count("wrf 4.7.1") == 2 and listing.count("simulator") == 1
    assert configured in daemon.localrun("status", str(run["id"])).stdout

    refused = daemon.localrun("submit", str(case), "--version", "3.9.1")
    assert refused.returncode != 0
    assert "the versions are 4.7.1, simulator" in refused.stderr
    assert len(json.loads(daemon.localrun("list", "--json").stdout)) == 3
