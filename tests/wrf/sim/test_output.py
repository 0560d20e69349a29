"""wrfout and wrfrst files: real netCDF, frames per file, restarts."""

from __future__ import annotations

import shutil
from pathlib import Path

import netCDF4
import numpy as np

from localrun.wrf.diagnose import diagnose
from tests.wrf.sim.harness import (
    case_dir,
    run,
)


def test_wrfout_files_are_real_netcdf(tmp_path: Path) -> None:
    result = run(case_dir(tmp_path, "success_np2"), 2)
    assert result.code == 0
    names = sorted(p.name for p in result.dir.glob("wrfout_*"))
    assert names == ["wrfout_d01_0001-01-01_00:00:00", "wrfout_d01_0001-01-01_00:10:00"]
    with netCDF4.Dataset(str(result.dir / names[1])) as ds:
        assert ds.dimensions["west_east"].size == 61 and ds.dimensions["south_north"].size == 61
        assert ds.dimensions["Time"].isunlimited()
        assert netCDF4.chartostring(ds["Times"][:])[0] == "0001-01-01_00:10:00"
        assert ds.getncattr("WEST-EAST_GRID_DIMENSION") == 62 and ds.DX == 2000.0
        assert ds.SIMULATION_START_DATE == "0001-01-01_00:00:00"
        lat, lon, t2 = ds["XLAT"][0], ds["XLONG"][0], ds["T2"][0]
        u10, v10 = ds["U10"][0], ds["V10"][0]
    assert t2.shape == u10.shape == v10.shape == lat.shape == (61, 61)
    assert np.all(np.diff(lat, axis=0) > 0) and np.all(np.diff(lon, axis=1) > 0)
    assert 39 < float(lat.min()) < 40 < float(lat.max()) < 41
    assert -101 < float(lon.min()) < -100 < float(lon.max()) < -99
    assert 270 < float(t2.min()) < float(t2.max()) < 310 and float(np.ptp(t2)) > 1
    assert np.all(np.isfinite(u10)) and np.all(np.isfinite(v10))


def test_frames_per_outfile_appends_to_one_file(tmp_path: Path) -> None:
    changes = {"history_interval": "2,", "frames_per_outfile": "3,"}
    result = run(case_dir(tmp_path, "success_np2", changes), 2)
    assert result.code == 0
    names = sorted(p.name for p in result.dir.glob("wrfout_*"))
    assert names == ["wrfout_d01_0001-01-01_00:00:00", "wrfout_d01_0001-01-01_00:06:00"]
    with netCDF4.Dataset(str(result.dir / names[1])) as ds:
        times = list(netCDF4.chartostring(ds["Times"][:]))
        assert ds["T2"].shape == (3, 61, 61)
    assert times == [f"0001-01-01_00:{m:02d}:00" for m in (6, 8, 10)]


def test_restart_continues_from_the_restart_file(tmp_path: Path) -> None:
    first = run(case_dir(tmp_path, "restart/first"), 2)
    assert first.code == 0
    rst = sorted(p.name for p in first.dir.glob("wrfrst_*"))
    assert rst == ["wrfrst_d01_0001-01-01_00:05:00", "wrfrst_d01_0001-01-01_00:10:00"]
    assert (
        sum("Timing for Writing restart for domain        1:" in x for x in first.rsl("out")) == 2
    )
    second_dir = case_dir(tmp_path, "restart/restarted")
    shutil.copy(first.dir / rst[0], second_dir / rst[0])
    second = run(second_dir, 2)
    assert second.code == 0
    out = second.rsl("out")
    assert " RESTART run: opening wrfrst_d01_0001-01-01_00:05:00 for reading" in out
    times = [t for t, _ in second.timings()]
    assert len(times) == 25 and times[0] == "0001-01-01_00:05:12"
    assert sorted(p.name for p in second_dir.glob("wrfout_*")) == ["wrfout_d01_0001-01-01_00:10:00"]
    assert (second_dir / rst[1]).is_file()
    assert out[-1] == "d01 0001-01-01_00:10:00 wrf: SUCCESS COMPLETE WRF"
    with (
        netCDF4.Dataset(str(first.dir / "wrfout_d01_0001-01-01_00:10:00")) as a,
        netCDF4.Dataset(str(second_dir / "wrfout_d01_0001-01-01_00:10:00")) as b,
    ):
        assert np.allclose(a["T2"][0], b["T2"][0], atol=0.2)


def test_restart_without_its_file_names_it(tmp_path: Path) -> None:
    result = run(case_dir(tmp_path, "restart/restarted"), 2)
    assert result.code == 1
    for rank in (0, 1):
        name = "wrfrst_d01_0001-01-01_00:05:00"
        # WRF's '("program wrf: error opening ",A32," for reading")': three spaces here
        message = f"program wrf: error opening   {name} for reading"
        assert message in result.rsl("out", rank)
    found = diagnose(result.dir, exit_code=result.code, mpirun_stdout=result.stdout)
    assert (found.state, found.code) == ("failed", "restart_missing")
