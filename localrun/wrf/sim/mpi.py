"""MPI exchanges that never spin: MPICH busy-waits in blocking calls, so poll and sleep instead."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from mpi4py import MPI

from localrun.wrf.sim.grid import Array, Patch

COMM: Any = MPI.COMM_WORLD
_HALO_TAG, _GATHER_TAG = 100, 200


def wait_all(requests: list[Any], timeout: float | None = None) -> bool:
    """Wait for every request, sleeping between polls; False if the timeout ran out first."""
    deadline = None if timeout is None else time.monotonic() + timeout
    pause = 0.00005
    while not MPI.Request.Testall(requests):
        if deadline is not None and time.monotonic() > deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.001)
    return True


def barrier(timeout: float | None = None) -> bool:
    return wait_all([COMM.Ibarrier()], timeout)


def allreduce_max(value: float) -> float:
    send, recv = np.array([value]), np.zeros(1)
    wait_all([COMM.Iallreduce(send, recv, op=MPI.MAX)])
    return float(recv[0])


def halo_exchange(state: Array, patch: Patch) -> None:
    """Swap one-cell edges with the four neighbours (any that exist)."""
    sides = (
        (patch.west, (slice(None), slice(1, -1), 1), (slice(None), slice(1, -1), 0), 0),
        (patch.east, (slice(None), slice(1, -1), -2), (slice(None), slice(1, -1), -1), 1),
        (patch.south, (slice(None), 1, slice(1, -1)), (slice(None), 0, slice(1, -1)), 2),
        (patch.north, (slice(None), -2, slice(1, -1)), (slice(None), -1, slice(1, -1)), 3),
    )
    requests, landings = [], []
    for neighbour, inner, halo, side in sides:
        if neighbour is None:
            continue
        outgoing = np.ascontiguousarray(state[inner])
        incoming = np.empty_like(outgoing)
        # the neighbour's east edge arrives on my west side: tag by the side it is sent to
        requests.append(COMM.Isend(outgoing, dest=neighbour, tag=_HALO_TAG + (side ^ 1)))
        requests.append(COMM.Irecv(incoming, source=neighbour, tag=_HALO_TAG + side))
        landings.append((halo, incoming, outgoing))
    wait_all(requests)
    for halo, incoming, _ in landings:
        state[halo] = incoming


def gather(block: Array, patches: list[Patch], full_shape: tuple[int, ...]) -> Array | None:
    """Assemble every rank's (..., ny, nx) block on rank 0; None elsewhere."""
    rank = COMM.Get_rank()
    block = np.ascontiguousarray(block, dtype=np.float32)
    if rank != 0:
        wait_all([COMM.Isend(block, dest=0, tag=_GATHER_TAG)])
        return None
    full = np.zeros(full_shape, dtype=np.float32)
    lead = full_shape[:-2]
    buffers = [np.empty((*lead, *p.shape), dtype=np.float32) for p in patches[1:]]
    requests = [
        COMM.Irecv(buf, source=p.rank, tag=_GATHER_TAG)
        for buf, p in zip(buffers, patches[1:], strict=True)
    ]
    wait_all(requests)
    for buf, p in zip([block, *buffers], patches, strict=True):
        full[(..., *p.mass)] = buf
    return full
