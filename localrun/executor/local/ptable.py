"""Who is whose child, read from /proc once for all the runs sampled together.

psutil's children(recursive=True) reads the parent of every process on the machine; called for
each run at each tick it was most of the daemon's CPU while it watched 16 runs. One snapshot,
kept for a fraction of a tick, serves the whole tick."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

FRESH_S = 0.5  # a tick samples every run within a fraction of it; a new process waits a tick


def read_parents(proc: str = "/proc") -> dict[int, list[int]]:
    """Each process's children, from the fourth field of /proc/<pid>/stat (psutil's
    process_iter builds and checks a Process object per process: four times the cost)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir(proc):
        if not name.isdigit():
            continue
        try:
            with open(f"{proc}/{name}/stat", "rb") as stat:
                data = stat.read()
        except OSError:  # it ended meanwhile
            continue
        fields = data[data.rfind(b")") + 2 :].split(b" ", 2)  # the name may hold ")" or " "
        children.setdefault(int(fields[1]), []).append(int(name))
    return children


class ProcessTable:
    def __init__(
        self,
        read: Callable[[], dict[int, list[int]]] = read_parents,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._clock = clock
        self._children: dict[int, list[int]] = {}
        self._read_at = float("-inf")

    def descendants(self, pid: int) -> list[int]:
        """Every process below pid, as of a snapshot at most FRESH_S old, parents first."""
        now = self._clock()
        if now - self._read_at > FRESH_S:
            self._children = self._read()
            self._read_at = now
        found: list[int] = []
        below = list(self._children.get(pid, ()))
        seen = {pid}
        while below:
            child = below.pop(0)
            if child in seen:
                continue
            seen.add(child)
            found.append(child)
            below.extend(self._children.get(child, ()))
        return found

    def forget(self) -> None:
        """The next question reads /proc again (after a launch or a signal)."""
        self._read_at = float("-inf")
