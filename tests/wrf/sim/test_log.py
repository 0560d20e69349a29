"""The rsl line formats, held to lines of the real WRF logs in the fixtures."""

from __future__ import annotations

from datetime import datetime

from localrun.wrf.sim import log
from tests.conftest import FIXTURES

REAL_OUT = (FIXTURES / "success_np2" / "rsl.out.0000").read_text().splitlines()


def test_timing_lines_have_the_real_shape() -> None:
    line = log.timing_main(datetime(1, 1, 1, 0, 0, 12), 1, 1.23456)
    assert (
        line
        == "Timing for main: time 0001-01-01_00:00:12 on domain   1:    1.23456 elapsed seconds"
    )
    assert any(
        real.startswith("Timing for main: time 0001-01-01_00:00:12 on domain   1:")
        for real in REAL_OUT
    )


def test_adaptive_timing_names_the_step() -> None:
    line = log.timing_main(datetime(1, 1, 1, 0, 10), 2, 0.5, dt=14.5)
    assert line.startswith("Timing for main (dt= 14.50): time 0001-01-01_00:10:00 on domain   2:")


def test_starting_task_matches_mpirun_stderr() -> None:
    real = (FIXTURES / "success_np2" / "mpirun.stderr").read_text().splitlines()
    assert log.starting_task(1, 2) in real


def test_fatal_block_frames_its_messages() -> None:
    block = log.fatal(42, ["first", "second"])
    assert block[0] == "-------------- FATAL CALLED ---------------"
    assert block[1] == "FATAL CALLED FROM FILE:  <stdin>  LINE:      42"
    assert block[2:4] == ["first", "second"] and block[-1] == log.DASHES


def test_success_line_is_the_one_wrf_prints() -> None:
    assert log.success(datetime(1, 1, 1, 0, 10)) == REAL_OUT[-1]
