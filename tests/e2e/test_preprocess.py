"""ideal.exe as a run's first step, through the CLI and the real daemon, on the simulator."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import EXAMPLE, Daemon


def test_a_run_that_makes_its_own_input_with_ideal(daemon: Daemon, tmp_path: Path) -> None:
    case = tmp_path / "case"
    case.mkdir()
    shutil.copy(EXAMPLE / "namelist.input", case)
    refused = daemon.localrun("submit", str(case), "--cores", "1")
    assert refused.returncode == 2 and "wrfinput_d01 is missing" in refused.stderr
    done = daemon.localrun("submit", str(case), "--cores", "2", "--preprocess", "ideal", "--wait")
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip().splitlines()[-1]
    run = daemon.api("GET", f"/localrun/v1/runs/{run_id}")
    assert run["state"] == "succeeded" and run["preprocess"] == "ideal"
    assert run["required_inputs"] == ["namelist.input"]
    work = daemon.data_dir / "runs" / run_id / "work"
    ideal_log = (work / "preprocess" / "rsl.out.0000").read_text()
    assert ideal_log.rstrip().endswith("wrf: SUCCESS COMPLETE IDEAL INIT")
    assert not (work / "preprocess" / "rsl.out.0001").exists()  # ideal.exe ran on one rank
    assert (work / "rsl.out.0001").exists()  # wrf.exe on two
    assert (work / "wrfinput_d01").is_file()
    assert (work / "rsl.out.0000").read_text().rstrip().endswith("SUCCESS COMPLETE WRF")


def test_no_real_exe_for_the_simulator(daemon: Daemon, tmp_path: Path) -> None:
    case = tmp_path / "case"
    assert daemon.localrun("example", str(case)).returncode == 0
    done = daemon.localrun("submit", str(case), "--preprocess", "real")
    assert done.returncode == 2 and "met_em.d01.0001-01-01_00:00:00.nc is missing" in done.stderr
    assert "metgrid.exe" in done.stderr
    (case / "met_em.d01.0001-01-01_00:00:00.nc").write_bytes(b"CDF")
    done = daemon.localrun("submit", str(case), "--preprocess", "real")
    assert done.returncode == 1
    assert "no real.exe for wrf simulator: the simulator has none" in done.stderr
    assert daemon.api("GET", "/localrun/v1/runs")["runs"] == []
