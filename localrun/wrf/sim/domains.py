"""Each domain as one rank runs it: its patch, state, step pacing and output times."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from localrun.wrf.decomposition import Layout
from localrun.wrf.namelist import Case, Domain
from localrun.wrf.sim import grid as grid
from localrun.wrf.sim.mpi import COMM, allreduce_max
from localrun.wrf.sim.namelist import Knobs

WORK_FRACTION = 0.7  # share of a step's modelled time spent computing; the rest is slept
_EPS = 1e-6


@dataclass
class DomainRun:
    """One domain as this rank runs it."""

    domain: Domain
    parent: tuple[int, int, int]
    geo: grid.Geo
    patches: list[grid.Patch]
    state: grid.Array
    lat: grid.Array
    step_target: float
    begin: float  # seconds after the case start
    finish: float
    history: list[float]
    restarts: list[float]
    children: list[DomainRun] = field(default_factory=list)
    substeps: int = 1
    steps: int = 0
    started: bool = False
    timer: float = 0.0

    @property
    def patch(self) -> grid.Patch:
        return self.patches[int(COMM.Get_rank())]


def build_runs(
    case: Case, lay: Layout, knobs: Knobs, simulation_start: datetime
) -> list[DomainRun]:
    geos = grid.geometry(case)
    runs: list[DomainRun] = []
    for index, d in enumerate(case.domains):
        parts = grid.patches(d, lay)
        mine = parts[COMM.Get_rank()]
        j, i = mine.mass
        lat, _ = grid.latlon(geos[d.id], mine.shape, (j.start, i.start))
        run = DomainRun(
            domain=d,
            parent=(
                d.parent_id,
                int(grid.per_domain(case.raw, "domains", "i_parent_start", index) or 1),
                int(grid.per_domain(case.raw, "domains", "j_parent_start", index) or 1),
            ),
            geo=geos[d.id],
            patches=parts,
            state=grid.initial_state(geos[d.id], max(d.e_vert - 1, 1), mine),
            lat=lat,
            step_target=grid.step_seconds(d, lay, knobs.cost_us, knobs.speed),
            begin=(d.start - case.start).total_seconds(),
            finish=(d.end - case.start).total_seconds(),
            history=history_offsets(case, d, simulation_start),
            restarts=restart_offsets(case),
        )
        if index:
            runs[d.parent_id - 1].children.append(run)
        runs.append(run)
    return runs


def history_offsets(case: Case, d: Domain, anchor: datetime) -> list[float]:
    """History times (seconds after the case start): multiples of the interval since the
    simulation start, within the domain's run; a restart run writes none at its start."""
    if d.history_interval_min <= 0:
        return []
    interval = d.history_interval_min * 60.0
    k = math.ceil(((d.start - anchor).total_seconds() - _EPS) / interval)
    offsets = []
    while (moment := anchor + timedelta(seconds=k * interval)) <= d.end:
        if not (case.restart and moment == d.start):
            offsets.append((moment - case.start).total_seconds())
        k += 1
    return offsets


def restart_offsets(case: Case) -> list[float]:
    if case.restart_interval_min <= 0:
        return []
    interval = case.restart_interval_min * 60.0
    count = int((case.run_seconds + _EPS) // interval)
    return [k * interval for k in range(1, count + 1)]


def calibrate(runs: list[DomainRun]) -> None:
    """Measure numpy's speed on this rank's patch (slowest rank counts) and set sweeps per step."""
    seconds_per_point = allreduce_max(time_sweeps(runs[0].state))
    for run in runs:
        run.substeps = substeps(run, seconds_per_point)


def substeps(run: DomainRun, seconds_per_point: float) -> int:
    """Sweeps per step so that the computation fills WORK_FRACTION of the modelled step time."""
    largest = max(p.shape[0] * p.shape[1] for p in run.patches) * max(run.state.shape[0], 1)
    wanted = WORK_FRACTION * run.step_target / max(seconds_per_point * largest, 1e-12)
    return max(1, int(wanted))


def time_sweeps(state: grid.Array) -> float:
    """Seconds per grid point of one sweep, best of a few, on a copy of this patch."""
    scratch = state.copy()
    best = math.inf
    for _ in range(3):
        began = time.perf_counter()
        grid.sweep(scratch, 0.01, 0.01)
        best = min(best, time.perf_counter() - began)
    return best / max(scratch[:, 1:-1, 1:-1].size, 1)
