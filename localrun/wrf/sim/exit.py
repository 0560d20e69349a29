"""How a simulator rank stops: WRF's MPI_Abort paths, a signal death, a silent hang."""

from __future__ import annotations

import os
import resource
import signal
import time
from typing import NoReturn

from localrun.wrf.sim import log as fmt
from localrun.wrf.sim.log import Rsl
from localrun.wrf.sim.mpi import COMM, barrier


def sleep_until(deadline: float) -> None:
    remaining = deadline - time.perf_counter()
    if remaining > 0:
        time.sleep(remaining)


def hang() -> NoReturn:
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
