"""The machine's processes as one read of /proc: each one's parent, group and start time.

psutil's children(recursive=True) reads the parent of every process on the machine, and a scan
for what a run left behind built a psutil.Process per process; called for each run at each
tick, or at each run's end, they were most of the daemon's CPU while it watched 16 runs or
finished 20 short jobs a second. One snapshot, kept for a fraction of a tick, serves them all."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

FRESH_S = 0.5  # a tick samples every run within a fraction of it; a new process waits a tick
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Stat:
    parent: int
    group: int
    created: float  # epoch seconds, as psutil's create_time() gives


def read_table(proc: str = "/proc", booted: float | None = None) -> dict[int, Stat]:
    """Every process, from the fields of /proc/<pid>/stat after the name: state, ppid,
    pgrp, ..., starttime (the 22nd field, in clock ticks since boot)."""
    boot = psutil.boot_time() if booted is None else booted
    table: dict[int, Stat] = {}
    for name in os.listdir(proc):
        if not name.isdigit():
            continue
        try:
            with open(f"{proc}/{name}/stat", "rb") as stat:
                data = stat.read()
        except OSError:  # it ended meanwhile
            continue
        fields = data[data.rfind(b")") + 2 :].split()  # the name may hold ")" or " "
        try:
            started = boot + int(fields[19]) / TICKS_PER_S
            table[int(name)] = Stat(int(fields[1]), int(fields[2]), started)
        except (IndexError, ValueError):
            continue
    return table


class ProcessTable:
    def __init__(
        self,
        read: Callable[[], dict[int, Stat]] = read_table,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._clock = clock
        self._table: dict[int, Stat] = {}
        self._children: dict[int, list[int]] = {}
        self._read_at = float("-inf")

    def snapshot(self) -> dict[int, Stat]:
        """The processes as of a read at most FRESH_S old."""
        now = self._clock()
        if now - self._read_at > FRESH_S:
            self._table = self._read()
            self._children = {}
            for pid, stat in self._table.items():
                self._children.setdefault(stat.parent, []).append(pid)
            self._read_at = now
        return self._table

    def descendants(self, pid: int) -> list[int]:
        """Every process below pid, parents first."""
        self.snapshot()
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

    def started_since(self, moment: float) -> dict[int, Stat]:
        """The processes started at or after moment (epoch seconds)."""
        return {pid: stat for pid, stat in self.snapshot().items() if stat.created >= moment}

    def forget(self) -> None:
        """The next question reads /proc again (when a run's end must see what is left)."""
        self._read_at = float("-inf")
