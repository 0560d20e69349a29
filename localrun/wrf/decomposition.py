"""How WRF splits a domain over MPI ranks, and which rank counts it accepts."""

from __future__ import annotations

import math
from dataclasses import dataclass

from localrun.wrf.namelist import Case, Domain

MIN_PATCH = 10


@dataclass(frozen=True)
class Layout:
    ranks: int
    nproc_x: int
    nproc_y: int


@dataclass(frozen=True)
class PatchProblem:
    domain: int
    e_we: int
    e_sn: int
    cells_x: int
    cells_y: int

    def describe(self, layout: Layout) -> str:
        return (
            f"domain {self.domain} ({self.e_we}x{self.e_sn}) split {layout.nproc_x}x"
            f"{layout.nproc_y} gives patches of {self.cells_x}x{self.cells_y} cells; "
            f"WRF needs at least {MIN_PATCH} in each direction"
        )


def layout(ranks: int, nproc_x: int = -1, nproc_y: int = -1) -> Layout:
    """WRF's choice with nproc_x = nproc_y = -1: the factor pair closest to square, smaller in x."""
    if ranks < 1:
        raise ValueError("ranks must be at least 1")
    if nproc_x > 0 and nproc_y > 0:
        return Layout(ranks, nproc_x, nproc_y)
    if nproc_x > 0:
        return Layout(ranks, nproc_x, ranks // nproc_x)
    if nproc_y > 0:
        return Layout(ranks, ranks // nproc_y, nproc_y)
    for x in range(math.isqrt(ranks), 0, -1):
        if ranks % x == 0:
            return Layout(ranks, x, ranks // x)
    return Layout(ranks, 1, ranks)


def patch_problem(domain: Domain, lay: Layout) -> PatchProblem | None:
    cells_x, cells_y = domain.e_we // lay.nproc_x, domain.e_sn // lay.nproc_y
    if cells_x >= MIN_PATCH and cells_y >= MIN_PATCH:
        return None
    return PatchProblem(domain.id, domain.e_we, domain.e_sn, cells_x, cells_y)


def check_ranks(case: Case, ranks: int) -> tuple[Layout, PatchProblem | None]:
    """The layout WRF would use for this case, and the first domain it would refuse, if any."""
    lay = layout(ranks, case.nproc_x, case.nproc_y)
    for domain in case.domains:
        problem = patch_problem(domain, lay)
        if problem is not None:
            return lay, problem
    return lay, None


def smallest_patch(case: Case, lay: Layout) -> tuple[int, int]:
    return min(
        ((d.e_we // lay.nproc_x, d.e_sn // lay.nproc_y) for d in case.domains),
        key=lambda ab: ab[0] * ab[1],
    )
