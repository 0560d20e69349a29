"""The &localrun_simulator knobs, from the namelist group or the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from localrun.wrf.sim.namelist import KnobError, Knobs, namelist_output, read_knobs
from tests.wrf.sim.harness import (
    case_dir,
    run,
)


def test_bad_knob_is_fatal(tmp_path: Path) -> None:
    result = run(case_dir(tmp_path, "success_np1"), 1, LOCALRUN_SIM_SPEED="fast")
    assert result.code == 1
    assert "LOCALRUN_SIM_SPEED must be a number, not 'fast'" in "\n".join(result.rsl("out"))


def test_knobs_come_from_the_group_before_the_environment() -> None:
    raw = {"localrun_simulator": {"speed": 40, "fail_at_percent": [20]}}
    env = {"LOCALRUN_SIM_SPEED": "5", "LOCALRUN_SIM_HANG_AT": " 30 "}
    assert read_knobs(raw, env) == Knobs(speed=40.0, fail_at_percent=20.0, hang_at_percent=30.0)


def test_knobs_default_when_nothing_sets_them() -> None:
    assert read_knobs({}, {"LOCALRUN_SIM_SPEED": "  "}) == Knobs()


@pytest.mark.parametrize(
    ("raw", "env", "message"),
    [
        (
            {"localrun_simulator": {"speed": "fast"}},
            {},
            "&localrun_simulator speed must be a number",
        ),
        ({}, {"LOCALRUN_SIM_COST_US": "x"}, "LOCALRUN_SIM_COST_US must be a number"),
        ({}, {"LOCALRUN_SIM_SPEED": "0"}, "speed must be positive"),
        ({"localrun_simulator": {"cost_us": -1}}, {}, "cost_us must be positive"),
    ],
)
def test_bad_knobs_are_refused_with_where_they_came_from(
    raw: dict[str, dict[str, object]], env: dict[str, str], message: str
) -> None:
    with pytest.raises(KnobError, match=message):
        read_knobs(raw, env)


def test_namelist_output_writes_each_group_as_wrf_does() -> None:
    raw: dict[str, dict[str, object]] = {
        "time_control": {"run_minutes": [10], "restart": False},
        "domains": {"name": "d"},
    }
    assert namelist_output(raw) == (
        " &TIME_CONTROL\n RUN_MINUTES = 10,\n RESTART = F,\n /\n &DOMAINS\n NAME = 'd',\n /\n"
    )
