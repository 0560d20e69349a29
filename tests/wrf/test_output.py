"""Slicing wrfout fields: the real WRF file in the fixtures, and files the simulator writes."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import netCDF4
import numpy as np
import pytest

from localrun.errors import Invalid, NotFound
from localrun.wrf import output
from localrun.wrf.namelist import read_case, wrf_time
from localrun.wrf.output import Box, history_files, parse_time, read_output
from localrun.wrf.sim.grid import geometry, latlon
from localrun.wrf.sim.output import Frame, write_history
from tests.conftest import EXAMPLE, FIXTURES, REPO

SAMPLE = FIXTURES / "success_np2" / "wrfout_sample.nc"
START = datetime(2018, 1, 1)


@pytest.fixture
def sim_run(tmp_path: Path) -> Path:
    """Two wrfout_d01 files of three frames each (10-minute steps), as the simulator writes."""
    case = read_case(EXAMPLE / "namelist.input")
    domain = case.domains[0]
    shape = (domain.e_sn - 1, domain.e_we - 1)
    lat, lon = latlon(geometry(case)[domain.id], shape)
    for index in range(6):
        moment = START + timedelta(minutes=10 * index)
        fields = np.stack([lat * 0 + 280 + index, lon * 0 + index, lon * 0 - index])
        frame = Frame(domain, moment, START, 12.0, lat, lon, fields.astype(np.float32), (0, 0, 0))
        first = START + timedelta(minutes=30 * (index // 3))
        write_history(tmp_path / f"wrfout_d01_{wrf_time(first)}", frame, index % 3)
    return tmp_path


def test_the_real_wrf_sample_reads_with_its_attributes() -> None:
    answer = read_output([SAMPLE], "t2")
    assert answer.field == "T2"
    assert answer.attributes["units"] == "K"
    assert answer.attributes["description"] == "TEMP at 2 M"
    assert answer.attributes["dimensions"] == ["Time", "south_north", "west_east"]
    assert answer.times == ["0001-01-01_00:00:00"]
    assert np.array(answer.data).shape == (1, 61, 61)
    pressure = np.array(read_output([SAMPLE], "pb").data)
    with netCDF4.Dataset(str(SAMPLE)) as ds:
        assert np.array_equal(pressure, np.asarray(ds["PB"][:]))
    assert pressure.shape == (1, 40, 61, 61)
    assert 5_000 < pressure.min() < pressure.max() < 100_000


def test_a_staggered_3d_field_keeps_its_extra_column() -> None:
    # the ideal case has XLONG = XLAT = 0 everywhere: a box around 0 holds the whole domain
    box = Box(lon1=-1, lat1=-1, lon2=1, lat2=1)
    answer = read_output([SAMPLE], "U", time1=datetime(1, 1, 1), box=box)
    assert np.array(answer.data).shape == (1, 40, 61, 62)
    with pytest.raises(Invalid, match=r"longitude 0\.0000 to 0\.0000"):
        read_output([SAMPLE], "U", box=Box(lon1=5, lon2=6))


def test_field_names_are_case_insensitive_and_the_key_follows_the_request() -> None:
    assert read_output([SAMPLE], "q2").field == "Q2"
    assert read_output([SAMPLE], "xTime").field == "XTIME"
    with pytest.raises(NotFound, match="no field 'nope'"):
        read_output([SAMPLE], "nope")


def test_times_select_one_frame_a_range_or_all(sim_run: Path) -> None:
    paths = history_files(sim_run)
    assert [p.name[-8:] for p in paths] == ["00:00:00", "00:30:00"]
    every = read_output(paths, "T2")
    assert every.times == [wrf_time(START + timedelta(minutes=10 * i)) for i in range(6)]
    assert [round(frame[0][0]) for frame in every.data] == [280, 281, 282, 283, 284, 285]
    one = read_output(paths, "t2", time1=START + timedelta(minutes=40))
    assert one.times == ["2018-01-01_00:40:00"] and one.data[0][0][0] == 284.0
    span = read_output(paths, "u10", START + timedelta(minutes=20), START + timedelta(minutes=30))
    assert span.times == ["2018-01-01_00:20:00", "2018-01-01_00:30:00"]
    upto = read_output(paths, "v10", time2=START + timedelta(minutes=10))
    assert [row[0][0] for row in upto.data] == [0.0, -1.0]
    with pytest.raises(NotFound, match="2018-01-01_00:00:00 to 2018-01-01_00:50:00"):
        read_output(paths, "t2", time1=START + timedelta(minutes=5))
    with pytest.raises(Invalid, match="after"):
        read_output(paths, "t2", START + timedelta(minutes=30), START)


def test_a_lon_lat_box_cuts_the_index_rectangle(sim_run: Path) -> None:
    paths = history_files(sim_run)
    with netCDF4.Dataset(str(paths[0])) as ds:
        lon, lat = np.asarray(ds["XLONG"][0]), np.asarray(ds["XLAT"][0])
    box = Box(
        lon1=float(lon[0, 30]),
        lon2=float(lon[0, 10]),
        lat1=float(lat[40, 0]),
        lat2=float(lat[15, 0]),
    )
    answer = read_output(paths, "XLONG", time1=START, box=box)
    cut = np.array(answer.data[0])
    assert cut.shape == (26, 21)
    assert np.array_equal(cut, lon[15:41, 10:31])
    lats = np.array(read_output(paths, "xlat", time1=START, box=box).data[0])
    assert np.array_equal(lats, lat[15:41, 10:31])


def test_a_box_with_one_bound_of_an_axis_reads_the_other_as_zero() -> None:
    # Cloudrun's client drops a bound equal to 0, so lon1=-105 alone means -105..0
    assert Box(lon1=-105).ranges() == ((-105.0, math.inf), None)
    assert Box(lon2=-105).ranges() == ((-math.inf, -105.0), None)
    assert Box(lat1=30, lat2=45).ranges() == (None, (30.0, 45.0))
    assert Box().ranges() == (None, None)


def test_a_file_without_times_takes_its_time_from_its_name(tmp_path: Path) -> None:
    path = tmp_path / "wrfout_d01_2018-01-01_06:00:00"
    with netCDF4.Dataset(str(path), "w") as ds:
        ds.createDimension("Time", None)
        ds.createDimension("west_east", 2)
        var = ds.createVariable("T2", "f4", ("Time", "west_east"), fill_value=-1.0)
        var.units = "K"
        var[0] = np.ma.masked_array([np.nan, 2.0], mask=[False, False])
        var[1] = np.ma.masked_array([1.0, 0.0], mask=[False, True])
    answer = read_output([path], "T2")
    assert answer.times == ["2018-01-01_06:00:00"]
    assert answer.data == [[None, 2.0]]


def test_unreadable_files_are_skipped_only_while_a_run_is_live(sim_run: Path) -> None:
    partial = sim_run / "wrfout_d01_2018-01-01_01:00:00"
    partial.write_bytes(b"\x89HDF half written")
    paths = history_files(sim_run)
    assert len(read_output(paths, "t2", skip_unreadable=True).times) == 6
    with pytest.raises(Invalid, match="wrfout_d01_2018-01-01_01:00:00"):
        read_output(paths, "t2")
    with pytest.raises(NotFound):
        read_output([partial], "t2", skip_unreadable=True)


def test_a_slice_too_large_is_refused(sim_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output, "MAX_VALUES", 61 * 61 * 2)
    assert len(read_output(history_files(sim_run), "t2", time2=START.replace(minute=10)).data) == 2
    with pytest.raises(Invalid, match="narrow it"):
        read_output(history_files(sim_run), "t2")


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2018-01-01_06:00:00", datetime(2018, 1, 1, 6)),
        ("1-01-01_00:10:00", datetime(1, 1, 1, 0, 10)),
        ("0001-01-01T00:10:00Z", datetime(1, 1, 1, 0, 10)),
        ("2018-01-01 06:30", datetime(2018, 1, 1, 6, 30)),
        ("2018-01-01", datetime(2018, 1, 1)),
    ],
)
def test_parse_time_takes_the_forms_clients_send(text: str, moment: datetime) -> None:
    assert parse_time(text) == moment


@pytest.mark.parametrize("text", ["soon", "2018-13-01_00:00:00", "2018-01-01_00:00:00+02"])
def test_parse_time_refuses_the_rest(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time(text)


# A wrfout file that its writer still holds open (frames_per_outfile > 1, WRF.md §9)

WRITER = """
import sys
from datetime import datetime, timedelta
from pathlib import Path
import numpy as np
from localrun.wrf.namelist import read_case
from localrun.wrf.sim.grid import geometry, latlon
from localrun.wrf.sim.output import Frame, HistoryFiles

case = read_case(Path(sys.argv[1]))
d = case.domains[0]
lat, lon = latlon(geometry(case)[d.id], (d.e_sn - 1, d.e_we - 1))
start = datetime(2018, 1, 1)
files = HistoryFiles()
for index in range(3):
    fields = np.stack([lat * 0 + 280 + index, lon * 0, lon * 0]).astype(np.float32)
    moment = start + timedelta(minutes=10 * index)
    frame = Frame(d, moment, start, 12.0, lat, lon, fields, (0, 0, 0))
    files.write(Path(sys.argv[2]), frame, index, last=index == 2)
    if index == 1:
        print("two frames written", flush=True)
        sys.stdin.readline()
"""

READER = """
import json, sys
from pathlib import Path
from localrun.wrf.output import read_output

times = read_output([Path(sys.argv[1])], "Times", skip_unreadable=True)
t2 = read_output([Path(sys.argv[1])], "T2", skip_unreadable=True)
print(json.dumps({"field": times.field, "times": times.times, "data": times.data,
                  "t2": [row[0][0] for row in t2.data]}))
"""

PLAIN_OPEN = "import netCDF4, sys; netCDF4.Dataset(sys.argv[1]).close()"


def python(code: str, *args: str, **popen: Any) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "HDF5_USE_FILE_LOCKING"}
    argv = [sys.executable, "-c", code, *args]
    return subprocess.Popen(argv, env=env, text=True, cwd=REPO, **popen)


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def test_a_file_its_writer_holds_open_reads_with_the_frames_written(tmp_path: Path) -> None:
    path = tmp_path / "wrfout_d01_2018-01-01_00:00:00"
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    writer = python(
        WRITER, str(EXAMPLE / "namelist.input"), str(path), stdin=subprocess.PIPE, **pipes
    )
    try:
        assert writer.stdout is not None and writer.stdin is not None
        assert writer.stdout.readline().strip() == "two frames written"
        # what any other netCDF reader meets: HDF5's lock, held by the writer
        code, _, err = finish(python(PLAIN_OPEN, str(path), **pipes))
        assert code != 0 and "HDF error" in err
        code, out, err = finish(python(READER, str(path), **pipes))
        assert code == 0, err
        answer = json.loads(out)
        assert answer["field"] == "Times"
        assert answer["times"] == ["2018-01-01_00:00:00", "2018-01-01_00:10:00"]
        assert answer["data"] == answer["times"]
        assert answer["t2"] == [280.0, 281.0]
        writer.stdin.write("go on\n")
        writer.stdin.flush()
        assert finish(writer)[0] == 0
    finally:
        writer.kill()
    assert read_output([path], "times").times[-1] == "2018-01-01_00:20:00"
    assert read_output([path], "times").field == "Times"
