"""The case helper: namelist edits that keep every other line, and a case run on the simulator."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from localrun.config import default_mpirun
from localrun.executor.prepare import simulator_executable, write_wrapper
from localrun.handlers import edit_namelist, run_case
from localrun.handlers.casework import EXAMPLE_CASE, copy_case, fortran

TEXT = (
    " &time_control\n run_minutes = 30,\n /\n\n &domains\n time_step = 12,\n e_we = 62, 43,\n /\n"
)


def test_fortran_values() -> None:
    assert [fortran(v) for v in (10, 2.5, True, False, "a'b", [1, 2])] == [
        "10",
        "2.5",
        ".true.",
        ".false.",
        "'a''b'",
        "1, 2",
    ]
    with pytest.raises(ValueError):
        fortran(None)


def test_edits_replace_values_and_keep_the_rest() -> None:
    edited = edit_namelist(TEXT, {"time_step": 10, "domains.e_we": [50, 40]})
    assert edited == TEXT.replace("12,", "10,").replace("62, 43,", "50, 40,")
    added = edit_namelist(TEXT, {"domains.max_dom": 1})
    assert added.splitlines()[-2:] == [" max_dom = 1,", " /"]
    for bad in ("nonsense", "physics.mp_physics", "e_sn"):
        with pytest.raises(KeyError):
            edit_namelist(TEXT, {bad: 1})


def test_a_case_needs_a_namelist(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        copy_case(tmp_path, tmp_path / "out")


def test_run_case_on_the_simulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    write_wrapper(bindir / "wrf.exe", simulator_executable())
    write_wrapper(bindir / "mpirun", default_mpirun())
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("LOCALRUN_SIM_SPEED", "20")
    monkeypatch.chdir(tmp_path)
    report = run_case({"time_step": 20, "run_minutes": 4}, directory="case")
    assert (report["state"], report["code"], report["exit_code"]) == ("succeeded", "ok", 0)
    assert report["steps"]["1"]["count"] == 12 and report["edits"] == {
        "time_step": 20,
        "run_minutes": 4,
    }
    step = re.compile(r"^ time_step\s+= (\d+),$", re.MULTILINE)
    assert step.findall((tmp_path / "case" / "namelist.input").read_text()) == ["20"]
    assert step.findall((EXAMPLE_CASE / "namelist.input").read_text()) == ["12"]

    broken = run_case({"e_we": 3}, directory="broken", cores=2)
    assert broken["state"] == "failed" and broken["exit_code"] != 0
