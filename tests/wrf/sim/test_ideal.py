"""The simulator's ideal.exe: wrfinput files with the namelist's grid, WRF's refusals, and a
wrf.exe run on what it made."""

from __future__ import annotations

import subprocess
from pathlib import Path

import netCDF4

from localrun.wrf.diagnose import diagnose
from localrun.wrf.sim.ideal import SUCCESS
from tests.wrf.sim.harness import BIN, MPIEXEC, _env, case_dir, run

IDEAL = str(BIN / "localrun-wrf-sim-ideal")


def ideal(work: Path, np: int = 1) -> int:
    return subprocess.run(
        [MPIEXEC, "-np", str(np), IDEAL], cwd=work, env=_env(), capture_output=True, timeout=60
    ).returncode


def test_ideal_makes_the_input_wrf_runs_on(tmp_path: Path) -> None:
    work = case_dir(tmp_path, "success_np1", wrfinput=False)
    assert ideal(work) == 0
    out = (work / "rsl.out.0000").read_text().splitlines()
    assert out[-1] == f"d01 0001-01-01_00:00:00 {SUCCESS}"
    with netCDF4.Dataset(str(work / "wrfinput_d01")) as ds:
        assert int(ds.getncattr("WEST-EAST_GRID_DIMENSION")) == 62
        assert int(ds.getncattr("BOTTOM-TOP_GRID_DIMENSION")) == 41
        assert ds.getncattr("SIMULATION_START_DATE") == "0001-01-01_00:00:00"
    assert not list(work.glob(".*.part"))
    assert run(work, 1).code == 0  # wrf.exe takes what ideal.exe made


def test_ideal_refuses_an_unknown_domains_variable_as_wrf_does(tmp_path: Path) -> None:
    work = case_dir(tmp_path, "success_np1", {"max_dom": "1, nonsense_var = 3"}, wrfinput=False)
    assert ideal(work) != 0
    assert not (work / "wrfinput_d01").exists()
    found = diagnose(work, exit_code=1)
    assert found.code == "namelist" and "nonsense_var" in (found.hint or "")
