"""The simulator's time loop: paced steps on every rank, nests, outputs, and the ways it ends."""

from __future__ import annotations

import math
import os
import resource
import signal
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import NoReturn

import numpy as np

from localrun.wrf import sim_grid as grid
from localrun.wrf import sim_log as fmt
from localrun.wrf.decomposition import Layout
from localrun.wrf.namelist import Case, Domain, wrf_time
from localrun.wrf.sim_log import Rsl
from localrun.wrf.sim_mpi import COMM, allreduce_max, barrier, gather, halo_exchange
from localrun.wrf.sim_namelist import Knobs
from localrun.wrf.sim_output import Frame, write_history, write_restart

WORK_FRACTION = 0.7  # share of a step's modelled time spent computing; the rest is slept
HISTORY_US, RESTART_US = 0.6, 3.2  # serial output cost per grid point (WRF.md §7's w)
STABLE, SLOW_BLOWUP = 1.75, 2.75  # time_step / (6 dx[km]) above which the run blows up
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


@dataclass(frozen=True)
class Blowup:
    domain: int
    signum: int


def blowup(case: Case) -> Blowup | None:
    """Whether, and how, a fixed time step this far above 6 s per km of dx blows the run up."""
    if case.adaptive:
        return None
    worst = max(case.domains, key=lambda d: d.time_step / max(6.0 * d.dx / 1000.0, _EPS))
    ratio = worst.time_step / max(6.0 * worst.dx / 1000.0, _EPS)
    if ratio < STABLE:
        return None
    return Blowup(worst.id, signal.SIGABRT if ratio < SLOW_BLOWUP else signal.SIGSEGV)


class Integration:
    def __init__(
        self,
        log: Rsl,
        case: Case,
        knobs: Knobs,
        runs: list[DomainRun],
        simulation_start: datetime,
    ) -> None:
        self.log, self.case, self.knobs, self.runs = log, case, knobs, runs
        self.simulation_start = simulation_start
        self.rank = COMM.Get_rank()
        self.blowup = blowup(case)
        self.total = case.run_seconds

    def run(self) -> None:
        top = self.runs[0]
        top.timer = time.perf_counter()
        self.start(top)
        self.log.out(*fmt.w_damping(self.case.start))
        self.check_knobs(0.0)
        t, dt, count = 0.0, top.domain.time_step, 0
        while t < self.total - _EPS:
            if self.case.adaptive:
                dt = self.adaptive_dt(t, dt, first=count == 0)
                t_next = t + dt
            else:
                t_next = min((count + 1) * top.domain.time_step, self.total)
            self.step(top, t, t_next)
            t, count = t_next, count + 1
            self.check_knobs(t)
        self.log.out(fmt.success(self.case.end))
        barrier()

    def moment(self, offset: float) -> datetime:
        return self.case.start + timedelta(seconds=offset)

    def start(self, run: DomainRun) -> None:
        run.started = True
        if not self.case.restart and _due(run.history, run.begin):
            self.history(run, run.begin)
        self.log.out(*fmt.tiles(run.patch.ips, run.patch.ipe, run.patch.jps, run.patch.jpe))

    def step(self, run: DomainRun, t0: float, t1: float) -> None:
        self.solve(run, t1 - t0)
        for child in run.children:
            if child.begin - _EPS <= t0 and t1 <= child.finish + _EPS:
                self.nest_steps(child, t0, t1)
        run.steps += 1
        now = time.perf_counter()
        dt = (t1 - t0) if self.case.adaptive else None
        self.log.root(fmt.timing_main(self.moment(t1), run.domain.id, now - run.timer, dt))
        run.timer = now
        if self.blowup is not None and self.blowup.domain == run.domain.id:
            self.maybe_blow_up(run, t1)
        if _due(run.history, t1):
            self.history(run, t1)
        if _due(run.restarts, t1):
            self.restart(run, t1)

    def nest_steps(self, child: DomainRun, t0: float, t1: float) -> None:
        child.timer = time.perf_counter()
        if not child.started:
            self.start(child)
        ratio = max(1, child.domain.parent_time_step_ratio)
        for k in range(ratio):
            self.step(child, t0 + k * (t1 - t0) / ratio, t0 + (k + 1) * (t1 - t0) / ratio)

    def solve(self, run: DomainRun, dt: float) -> None:
        deadline = time.perf_counter() + run.step_target
        halo_exchange(run.state, run.patch)
        grid.close_edges(run.state, run.patch)
        kd, cu = grid.coefficients(run.domain, dt)
        for _ in range(run.substeps):
            grid.sweep(run.state, kd / run.substeps, cu / run.substeps)
        sleep_until(deadline)

    def adaptive_dt(self, t: float, previous: float, first: bool) -> float:
        d = self.case.domains[0]
        dx_km = d.dx / 1000.0
        start = _domain_real(self.case, "starting_time_step", 0) or 4.0 * dx_km
        ceiling = _domain_real(self.case, "max_time_step", 0) or 8.0 * dx_km
        pct = _domain_real(self.case, "max_step_increase_pct", 0) or 5.0
        dt = start if first else min(previous * (1.0 + pct / 100.0), ceiling)
        top = self.runs[0]
        targets = [x for x in [*top.history, *top.restarts, self.total] if x > t + _EPS]
        remaining = min(targets) - t
        if dt >= remaining - _EPS:
            return remaining
        return remaining / 2.0 if 2.0 * dt > remaining else dt

    def history(self, run: DomainRun, offset: float) -> None:
        self.log.err(*fmt.history_debug(run.domain.id))
        began = time.perf_counter()
        hours = (self.moment(offset) - self.simulation_start).total_seconds() / 3600.0
        fields = grid.surface_fields(run.state, run.lat, hours)
        d = run.domain
        full = gather(fields, run.patches, (3, d.e_sn - 1, d.e_we - 1))
        if full is None:
            return
        stamp = wrf_time(self.moment(offset))
        write_history(Path(f"wrfout_d{d.id:02d}_{stamp}"), self.frame(run, offset, full))
        sleep_until(began + HISTORY_US * 1e-6 * d.points / self.knobs.speed)
        elapsed = time.perf_counter() - began
        self.log.out(fmt.timing_for(f"Writing wrfout_d{d.id:02d}_{stamp}", d.id, elapsed))

    def restart(self, run: DomainRun, offset: float) -> None:
        began = time.perf_counter()
        hours = (self.moment(offset) - self.simulation_start).total_seconds() / 3600.0
        fields = grid.surface_fields(run.state, run.lat, hours)
        d = run.domain
        full = gather(fields, run.patches, (3, d.e_sn - 1, d.e_we - 1))
        state = gather(
            run.state[:, 1:-1, 1:-1], run.patches, (d.e_vert - 1, d.e_sn - 1, d.e_we - 1)
        )
        if full is None or state is None:
            return
        stamp = wrf_time(self.moment(offset))
        write_restart(Path(f"wrfrst_d{d.id:02d}_{stamp}"), self.frame(run, offset, full), state)
        sleep_until(began + RESTART_US * 1e-6 * d.points / self.knobs.speed)
        elapsed = time.perf_counter() - began
        self.log.out(fmt.timing_for("Writing restart", d.id, elapsed))

    def frame(self, run: DomainRun, offset: float, fields: grid.Array) -> Frame:
        d = run.domain
        lat, lon = grid.latlon(run.geo, (d.e_sn - 1, d.e_we - 1))
        return Frame(
            domain=d,
            moment=self.moment(offset),
            simulation_start=self.simulation_start,
            dt=d.time_step,
            lat=lat,
            lon=lon,
            fields=fields,
            parent=run.parent,
        )

    def check_knobs(self, offset: float) -> None:
        percent = 100.0 * offset / self.total if self.total > 0 else 100.0
        hang, fail = self.knobs.hang_at_percent, self.knobs.fail_at_percent
        if hang is not None and percent >= hang:
            _hang()
        if fail is not None and percent >= fail:
            message = (
                f" localrun simulator: failure injected at {percent:.0f}% of the run "
                f"(fail_at_percent = {fail:g})"
            )
            die_all(self.log, fmt.fatal(1, [message]))

    def maybe_blow_up(self, run: DomainRun, offset: float) -> None:
        assert self.blowup is not None
        slow = self.blowup.signum == signal.SIGABRT
        reports = {4: ((0.052, -14.54, 7.41), (0.084, 1e5, 1e5)), 5: ((0.040, 165.78, 1193.03),)}
        if not slow:
            reports = {1: ((0.047, 1e5, 1698.94),)}
        if run.steps not in reports:
            return
        cells = int(np.prod(run.state[:, 1:-1, 1:-1].shape))
        j, i = run.patch.mass
        where = (i.start + (i.stop - i.start) // 2, j.start + (j.stop - j.start) // 2, 23)
        for share, w, wcfl in reports[run.steps]:
            points = max(1, int(cells * share * (1.0 - 0.3 * (self.rank % 2))))
            self.log.out(*fmt.cfl_lines(run.domain.id, self.moment(offset), points, where, w, wcfl))
        if run.steps == max(reports):
            die_by_signal(self.log, self.blowup.signum)


def _due(times: list[float], offset: float) -> bool:
    return any(abs(x - offset) < 1e-3 for x in times)


def _domain_real(case: Case, name: str, index: int) -> float:
    value = grid.per_domain(case.raw, "domains", name, index)
    return float(value) if value is not None and float(value) > 0 else 0.0


def sleep_until(deadline: float) -> None:
    remaining = deadline - time.perf_counter()
    if remaining > 0:
        time.sleep(remaining)


def _hang() -> NoReturn:
    """Stop making progress without using CPU; SIGTERM (default action) still ends the process."""
    while True:
        time.sleep(3600)


def park() -> NoReturn:
    """A rank that leaves the error report to rank 0 waits to be taken down by its MPI_Abort."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.05)
    os._exit(1)


def die_root(log: Rsl, lines: list[str]) -> NoReturn:
    """An error only rank 0 reports (namelist, decomposition): MPI_Abort(1) there."""
    barrier(timeout=5.0)  # the other ranks have written what they write before the abort
    if COMM.Get_rank() != 0:
        park()
    log.out(*lines)
    COMM.Abort(1)
    os._exit(1)


def die_all(log: Rsl, lines: list[str]) -> NoReturn:
    """An error every rank reports (missing input, size mismatch): each calls MPI_Abort(1)."""
    log.out(*lines)
    rank = COMM.Get_rank()
    if rank != 0:
        # MPICH prints this for each aborting rank, but rank 0's abort kills the others first
        log.err(
            f"Abort(1) on node {rank} (rank {rank} in comm 0): "
            f"application called MPI_Abort(MPI_COMM_WORLD, 1) - process {rank}"
        )
    barrier(timeout=5.0)
    if rank != 0:
        park()
    COMM.Abort(1)
    os._exit(1)


def die_by_signal(log: Rsl, signum: int) -> NoReturn:
    log.err(*fmt.signal_report(signum, os.getpid()))
    barrier(timeout=5.0)
    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    time.sleep(5)
    os._exit(128 + signum)


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
