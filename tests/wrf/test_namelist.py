"""The namelist reader against the fixture namelists and small edits of them."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from localrun.wrf.namelist import NamelistError, read_case, wrf_time
from tests.conftest import FIXTURES


def namelist(scenario: str) -> str:
    return (FIXTURES / scenario / "namelist.input").read_text()


def edit(text: str, name: str, value: str) -> str:
    new, count = re.subn(rf"(?m)^(\s*{name}\s*=).*$", rf"\g<1> {value}", text)
    assert count == 1, name
    return new


def test_reads_a_path_and_text_alike() -> None:
    path = FIXTURES / "case_quarter_ss" / "namelist.input"
    assert read_case(path).domains == read_case(path.read_text()).domains


def test_base_case_times_steps_and_outputs() -> None:
    case = read_case(namelist("case_quarter_ss"))
    [d01] = case.domains
    assert (d01.e_we, d01.e_sn, d01.e_vert, d01.dx, d01.time_step) == (62, 62, 41, 2000.0, 12.0)
    assert case.start == datetime(1, 1, 1, 0, 0) and case.end == datetime(1, 1, 1, 2, 0)
    assert case.run_seconds == 7200 and d01.steps == 600
    assert len(d01.history_times) == 13
    assert wrf_time(d01.history_times[-1]) == "0001-01-01_02:00:00"
    assert (case.restart, case.adaptive, case.nproc_x, case.nproc_y) == (False, False, -1, -1)


def test_run_length_wins_over_end_time() -> None:
    text = edit(namelist("case_quarter_ss"), "run_minutes", "10,")
    case = read_case(text)
    assert case.run_seconds == 600 and case.domains[0].steps == 50
    assert wrf_time(case.end) == "0001-01-01_00:10:00"


def test_end_time_is_used_without_run_length() -> None:
    text = edit(namelist("success_np2"), "run_minutes", "0,")
    text = edit(text, "end_minute", "20, 20, 20,")
    assert read_case(text).run_seconds == 1200


def test_end_before_start_is_refused() -> None:
    text = edit(namelist("success_np2"), "run_minutes", "0,")
    text = edit(text, "start_hour", "01, 01, 01,")
    with pytest.raises(NamelistError, match="before start"):
        read_case(text)


def test_fractional_time_step() -> None:
    text = edit(namelist("success_np2"), "time_step_fract_num", "1,")
    text = edit(text, "time_step_fract_den", "2,")
    assert read_case(text).domains[0].time_step == 12.5


def test_nest_takes_dt_and_dx_from_its_parent() -> None:
    case = read_case(namelist("success_nested_np2"))
    d01, d02 = case.domains
    assert (d02.parent_id, d02.parent_grid_ratio, d02.parent_time_step_ratio) == (1, 3, 3)
    assert d02.time_step == pytest.approx(4.0)
    assert d02.dx == pytest.approx(2000 / 3) and d02.dy == pytest.approx(2000 / 3)
    assert (d01.steps, d02.steps) == (50, 150)  # run.json: 50 and 150 Timing lines
    assert d02.end == d01.end


def test_adaptive_flag() -> None:
    assert read_case(namelist("success_adaptive_dt")).adaptive


def test_required_inputs_of_a_plain_run() -> None:
    assert read_case(namelist("success_np2")).required_inputs == ["namelist.input", "wrfinput_d01"]


def test_required_inputs_of_a_restart_run() -> None:
    case = read_case(namelist("restart/restarted"))
    assert case.restart
    assert case.required_inputs == ["namelist.input", "wrfrst_d01_0001-01-01_00:05:00"]


def test_nest_input_only_when_read_from_file() -> None:
    text = namelist("success_nested_np2")
    assert "wrfinput_d02" not in read_case(text).required_inputs
    text = text.replace(
        " history_interval", " input_from_file = .true., .true.,\n history_interval"
    )
    assert read_case(text).required_inputs[-1] == "wrfinput_d02"


def test_real_data_run_needs_boundaries() -> None:
    text = namelist("success_np2").replace(" periodic_x", " specified = .true.,\n periodic_x")
    assert read_case(text).required_inputs[-1] == "wrfbdy_d01"


def test_missing_domains_group_is_refused() -> None:
    with pytest.raises(NamelistError, match="&domains"):
        read_case("&time_control\n run_minutes = 10,\n/\n")


def test_domain_without_size_is_refused() -> None:
    text = edit(namelist("success_nested_np2"), "e_sn", "62,")
    with pytest.raises(NamelistError, match="e_sn has no value for domain 2"):
        read_case(text)


def test_unparseable_text_is_a_namelist_error() -> None:
    with pytest.raises(NamelistError) as caught:
        read_case("&time_control\n run_minutes = = ,\n")
    assert caught.value.code == "namelist"


def test_restart_history_times_follow_the_simulation_start() -> None:
    case = read_case(namelist("restart/restarted"))
    assert [wrf_time(t) for t in case.domains[0].history_times] == ["0001-01-01_00:10:00"]
