"""The simulator's storm: step time flat, then rising by a quarter, then flat (WRF.md §9)."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from localrun.wrf.sim.cost import STORM_GROWTH, mean_storm_factor, storm_factor
from tests.wrf.sim.harness import case_dir, run


def test_the_step_grows_between_ten_and_forty_model_minutes() -> None:
    assert storm_factor(0.0) == storm_factor(10 / 60) == 1.0
    assert storm_factor(25 / 60) == pytest.approx(1.0 + STORM_GROWTH / 2)
    assert storm_factor(40 / 60) == storm_factor(5.0) == 1.0 + STORM_GROWTH


@pytest.mark.parametrize(("h0", "h1"), [(0, 2), (0, 1 / 6), (0.25, 0.5), (1, 2), (0.1, 0.9)])
def test_the_mean_factor_is_the_integral(h0: float, h1: float) -> None:
    n = 20000
    numeric = statistics.fmean(storm_factor(h0 + (h1 - h0) * (i + 0.5) / n) for i in range(n))
    assert mean_storm_factor(h0, h1) == pytest.approx(numeric, rel=1e-6)
    assert mean_storm_factor(h0, h0) == storm_factor(h0)


def test_a_two_hour_run_steps_slower_as_the_storm_grows(tmp_path: Path) -> None:
    work = case_dir(tmp_path, "case_quarter_ss")
    result = run(work, 1, LOCALRUN_SIM_SPEED="16")
    assert result.code == 0, result.stderr
    steps = [seconds for _, seconds in result.timings()]
    assert len(steps) == 600
    early, late = statistics.median(steps[5:50]), statistics.median(steps[250:])
    ratio = late / early
    assert ratio > 1.12, ratio  # 1.25 as paced; the margin is for a busy machine
