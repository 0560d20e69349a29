"""What a scripted run is launched with: the time_step that blows up at X %, the broken
namelist, the knobs' environment, and the refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from localrun.api.admin.scripts import (
    INSTANT,
    Script,
    ScriptError,
    broken,
    cfl_namelist,
    cfl_time_step,
)
from localrun.wrf.namelist import read_case
from tests.conftest import EXAMPLE


def blows_up_at(step: int, dx_m: float) -> float:
    """When the simulator's CFL blow-up comes (localrun/wrf/sim/run.py): the 5th step of a
    time step within [2, 2.75) x 6 dx[km], the first one above."""
    ratio = step / (6.0 * dx_m / 1000.0)
    assert ratio >= 2.0, "past WRF's CFL limit"
    return step * 5 if ratio < 2.75 else step


@pytest.mark.parametrize(
    ("run_s", "dx_m", "percent"),
    [(1800, 2000, 30), (7200, 2000, 10), (3600, 10000, 10), (3600, 1000, 5), (3600, 15000, 30)],
)
def test_the_time_step_blows_up_at_x_percent(run_s: float, dx_m: float, percent: float) -> None:
    step = cfl_time_step(run_s, dx_m, percent)
    assert blows_up_at(step, dx_m) == pytest.approx(percent / 100 * run_s, abs=5)


def test_a_run_too_short_for_x_percent_blows_up_as_early_as_it_can() -> None:
    # 10 % of 10 min is 60 s; a time step past the limit at dx 10 km is at least 120 s
    step = cfl_time_step(600, 10000, 10)
    assert blows_up_at(step, 10000) == 166


def test_the_slow_blow_up_when_it_fits() -> None:
    # 30 % of 1 h is 1080 s; 1080 / 5 = 216 s lies in [2, 2.75) x 6 x 15 km = [180, 247.5)
    assert cfl_time_step(3600, 15000, 30) == 216


def test_the_example_case_rewritten_for_cfl() -> None:
    text = (EXAMPLE / "namelist.input").read_text()
    case = read_case(cfl_namelist(text, 30))
    assert case.domains[0].time_step == 540 and not case.adaptive
    assert case.run_seconds == read_case(text).run_seconds


def test_a_namelist_error_is_an_unknown_variable_in_domains() -> None:
    text = broken((EXAMPLE / "namelist.input").read_text())
    assert "&domains\n localrun_scripted_error = 1," in text
    with pytest.raises(ScriptError, match="no &domains"):
        broken("&time_control\n/\n")


def test_apply_replaces_the_link_never_the_input(tmp_path: Path) -> None:
    source = tmp_path / "input" / "namelist.input"
    source.parent.mkdir()
    source.write_text((EXAMPLE / "namelist.input").read_text())
    work = tmp_path / "work"
    work.mkdir()
    (work / "namelist.input").symlink_to(source)
    Script("cfl", 30).apply(work)
    assert not (work / "namelist.input").is_symlink()
    assert read_case(work / "namelist.input").domains[0].time_step == 540
    assert read_case(source).domains[0].time_step == 12


def test_the_knobs_environment() -> None:
    assert Script().env() == {}
    assert Script("fail", 40, INSTANT).env() == {
        "LOCALRUN_SIM_SPEED": "1e+06",
        "LOCALRUN_SIM_FAIL_AT": "40",
    }
    for outcome in ("hang", "killed", "lost"):
        assert Script(outcome, 25).env() == {"LOCALRUN_SIM_HANG_AT": "25"}
    assert Script.from_json({"outcome": "cfl", "speed": "instant"}).to_json() == {
        "outcome": "cfl",
        "at_percent": 50.0,
        "speed": "instant",
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"outcome": "explode"}, "outcome must be one of"),
        ({"at_percent": 0}, "between 0 and 100"),
        ({"at_percent": "x"}, "must be a number"),
        ({"speed": 0}, "must be positive"),
        ({"speed": "fast"}, "or 'instant'"),
    ],
)
def test_refusals(body: dict[str, object], message: str) -> None:
    with pytest.raises(ScriptError, match=message):
        Script.from_json(body)
