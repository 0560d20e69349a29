"""The simulator's rsl.out.NNNN / rsl.error.NNNN writer and WRF's exact line formats."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime

from localrun.wrf.namelist import wrf_time

DASHES = "-------------------------------------------"
STARS = " *************************************"
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class Rsl:
    """One rank's pair of log files, written a whole line per write(2) so tailers see lines.

    Like WRF, rsl.error gets every message plus what the process writes to stderr (MPICH's
    MPI_Abort line, the gfortran-style signal report); fds 1 and 2 are pointed at the files.
    """

    def __init__(self, rank: int, directory: str = ".") -> None:
        self.rank = rank
        self._out = os.open(os.path.join(directory, f"rsl.out.{rank:04d}"), _FLAGS, 0o644)
        self._err = os.open(os.path.join(directory, f"rsl.error.{rank:04d}"), _FLAGS, 0o644)
        os.dup2(self._out, 1)
        os.dup2(self._err, 2)

    def out(self, *lines: str) -> None:
        """A WRF message: both files."""
        for line in lines:
            data = (line + "\n").encode()
            os.write(self._out, data)
            os.write(self._err, data)

    def err(self, *lines: str) -> None:
        """stderr only: debug prints, runtime errors."""
        for line in lines:
            os.write(self._err, (line + "\n").encode())

    def root(self, *lines: str) -> None:
        """A message only rank 0 prints (Timing lines, file names)."""
        if self.rank == 0:
            self.out(*lines)


def fatal(line: int, messages: Iterable[str]) -> list[str]:
    return [
        "-------------- FATAL CALLED ---------------",
        f"FATAL CALLED FROM FILE:  <stdin>  LINE:{line:8d}",
        *messages,
        DASHES,
    ]


def cannot_open(name: str) -> tuple[int, list[str]]:
    """The FATAL line and message when wrf.exe cannot open an input (mediation_wrfmain.F)."""
    if name.startswith("wrfrst_"):
        # '("program wrf: error opening ",A32," for reading")': the name right-aligned in 32
        return 146, [f"program wrf: error opening {name[:32]:>32} for reading"]
    return 70, [f" program wrf: error opening {name} for reading ierr=       -1021"]


def quilt_read_error(group: str) -> list[str]:
    """module_io_quilt_old.F's FATAL when its READ of &namelist_quilt or &domains fails."""
    return fatal(6910, [f"ERROR reading namelist {group}"])


def timing_main(moment: datetime, domain: int, seconds: float, dt: float | None = None) -> str:
    prefix = "Timing for main" if dt is None else f"Timing for main (dt={dt:6.2f})"
    return (
        f"{prefix}: time {wrf_time(moment)} on domain {domain:3d}:{seconds:11.5f} elapsed seconds"
    )


def timing_for(what: str, domain: int, seconds: float) -> str:
    return f"Timing for {what} for domain {domain:8d}:{seconds:11.5f} elapsed seconds"


def starting_task(rank: int, size: int) -> str:
    return f" starting wrf task {rank:12d}  of {size:12d}"


def quilting(groups: int, tasks: int) -> list[str]:
    return [f"Quilting with {groups:3d} groups of {tasks:3d} I/O tasks."]


def ntasks(nproc_x: int, nproc_y: int) -> str:
    return f" Ntasks in X {nproc_x:12d} , ntasks in Y {nproc_y:12d}"


def dx_line(domain: int, dx: float) -> str:
    return f"  Domain #{domain:2d}: dx = {dx:9.3f} m"


def banner() -> list[str]:
    return [
        "WRF V4.7.1 MODEL",
        "git commit f15568ccc1447780e3bd664b9f0196edd784bf33 "
        "1 file changed, 1 insertion(+), 1 deletion(-)",
    ]


def dims_line(label: str, a: int, b: int, c: int, d: int) -> str:
    return f" {label} {a:12d}{b:12d}{c:12d}{d:12d}"


def alloc_line(domain: int, nbytes: int, moment: datetime | None = None) -> str:
    text = f"  alloc_space_field: domain {domain:12d} ,{nbytes:22d}  bytes allocated"
    return f"d01 {wrf_time(moment)}{text}" if moment is not None else f" {text}"


def dates(current: datetime, start: datetime) -> list[str]:
    return [
        f" CURRENT DATE          = {wrf_time(current)}",
        f" SIMULATION START DATE = {wrf_time(start)}",
    ]


def max_map_factor(domain: int, factor: float) -> str:
    return (
        f"Max map factor in domain {domain} = {factor:5.2f}. Scale the dt in the model accordingly."
    )


def history_debug(domain: int) -> list[str]:
    return [
        f" mediation_integrate.G{1249:12d} DATASET=HISTORY",
        f" mediation_integrate.G{1250:12d}  grid%id {domain:12d}  grid%oid {1:12d}",
    ]


def tiles(ips: int, ipe: int, jps: int, jpe: int) -> list[str]:
    return [
        " Tile Strategy is not specified. Assuming 1D-Y",
        f"WRF TILE {1:3d} IS {ips:6d} IE {ipe:6d} JS {jps:6d} JE {jpe:6d}",
        f"WRF NUMBER OF TILES = {1:3d}",
    ]


def w_damping(moment: datetime) -> list[str]:
    stamp = f"d01 {wrf_time(moment)}  "
    rule = stamp + "-" * 40
    return [rule, stamp + "W-DAMPING  BEGINS AT W-COURANT NUMBER =    1.00000000", rule]


def success(moment: datetime) -> str:
    return f"d01 {wrf_time(moment)} wrf: SUCCESS COMPLETE WRF"


def _f7(value: float) -> str:
    text = f"{value:7.2f}"
    return "*******" if len(text) > 7 else text


def cfl_lines(
    domain: int, moment: datetime, points: int, where: tuple[int, int, int], w: float, wcfl: float
) -> list[str]:
    tag, stamp = f"d{domain:02d}", wrf_time(moment)
    i, j, k = where
    exceeded = f"points exceeded v_cfl = 2 in domain {tag} at time {stamp} hours"
    where_text = f"Max   W: {i:6d} {j:6d} {k:6d}"
    return [
        f"{tag} {stamp} {points:12d}  {exceeded}",
        f"{tag} {stamp} {where_text} W: {_f7(w)}  w-cfl: {_f7(wcfl)}  dETA: {_f7(0.02)}",
    ]


def backtrace(frames: int, seed: int) -> list[str]:
    """gfortran's backtrace shape; the addresses mean nothing (there is no Fortran here)."""
    base = 0x7F0000000000 + (seed % 0xFFFFF) * 0x1000
    return [f"#{n}  0x{base + 0x218C2 + n * 0x1F3:x} in ???" for n in range(frames)]


def signal_report(signum: int, seed: int) -> list[str]:
    names = {
        11: "SIGSEGV: Segmentation fault - invalid memory reference.",
        6: "SIGABRT: Process abort signal.",
    }
    lines = ["free(): invalid size"] if signum == 6 else []
    report = f"Program received signal {names[signum]}"
    return [*lines, "", report, "", "Backtrace for this error:", *backtrace(8, seed)]


def missing_namelist(seed: int) -> list[str]:
    return [
        "At line 5799 of file module_dm.f90 (unit = 27)",
        "Fortran runtime error: Cannot open file 'namelist.input': No such file or directory",
        "",
        "Error termination. Backtrace:",
        *backtrace(6, seed),
    ]
