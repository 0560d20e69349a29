"""Pre-launch checks against the real WRF fixtures and small edits of them."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from localrun.wrf import namelist_vars
from localrun.wrf.checks import Problem, check_case, check_names, parse_groups
from tests.conftest import FIXTURES

SUCCESS = {
    "case_quarter_ss": 2,
    "success_np1": 1,
    "success_np2": 2,
    "success_nested_np2": 2,
    "success_adaptive_dt": 2,
    "restart/first": 2,
    "restart/restarted": 2,
}


def namelist(scenario: str) -> str:
    return (FIXTURES / scenario / "namelist.input").read_text()


def edit(text: str, name: str, value: str) -> str:
    """Replace the value of `name` (the whole right-hand side of its line)."""
    new, count = re.subn(rf"(?m)^(\s*{name}\s*=).*$", rf"\g<1> {value}", text)
    assert count == 1, name
    return new


def codes(problems: list[Problem]) -> list[str]:
    return [p.code for p in problems]


@pytest.mark.parametrize("scenario", sorted(SUCCESS))
def test_success_fixtures_have_no_problem(scenario: str) -> None:
    assert check_case(namelist(scenario), cores=SUCCESS[scenario]) == []


def test_base_case_with_its_own_inputs_has_no_problem() -> None:
    case_dir = FIXTURES / "case_quarter_ss"
    assert check_case(namelist("case_quarter_ss"), cores=2, inputs_dir=case_dir) == []


def test_every_fixture_name_is_known_except_the_typo() -> None:
    unknown = []
    for path in sorted(FIXTURES.glob("**/namelist.input")):
        groups = parse_groups(path.read_text())
        unknown += [(path.parent.name, p.message) for p in check_names(groups)]
    assert len(unknown) == 1 and unknown[0][0] == "fatal_namelist_typo"


def test_typo_is_found_with_the_right_suggestion() -> None:
    [problem] = check_case(namelist("fatal_namelist_typo"))
    assert problem.code == "namelist"
    assert "histroy_interval" in problem.message and "&time_control" in problem.message
    assert "'history_interval'" in problem.hint


def test_typo_quotes_what_wrf_really_prints() -> None:
    [problem] = check_case(namelist("fatal_namelist_typo"))
    assert "WRF stops with 'ERROR while reading namelist time_control'" in problem.message


def test_misspelt_time_step_is_named_not_reported_as_zero() -> None:
    """issue 19: time_step renamed time_stepp gave 'time_step must be positive'."""
    text = namelist("success_np2").replace(" time_step ", " time_stepp ", 1)
    assert check_case(text, cores=2) == [
        Problem(
            "namelist",
            "&domains: unknown variable 'time_stepp' "
            "(WRF stops with 'ERROR reading namelist domains')",
            "did you mean 'time_step'?",
        )
    ]
    # an error that does not follow from the typo is still reported
    other = edit(namelist("success_np2"), "time_step", "0,").replace(" max_dom ", " zzqqxx ", 1)
    assert [p.message for p in check_case(other)][-1] == "&domains time_step must be positive"


def test_variable_in_the_wrong_group_names_its_group() -> None:
    text = namelist("success_np2").replace(" &domains\n", " &domains\n history_interval = 10,\n")
    [problem] = check_case(text)
    assert "&domains" in problem.message
    assert "&time_control" in problem.hint


def test_size_mismatch_against_the_real_wrfinput() -> None:
    problems = check_case(namelist("fatal_size_mismatch"), inputs_dir=FIXTURES / "case_quarter_ss")
    assert codes(problems) == ["size_mismatch"]
    assert "e_we = 63" in problems[0].message
    assert "WEST-EAST_GRID_DIMENSION = 62" in problems[0].message


def test_vertical_size_mismatch_names_bottom_top(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "case_quarter_ss" / "wrfinput_d01", tmp_path)
    text = edit(namelist("success_np2"), "e_vert", "40, 40, 40,")
    [problem] = check_case(text, inputs_dir=tmp_path)
    assert problem.code == "size_mismatch"
    assert "e_vert = 40" in problem.message and "BOTTOM-TOP_GRID_DIMENSION = 41" in problem.message


def test_placeholder_wrfinput_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "wrfinput_d01").write_bytes(b"not netcdf, a client's placeholder\n")
    assert check_case(namelist("fatal_size_mismatch"), inputs_dir=tmp_path) == []


def test_missing_wrfinput(tmp_path: Path) -> None:
    [problem] = check_case(namelist("fatal_missing_wrfinput"), inputs_dir=tmp_path)
    assert problem.code == "missing_input"
    assert "wrfinput_d01" in problem.message


def test_restart_needs_its_wrfrst_file(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "case_quarter_ss" / "wrfinput_d01", tmp_path)
    [problem] = check_case(namelist("restart/restarted"), inputs_dir=tmp_path)
    assert problem.code == "missing_input"
    assert "wrfrst_d01_0001-01-01_00:05:00" in problem.message


def test_too_many_ranks_names_domain_and_layout() -> None:
    [problem] = check_case(namelist("too_many_ranks"), cores=6)
    assert problem.code == "too_many_ranks"
    assert "domain 1" in problem.message and "2x3" in problem.message
    assert "11x7" in problem.message
    assert "4 ranks (2x2)" in problem.hint


def test_too_many_ranks_fixture_is_fine_on_four() -> None:
    assert check_case(namelist("too_many_ranks"), cores=4) == []


def test_fixed_layout_must_match_the_rank_count() -> None:
    text = namelist("success_np2").replace(" max_dom ", " nproc_x = 2,\n nproc_y = 2,\n max_dom ")
    [problem] = check_case(text, cores=2)
    assert problem.code == "namelist" and "2x2" in problem.message


def test_nest_size_must_be_a_multiple_of_the_ratio_plus_one() -> None:
    text = edit(namelist("success_nested_np2"), "e_we", "62, 32,")
    [problem] = check_case(text)
    assert problem.code == "nest_size"
    assert "domain 2" in problem.message and "e_we = 32" in problem.message
    assert "31 or 34" in problem.hint


def test_per_domain_list_shorter_than_max_dom() -> None:
    text = edit(namelist("success_nested_np2"), "mp_physics", "1,")
    [problem] = check_case(text)
    assert problem.code == "namelist"
    assert "mp_physics" in problem.message and "max_dom = 2" in problem.message


def test_single_valued_variable_given_twice() -> None:
    text = edit(namelist("success_np2"), "run_minutes", "10, 10,")
    [problem] = check_case(text)
    assert "run_minutes takes one value" in problem.message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = edit(namelist("too_many_ranks"), "history_interval", "10, 10, 10,")
    text = text.replace("history_interval", "histroy_interval")
    found = codes(check_case(text, cores=6, inputs_dir=tmp_path))
    assert sorted(found) == ["missing_input", "namelist", "too_many_ranks"]


def test_simulator_group_is_ignored() -> None:
    text = namelist("success_np2") + "\n &localrun_simulator\n speed = 20.0,\n crash_at = 3,\n /\n"
    assert check_case(text) == []


def test_misspelt_group_is_reported() -> None:
    text = namelist("success_np2") + "\n &phyiscs\n mp_physics = 1,\n /\n"
    [problem] = check_case(text)
    assert "&phyiscs" in problem.message and "&physics" in problem.hint


def test_unparseable_namelist_is_one_problem() -> None:
    [problem] = check_case("&time_control\n run_minutes = = ,\n")
    assert problem.code == "namelist"


def test_missing_group_is_reported() -> None:
    text = "&time_control\n run_minutes = 10,\n/\n"
    [problem] = check_case(text)
    assert "&domains" in problem.message


def test_known_names_cover_the_common_real_data_namelist() -> None:
    common = {
        "time_control": "interval_seconds input_from_file history_interval debug_level",
        "domains": "num_metgrid_levels p_top_requested e_vert dzstretch_s grid_id feedback",
        "physics": "physics_suite mp_physics cu_physics icloud num_land_cat sf_urban_physics",
        "dynamics": "hybrid_opt w_damping diff_6th_opt base_temp damp_opt gwd_opt epssm",
        "bdy_control": "spec_bdy_width specified",
        "namelist_quilt": "nio_tasks_per_group nio_groups",
    }
    for group, names in common.items():
        assert set(names.split()) <= namelist_vars.known(group), group
