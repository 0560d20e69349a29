"""The namelists of linked runs: the restart point, the restart namelist, the CFL retry."""

from __future__ import annotations

from datetime import datetime
from importlib import resources
from pathlib import Path

import pytest

from localrun.wrf.namelist import NamelistError, read_case
from localrun.wrf.restart import restart_namelist, restart_point, smaller_time_step

EXAMPLE = (resources.files("localrun") / "example_case" / "namelist.input").read_text()
NESTED = EXAMPLE.replace("max_dom                             = 1,", "max_dom = 2,")


def at(minute: int) -> datetime:
    return datetime(1, 1, 1, 0, minute)


def touch(folder: Path, name: str, size: int = 10) -> Path:
    path = folder / name
    path.write_bytes(b"x" * size)
    return path


def test_the_newest_time_every_domain_wrote(tmp_path: Path) -> None:
    case = read_case(NESTED)
    touch(tmp_path, "wrfrst_d01_0001-01-01_00:10:00")
    touch(tmp_path, "wrfrst_d02_0001-01-01_00:10:00")
    touch(tmp_path, "wrfrst_d01_0001-01-01_00:20:00")  # d02 of 00:20 never written
    touch(tmp_path, "wrfrst_d01_0001-01-01_00:15:00")
    touch(tmp_path, "wrfrst_d02_0001-01-01_00:15:00", size=0)  # cut short by the kill
    touch(tmp_path, "wrfout_d01_0001-01-01_00:20:00")
    point = restart_point(tmp_path, case)
    assert point is not None and point.at == at(10)
    assert [p.name for p in point.files] == [
        "wrfrst_d01_0001-01-01_00:10:00",
        "wrfrst_d02_0001-01-01_00:10:00",
    ]


def test_no_restart_point(tmp_path: Path) -> None:
    case = read_case(EXAMPLE)
    assert restart_point(tmp_path, case) is None
    touch(tmp_path, "wrfrst_d01_0001-01-01_00:30:00")  # at the end: nothing left to run
    assert restart_point(tmp_path, case) is None
    assert restart_point(tmp_path / "gone", case) is None


def test_the_restart_namelist_goes_on_to_the_first_end() -> None:
    text = restart_namelist(NESTED, at(10))
    case = read_case(text)
    assert case.restart is True
    assert [(d.start, d.end) for d in case.domains] == [(at(10), at(30))] * 2
    assert case.required_inputs[:3] == [
        "namelist.input",
        "wrfrst_d01_0001-01-01_00:10:00",
        "wrfrst_d02_0001-01-01_00:10:00",
    ]
    assert case.domains[0].history_times == [at(20), at(30)]
    assert "run_minutes = 0" in text


def test_a_smaller_time_step() -> None:
    text, step = smaller_time_step(EXAMPLE, 0.75)
    assert step == 9.0 and read_case(text).domains[0].time_step == 9.0
    one = EXAMPLE.replace("time_step                           = 12,", "time_step = 1,")
    with pytest.raises(NamelistError, match="cannot be made smaller"):
        smaller_time_step(one, 0.75)
    with pytest.raises(NamelistError):
        smaller_time_step("&domains\n/\n", 0.75)
