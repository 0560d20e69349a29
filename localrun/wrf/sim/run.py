"""The simulator's time loop: paced steps on every rank, nests, outputs, and how it ends."""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from localrun.wrf.namelist import Case, Domain, wrf_time
from localrun.wrf.sim import grid as grid
from localrun.wrf.sim import log as fmt
from localrun.wrf.sim.cost import HISTORY_US, RESTART_US, storm_factor
from localrun.wrf.sim.domains import DomainRun
from localrun.wrf.sim.exit import die_all, die_by_signal, hang, sleep_until
from localrun.wrf.sim.log import Rsl
from localrun.wrf.sim.mpi import COMM, barrier, gather, halo_exchange
from localrun.wrf.sim.namelist import Knobs
from localrun.wrf.sim.output import Frame, HistoryFiles, write_restart

# time_step / (6 dx[km]) from which WRF logs CFL warnings, blows up, blows up at once
# (WRF.md §9: dx 2 km, time_step 22 and 23 warn and succeed, 24 aborts, 40 segfaults)
WARNS, STABLE, SLOW_BLOWUP = 1.8, 2.0, 2.75
WARNING_EVERY = 10  # steps between CFL warnings of a run that survives them
_EPS = 1e-6


@dataclass(frozen=True)
class Blowup:
    domain: int
    signum: int


def _worst(case: Case) -> tuple[Domain, float]:
    worst = max(case.domains, key=lambda d: d.time_step / max(6.0 * d.dx / 1000.0, _EPS))
    return worst, worst.time_step / max(6.0 * worst.dx / 1000.0, _EPS)


def blowup(case: Case) -> Blowup | None:
    """Whether, and how, a fixed time step this far above 6 s per km of dx blows the run up."""
    if case.adaptive:
        return None
    worst, ratio = _worst(case)
    if ratio < STABLE:
        return None
    return Blowup(worst.id, signal.SIGABRT if ratio < SLOW_BLOWUP else signal.SIGSEGV)


def warned(case: Case) -> tuple[int, float] | None:
    """(domain, how close to blowing up, 0..1) for a time step that WRF survives with warnings."""
    if case.adaptive:
        return None
    worst, ratio = _worst(case)
    if not WARNS <= ratio < STABLE:
        return None
    return worst.id, (ratio - WARNS) / (STABLE - WARNS)


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
        self.warned = warned(case)
        self.total = case.run_seconds
        self.files = HistoryFiles()

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
        self.files.close()
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
        self.solve(run, t1 - t0, self.storm(t0))
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
        if self.warned is not None and self.warned[0] == run.domain.id:
            self.maybe_warn(run, t1, self.warned[1])
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

    def storm(self, offset: float) -> float:
        return storm_factor((self.moment(offset) - self.simulation_start).total_seconds() / 3600)

    def solve(self, run: DomainRun, dt: float, growth: float = 1.0) -> None:
        deadline = time.perf_counter() + run.step_target * growth
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
        frame = run.history.index(_match(run.history, offset))
        per_file = _frames_per_outfile(self.case, d)
        stamp = wrf_time(self.moment(run.history[frame - frame % per_file]))
        name = f"wrfout_d{d.id:02d}_{stamp}"
        index = frame % per_file
        last = index == per_file - 1 or frame == len(run.history) - 1
        self.files.write(Path(name), self.frame(run, offset, full), index, last)
        sleep_until(began + HISTORY_US * 1e-6 * d.points / self.knobs.speed)
        elapsed = time.perf_counter() - began
        self.log.out(fmt.timing_for(f"Writing {name}", d.id, elapsed))

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
        stall, fail = self.knobs.hang_at_percent, self.knobs.fail_at_percent
        if stall is not None and percent >= stall:
            hang()
        if fail is not None and percent >= fail:
            message = (
                f" localrun simulator: failure injected at {percent:.0f}% of the run "
                f"(fail_at_percent = {fail:g})"
            )
            die_all(self.log, fmt.fatal(1, [message]))

    def maybe_warn(self, run: DomainRun, offset: float, closeness: float) -> None:
        """W_DAMP's report of a few columns past v_cfl = 2 that the model then survives."""
        if run.steps % WARNING_EVERY:
            return
        j, i = run.patch.mass
        where = (i.start + (i.stop - i.start) // 3, j.start + (j.stop - j.start) // 3, 18)
        wiggle = (run.steps // WARNING_EVERY * 7 + self.rank * 3) % 10 / 100.0
        points = 1 + (run.steps // WARNING_EVERY + self.rank) % 5
        wcfl = 2.01 + 0.4 * closeness + wiggle
        w = 9.5 + 6.0 * closeness + 10 * wiggle
        self.log.out(*fmt.cfl_lines(run.domain.id, self.moment(offset), points, where, w, wcfl))

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


def _match(times: list[float], offset: float) -> float:
    return min(times, key=lambda x: abs(x - offset))


def _frames_per_outfile(case: Case, d: Domain) -> int:
    """Frames per wrfout file; WRF's Registry default is 10."""
    value = grid.per_domain(case.raw, "time_control", "frames_per_outfile", d.id - 1)
    return max(1, int(value)) if value is not None else 10


def _domain_real(case: Case, name: str, index: int) -> float:
    value = grid.per_domain(case.raw, "domains", name, index)
    return float(value) if value is not None and float(value) > 0 else 0.0
