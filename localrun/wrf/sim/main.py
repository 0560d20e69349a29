"""A stand-in for wrf.exe: an MPI program that behaves like WRF as localrun's daemon sees it.

Run it like WRF, `mpiexec -np N localrun-wrf-sim`, in a directory holding namelist.input and
wrfinput_d01. It refuses what WRF refuses with WRF's messages and exit codes, writes rsl.out.NNNN
and rsl.error.NNNN per rank in WRF's formats, wrfout/wrfrst netCDF files at their model times,
splits real numpy work over the ranks (paced by WRF.md §7's cost model), dies by a signal on a
CFL blow-up, and ends with WRF's SUCCESS line. Knobs for testing clients (the &localrun_simulator
group, or LOCALRUN_SIM_SPEED, LOCALRUN_SIM_FAIL_AT, LOCALRUN_SIM_HANG_AT, LOCALRUN_SIM_COST_US):
speed, fail_at_percent, hang_at_percent, cost_us (µs per grid-point-step per core at speed 1).
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
import traceback
from datetime import datetime
from pathlib import Path

import f90nml

from localrun.wrf.decomposition import Layout, layout, patch_problem
from localrun.wrf.namelist import Case, Domain, NamelistError, read_case, wrf_time
from localrun.wrf.sim import log as fmt
from localrun.wrf.sim.cost import RESTART_US
from localrun.wrf.sim.domains import DomainRun, build_runs, calibrate
from localrun.wrf.sim.exit import die_all, die_root, park, sleep_until
from localrun.wrf.sim.grid import Patch, patches, per_domain, split
from localrun.wrf.sim.log import STARS, Rsl
from localrun.wrf.sim.mpi import COMM, barrier
from localrun.wrf.sim.namelist import (
    KnobError,
    Knobs,
    error_lines,
    namelist_errors,
    namelist_output,
    read_knobs,
)
from localrun.wrf.sim.output import read_restart, size_mismatches
from localrun.wrf.sim.run import Integration
from localrun.wrf.typos import QUILT_READ_GROUPS

INPUT_US = 0.5  # reading an input or restart file, per grid point (restart: RESTART_US)


def main() -> None:
    run_program(Startup)


def run_program(program: type[Startup]) -> None:
    """One rank of a WRF program (wrf.exe, ideal.exe): its rsl files, and an abort of every
    rank on an error of the simulator's own."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    rank, size = COMM.Get_rank(), COMM.Get_size()
    sys.stderr.write(fmt.starting_task(rank, size) + "\n")
    sys.stderr.flush()
    log = Rsl(rank)
    try:
        program(log, rank, size).run()
    except Exception as exc:
        log.err(*traceback.format_exc().splitlines())
        log.out(*fmt.fatal(1, [f" localrun simulator: internal error: {exc!r}"]))
        COMM.Abort(1)
    sys.exit(0)


class Startup:
    """Everything wrf.exe does before its first time step, with its refusals."""

    def __init__(self, log: Rsl, rank: int, size: int) -> None:
        self.log, self.rank, self.size = log, rank, size
        self.knobs = Knobs()

    def run(self) -> None:
        self.log.out(f"taskid: {self.rank} hostname: {socket.gethostname()}")
        barrier(timeout=30.0)  # every rank has its rsl files before anything can go wrong
        text = self.namelist_text()
        self.log.err(f" module_io_quilt_old.F{2931:12d} F")
        self.quilt_read(text)
        self.log.out(*fmt.quilting(*_quilt(text)))
        case, self.knobs = self.read(text)
        lay = self.decompose(case)
        self.log.out(*[fmt.dx_line(d.id, d.dx) for d in case.domains], *fmt.banner())
        self.log.err(f" localrun-wrf-sim: standing in for wrf.exe, speed {self.knobs.speed:g}")
        sim_start = self.parent_input(case, lay)
        runs = build_runs(case, lay, self.knobs, sim_start)
        self.load_restart_states(case, runs)
        self.log.out(fmt.max_map_factor(1, 0.0))
        for run in runs[1:]:
            self.nest_lines(case, run)
        calibrate(runs)
        Integration(self.log, case, self.knobs, runs, sim_start).run()

    def namelist_text(self) -> str:
        path = Path("namelist.input")
        if path.is_file():
            return path.read_text(errors="replace")
        if self.rank != 0:
            park()
        self.log.err(*fmt.missing_namelist(os.getpid()))
        os._exit(2)

    def quilt_read(self, text: str) -> None:
        """A dmpar wrf.exe reads &namelist_quilt, then &domains, on rank 0 before anything else;
        a failed READ there stops it without WRF's usual "Maybe here?" lines."""
        failed = {e.group for e in namelist_errors(text)}
        for group in QUILT_READ_GROUPS:
            if group in failed:
                die_root(self.log, fmt.quilt_read_error(group))

    def read(self, text: str) -> tuple[Case, Knobs]:
        errors = namelist_errors(text)
        if errors:
            message = "ERRORS while reading one or more namelists from namelist.input."
            die_root(self.log, [*error_lines(errors), *fmt.fatal(11700, [message])])
        try:
            case = read_case(text)
            knobs = read_knobs(case.raw)
        except (NamelistError, KnobError) as exc:
            die_root(self.log, fmt.fatal(11700, [str(exc)]))
        if self.rank == 0:
            Path("namelist.output").write_text(namelist_output(case.raw))
        return case, knobs

    def decompose(self, case: Case) -> Layout:
        lay = layout(self.size, case.nproc_x, case.nproc_y)
        if lay.nproc_x * lay.nproc_y != self.size:
            message = (
                f" nproc_x * nproc_y = {lay.nproc_x} * {lay.nproc_y} is not the number of "
                f"MPI tasks ({self.size})"
            )
            die_root(self.log, fmt.fatal(2830, [message]))
        self.log.out(fmt.ntasks(lay.nproc_x, lay.nproc_y))
        problems = [p for d in case.domains if (p := patch_problem(d, lay)) is not None]
        if problems:
            lines = [fmt.dx_line(d.id, d.dx) for d in case.domains]
            for p in problems:
                lines += _too_small(p.domain, p.e_we, p.e_sn, lay, p.cells_x, p.cells_y)
            note = f"NOTE: {len(problems):7d} namelist settings are wrong. "
            note += "Please check and reset these options"
            die_root(self.log, [*lines, *fmt.fatal(2830, [note])])
        return lay

    def parent_input(self, case: Case, lay: Layout) -> datetime:
        """Open domain 1's input (wrfinput_d01, or wrfrst at the start time); its start date."""
        first = case.domains[0]
        self.log.out(*self.patch_lines("Parent domain", first, lay))
        self.log.out("DYNAMICS OPTION: Eulerian Mass Coordinate")
        self.log.out(fmt.alloc_line(1, _alloc_bytes(first, lay)))
        if case.restart:
            return self.restart_input(case, first)
        began = time.perf_counter()
        self.require("wrfinput_d01")
        self.log.out("  med_initialdata_input: calling input_input")
        self.open_input(case, first, "wrfinput_d01")
        self.log.out(*fmt.dates(case.start, case.start))
        self.pace_input(began, "processing wrfinput file (stream 0)", first, INPUT_US)
        if case.boundaries_specified:
            self.require("wrfbdy_d01")
        return case.start

    def restart_input(self, case: Case, domain: Domain) -> datetime:
        name = f"wrfrst_d{domain.id:02d}_{wrf_time(case.start)}"
        began = time.perf_counter()
        self.log.out(f" RESTART run: opening {name} for reading")
        self.open_input(case, domain, name)
        found = read_restart(Path(name), slice(0, 1), slice(0, 1))
        self.pace_input(began, "processing restart file", domain, RESTART_US)
        # a placeholder file: keep the history rhythm from midnight of the start day
        return found[1] if found else case.start.replace(hour=0, minute=0, second=0)

    def open_input(self, case: Case, domain: Domain, name: str) -> None:
        self.require(name)
        accepted = "   Input data is acceptable to use:"
        self.log.out(f"{accepted} {name}" if self.rank == 0 else accepted)
        mismatches = size_mismatches(domain, Path(name))
        if not mismatches:
            return
        lines = []
        for name_, expected, attribute, found in mismatches:
            lines += [
                _mismatch(f"namelist {name_}", expected),
                _mismatch(f"input file {attribute}", found),
            ]
        lines += ["  ---- ERROR: Mismatch between namelist and input file dimensions"]
        lines += fmt.dates(case.start, case.start)
        lines += [f"NOTE: {len(mismatches):7d} namelist vs input data inconsistencies found."]
        die_all(
            self.log, [*lines, *fmt.fatal(1307, ["NOTE:  Please check and reset these options"])]
        )

    def require(self, name: str) -> None:
        if not Path(name).exists():
            line, message = fmt.cannot_open(name)
            die_all(self.log, fmt.fatal(line, message))

    def pace_input(self, began: float, what: str, domain: Domain, cost_us: float) -> None:
        if self.rank != 0:
            return
        sleep_until(began + cost_us * 1e-6 * domain.points / self.knobs.speed)
        self.log.out(fmt.timing_for(what, domain.id, time.perf_counter() - began))

    def load_restart_states(self, case: Case, runs: list[DomainRun]) -> None:
        if not case.restart:
            return
        for run in runs:
            name = f"wrfrst_d{run.domain.id:02d}_{wrf_time(case.start)}"
            if run.domain.id > 1:
                self.log.out(f" RESTART run: opening {name} for reading")
                self.open_input(case, run.domain, name)
            j, i = run.patch.mass
            found = read_restart(Path(name), j, i)
            if found is not None and found[0].shape == run.state[:, 1:-1, 1:-1].shape:
                run.state[:, 1:-1, 1:-1] = found[0]

    def nest_lines(self, case: Case, run: DomainRun) -> None:
        d, lay = run.domain, _layout_of(run.patches)
        lines = self.patch_lines("Nesting domain", d, lay)
        self.log.out(*lines[:-1], *_intermediate(case, d, lay, self.rank), STARS)
        stamp = case.start
        nbytes = _alloc_bytes(d, lay)
        self.log.out(fmt.alloc_line(d.id, nbytes // 10, stamp), fmt.alloc_line(d.id, nbytes, stamp))
        if case.restart:
            return
        name = f"wrfinput_d{d.id:02d}"
        how = f"by horizontally interpolating parent domain #{d.parent_id:2d}"
        if name in case.required_inputs:
            self.open_input(case, d, name)
            how = "from an input file"
        self.log.out(f"d01 {wrf_time(stamp)} *** Initializing nest domain #{d.id:2d} {how}. ***")
        self.log.out(fmt.max_map_factor(1, 0.0))

    def patch_lines(self, title: str, domain: Domain, lay: Layout) -> list[str]:
        mine = patches(domain, lay)[self.rank]
        return [
            STARS,
            f" {title}",
            fmt.dims_line("ids,ide,jds,jde", 1, domain.e_we, 1, domain.e_sn),
            fmt.dims_line("ims,ime,jms,jme", *mine.memory()),
            fmt.dims_line("ips,ipe,jps,jpe", mine.ips, mine.ipe, mine.jps, mine.jpe),
            STARS,
        ]


def _quilt(text: str) -> tuple[int, int]:
    try:
        group = f90nml.reads(text).get("namelist_quilt", {})
        return int(group.get("nio_groups", 1)), int(group.get("nio_tasks_per_group", 0))
    except Exception:
        return 1, 0


def _too_small(domain: int, e_we: int, e_sn: int, lay: Layout, cx: int, cy: int) -> list[str]:
    return [
        f"   For domain {domain:12d} , the domain size is too small for this many processors, "
        "or the decomposition aspect ratio is poor.",
        "   Minimum decomposed computational patch size, either x-dir or y-dir, is 10 grid cells.",
        f"  e_we = {e_we:5d}, nproc_x = {lay.nproc_x:4d}, with cell width in x-direction = {cx:4d}",
        f"  e_sn = {e_sn:5d}, nproc_y = {lay.nproc_y:4d}, with cell width in y-direction = {cy:4d}",
        "  --- ERROR: Reduce the MPI rank count, or redistribute the tasks.",
    ]


def _intermediate(case: Case, d: Domain, lay: Layout, rank: int) -> list[str]:
    index = d.id - 1
    i0 = int(per_domain(case.raw, "domains", "i_parent_start", index) or 1)
    j0 = int(per_domain(case.raw, "domains", "j_parent_start", index) or 1)
    ratio = max(1, d.parent_grid_ratio)
    ids, ide = i0 - 2, i0 + (d.e_we - 1) // ratio + 3
    jds, jde = j0 - 2, j0 + (d.e_sn - 1) // ratio + 3
    xs = split(ide - ids + 1, lay.nproc_x)[rank % lay.nproc_x]
    ys = split(jde - jds + 1, lay.nproc_y)[rank // lay.nproc_x]
    ips, ipe, jps, jpe = ids + xs[0] - 1, ids + xs[1] - 1, jds + ys[0] - 1, jds + ys[1] - 1
    return [
        " INTERMEDIATE domain",
        fmt.dims_line("ids,ide,jds,jde", ids, ide, jds, jde),
        fmt.dims_line("ims,ime,jms,jme", ips - 3, ipe + 3, jps - 3, jpe + 3),
        fmt.dims_line("ips,ipe,jps,jpe", ips, ipe, jps, jpe),
    ]


def _layout_of(parts: list[Patch]) -> Layout:
    columns = len({p.ips for p in parts})
    return Layout(len(parts), columns, len(parts) // columns)


def _alloc_bytes(domain: Domain, lay: Layout) -> int:
    px = -(-domain.e_we // lay.nproc_x) + 12
    py = -(-domain.e_sn // lay.nproc_y) + 12
    return 600 * px * py * domain.e_vert


def _mismatch(label: str, value: int) -> str:
    return f"   input_wrf.F: SIZE MISMATCH:  {label:<38}={value:13d}"
