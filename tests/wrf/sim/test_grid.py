"""Splitting a domain into patches, as WRF decomposes it."""

from __future__ import annotations

import pytest

from localrun.wrf.decomposition import layout
from localrun.wrf.namelist import read_case
from localrun.wrf.sim.grid import patches, split
from tests.conftest import FIXTURES


@pytest.mark.parametrize(
    ("n", "parts", "ranges"),
    [
        (10, 1, [(1, 10)]),
        (10, 3, [(1, 4), (5, 7), (8, 10)]),
        (4, 4, [(1, 1), (2, 2), (3, 3), (4, 4)]),
    ],
)
def test_split_gives_the_larger_parts_first(
    n: int, parts: int, ranges: list[tuple[int, int]]
) -> None:
    assert split(n, parts) == ranges


def test_patches_tile_the_mass_grid_and_know_their_neighbours() -> None:
    domain = read_case(FIXTURES / "success_np2" / "namelist.input").domains[0]
    found = patches(domain, layout(2))
    assert len(found) == 2
    cells = sum(p.shape[0] * p.shape[1] for p in found)
    assert cells == (domain.e_we - 1) * (domain.e_sn - 1)
    first, second = found
    touching = {first.east, first.north, second.west, second.south} - {None}
    assert touching == {0, 1}
