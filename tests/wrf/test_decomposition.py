"""WRF's rank layout and the 10-cell patch rule (WRF.md §6)."""

from __future__ import annotations

from typing import Any

import pytest

from localrun.wrf.decomposition import Layout, check_ranks, layout, smallest_patch
from localrun.wrf.namelist import Case, case_from_groups, read_case
from tests.conftest import FIXTURES


def grid_case(e_we: int, e_sn: int, **domains: Any) -> Case:
    groups = {
        "time_control": {"run_hours": 1},
        "domains": {"time_step": 60, "e_we": e_we, "e_sn": e_sn, "e_vert": 35, **domains},
    }
    return case_from_groups(groups)


@pytest.mark.parametrize(
    ("ranks", "x", "y"),
    [(1, 1, 1), (2, 1, 2), (4, 2, 2), (6, 2, 3), (7, 1, 7), (28, 4, 7), (192, 12, 16)],
)
def test_closest_to_square_with_the_smaller_factor_in_x(ranks: int, x: int, y: int) -> None:
    assert layout(ranks) == Layout(ranks, x, y)


def test_namelist_layout_is_used() -> None:
    assert layout(6, 3, 2) == Layout(6, 3, 2)
    assert layout(6, nproc_x=3) == Layout(6, 3, 2)
    assert layout(6, nproc_y=6) == Layout(6, 1, 6)


def test_no_ranks_is_an_error() -> None:
    with pytest.raises(ValueError):
        layout(0)


def test_conus_12km_480_valid_512_not() -> None:
    conus = grid_case(425, 300)
    assert check_ranks(conus, 480) == (Layout(480, 20, 24), None)
    lay, problem = check_ranks(conus, 512)
    assert lay == Layout(512, 16, 32)
    assert problem is not None and (problem.cells_x, problem.cells_y) == (26, 9)


def test_too_many_ranks_fixture() -> None:
    case = read_case(FIXTURES / "too_many_ranks" / "namelist.input")
    lay, problem = check_ranks(case, 6)
    assert lay == Layout(6, 2, 3)
    assert problem is not None
    assert (problem.domain, problem.cells_x, problem.cells_y) == (1, 11, 7)
    text = problem.describe(lay)
    assert "domain 1 (22x22) split 2x3" in text and "11x7" in text
    assert check_ranks(case, 4)[1] is None


def test_smallest_domain_limits_the_rank_count() -> None:
    case = read_case(FIXTURES / "success_nested_np2" / "namelist.input")
    assert check_ranks(case, 6)[1] is None  # 2x3: d02 31x31 gives 15x10
    lay, problem = check_ranks(case, 8)  # 2x4: d02 gives 15x7, d01 still fine
    assert problem is not None and problem.domain == 2
    assert smallest_patch(case, lay) == (15, 7)


def test_smallest_patch_of_the_base_case() -> None:
    case = read_case(FIXTURES / "case_quarter_ss" / "namelist.input")
    assert smallest_patch(case, layout(1)) == (62, 62)
    assert smallest_patch(case, layout(2)) == (62, 31)
