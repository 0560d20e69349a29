"""The integration loop: nests step before their parents, adaptive time steps, failing at a
percentage."""

from __future__ import annotations

import re
from pathlib import Path

from localrun.wrf.diagnose import diagnose
from tests.wrf.sim.harness import (
    TIMING,
    add_group,
    case_dir,
    fixture,
    run,
)


def test_nest_prints_its_steps_before_the_parents(tmp_path: Path) -> None:
    result = run(case_dir(tmp_path, "success_nested_np2"), 2)
    assert result.code == 0
    domains = [int(m.group(3)) for m in map(TIMING.match, result.rsl("out")) if m]
    assert domains == [2, 2, 2, 1] * 50
    assert [t for t, _ in result.timings(2)][:3] == [
        f"0001-01-01_00:00:{s:02d}" for s in (4, 8, 12)
    ]
    real = {re.sub(r"\d", "9", line) for line in fixture("success_nested_np2", "out")}
    assert {re.sub(r"\d", "9", line) for line in result.rsl("out") if "Timing" in line} <= real
    assert len(list(result.dir.glob("wrfout_d02_*"))) == 2
    for rank in (0, 1):
        assert result.rsl("error", rank)[-1].endswith("wrf: SUCCESS COMPLETE WRF")


def test_adaptive_time_step_uses_the_dt_form(tmp_path: Path) -> None:
    result = run(case_dir(tmp_path, "success_adaptive_dt"), 2)
    assert result.code == 0
    lines = [line for line in result.rsl("out") if line.startswith("Timing for main")]
    matches = [TIMING.match(line) for line in lines]
    assert all(m and m.group(1) for m in matches)
    assert lines[0].startswith("Timing for main (dt= 12.00): time 0001-01-01_00:00:12 on domain")
    assert lines[-1].startswith("Timing for main (dt= 14.5")
    assert " 0001-01-01_00:10:00 " in lines[-1]
    assert len(lines) == 30


def test_fail_at_percent_from_env(tmp_path: Path) -> None:
    result = run(case_dir(tmp_path, "success_np2"), 2, LOCALRUN_SIM_FAIL_AT="50")
    assert result.code == 1
    assert result.timings()[-1][0] == "0001-01-01_00:05:00"
    for rank in (0, 1):
        out = result.rsl("out", rank)
        assert "-------------- FATAL CALLED ---------------" in out
        assert any("fail_at_percent = 50" in x for x in out)


def test_fail_at_percent_from_the_namelist_group(tmp_path: Path) -> None:
    work = case_dir(tmp_path, "success_np2")
    add_group(work, "\n&localrun_simulator\n fail_at_percent = 20,\n speed = 40,\n/\n")
    result = run(work, 2, LOCALRUN_SIM_FAIL_AT="90")
    assert result.code == 1
    assert result.timings()[-1][0] == "0001-01-01_00:02:00"


def test_a_time_step_near_the_limit_warns_of_cfl_and_still_succeeds(tmp_path: Path) -> None:
    """WRF.md §9: dx 2 km, time_step = 22 succeeds with CFL lines; 24 blows up."""
    result = run(case_dir(tmp_path, "success_np2", {"time_step": "22,"}), 2)
    assert result.code == 0
    real = {_shape(x) for x in fixture("cfl_blowup_slow", "out") if "cfl" in x}
    for rank in (0, 1):
        lines = result.rsl("out", rank)
        assert lines[-1] == "d01 0001-01-01_00:10:00 wrf: SUCCESS COMPLETE WRF"
        cfl = [x for x in lines if "v_cfl" in x or "w-cfl" in x]
        assert cfl and {_shape(x) for x in cfl} <= real
    found = diagnose(result.dir, exit_code=0, mpirun_stdout=result.stdout)
    assert (found.state, found.code) == ("succeeded", "ok")
    assert found.warning is not None and "CFL warning(s)" in found.warning
    assert found.hint is not None and "reduce time_step" in found.hint


def _shape(line: str) -> tuple[str, int]:
    """A line's words with its numbers blurred, and its length (WRF's fields are fixed-width)."""
    return re.sub(r"\s+", " ", re.sub(r"-?\d[\d.]*", "N", line)), len(line)
