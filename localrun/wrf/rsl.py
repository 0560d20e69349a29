"""Follow rank 0's rsl.out.0000 by byte offset: steps, model time, step and write times."""

from __future__ import annotations

import os
import re
import statistics
from array import array
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from localrun.wrf.namelist import parse_wrf_time, wrf_time

TIMING = re.compile(
    r"^Timing for main(?: \(dt=\s*([\d.]+)\))?: time (\S+) on domain\s+(\d+):"
    r"\s+([\d.]+) elapsed seconds"
)
WRITING = re.compile(
    r"^Timing for Writing (?:(\S+) for domain|restart for domain)\s+(\d+):"
    r"\s+([\d.]+) elapsed seconds"
)
SUCCESS = "SUCCESS COMPLETE WRF"
RECENT_STEPS = 50
READ_BLOCK = 1 << 20
MIN_STEPS_FOR_RATE = 10


@dataclass
class DomainLog:
    """What the log says about one domain so far."""

    domain: int
    steps: int = 0
    model_time: datetime | None = None
    total_s: float = 0.0
    min_s: float | None = None
    max_s: float | None = None
    all_s: array[float] = field(default_factory=lambda: array("d"))
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_STEPS))
    recent_dt: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_STEPS))
    writes: int = 0
    write_s: float = 0.0
    restart_writes: int = 0

    def add_step(self, when: datetime, seconds: float, dt: float | None) -> None:
        self.steps += 1
        self.model_time = when
        self.total_s += seconds
        self.min_s = seconds if self.min_s is None else min(self.min_s, seconds)
        self.max_s = seconds if self.max_s is None else max(self.max_s, seconds)
        self.recent.append(seconds)
        self.all_s.append(seconds)
        if dt is not None:
            self.recent_dt.append(dt)

    @property
    def median_s(self) -> float | None:
        """Median of the recent steps: what the next steps will cost."""
        return statistics.median(self.recent) if self.recent else None

    @property
    def median_all_s(self) -> float | None:
        return statistics.median(self.all_s) if self.all_s else None

    @property
    def mean_s(self) -> float | None:
        return self.total_s / self.steps if self.steps else None


@dataclass(frozen=True)
class DomainProgress:
    domain: int
    percent: float
    model_time: datetime | None
    steps: int


@dataclass(frozen=True)
class Progress:
    """percent is domain 1's: its Timing value already pays for the nests' steps."""

    percent: float
    model_time: datetime | None
    remaining_s: float | None
    domains: tuple[DomainProgress, ...]


class RslReader:
    """Reads only the bytes appended since the last poll; cost follows the new bytes."""

    def __init__(self, work_dir: Path, offset: int = 0, name: str = "rsl.out.0000") -> None:
        self.path = work_dir / name
        self.offset = offset
        self._partial = b""
        self.domains: dict[int, DomainLog] = {}
        self.succeeded = False

    def poll(self) -> int:
        """Read what was appended; returns how many new Timing-for-main lines it held."""
        if not self.path.exists():
            return 0
        new_steps = 0
        with open(self.path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size < self.offset:  # the file was replaced (e.g. a rerun): start over
                self.offset, self._partial = 0, b""
            handle.seek(self.offset)
            while chunk := handle.read(READ_BLOCK):
                self.offset += len(chunk)
                lines = (self._partial + chunk).split(b"\n")
                self._partial = lines.pop()
                for line in lines:
                    new_steps += self._line(line.decode("utf-8", "replace"))
        return new_steps

    def _line(self, line: str) -> int:
        match = TIMING.match(line)
        if match:
            dt, when, domain, seconds = match.groups()
            log = self.domains.setdefault(int(domain), DomainLog(int(domain)))
            log.add_step(parse_wrf_time(when), float(seconds), float(dt) if dt else None)
            return 1
        match = WRITING.match(line)
        if match:
            name, domain, seconds = match.groups()
            log = self.domains.setdefault(int(domain), DomainLog(int(domain)))
            if name is None:
                log.restart_writes += 1
            else:
                log.writes += 1
                log.write_s += float(seconds)
        elif SUCCESS in line:
            self.succeeded = True
        return 0

    def steps(self, domain: int = 1) -> int:
        log = self.domains.get(domain)
        return log.steps if log else 0

    def median_step(self, domain: int = 1) -> float | None:
        log = self.domains.get(domain)
        return log.median_s if log else None

    def progress(self, bounds: dict[int, tuple[datetime, datetime]]) -> Progress:
        """Per-domain progress from the namelist's start and end; time left after 10 steps."""
        domains = tuple(
            DomainProgress(
                d, _fraction(self.domains.get(d), s, e) * 100, _time(self, d), _n(self, d)
            )
            for d, (s, e) in sorted(bounds.items())
        )
        if self.succeeded and domains:
            domains = tuple(DomainProgress(p.domain, 100.0, p.model_time, p.steps) for p in domains)
        percent = domains[0].percent if domains else 0.0
        return Progress(percent, _time(self, 1), self._remaining(bounds), domains)

    def _remaining(self, bounds: dict[int, tuple[datetime, datetime]]) -> float | None:
        root = self.domains.get(1)
        if self.succeeded:
            return 0.0
        if root is None or root.steps < MIN_STEPS_FOR_RATE or 1 not in bounds:
            return None
        start, end = bounds[1]
        now = root.model_time or start
        left_s = max(0.0, (end - now).total_seconds())
        if root.recent_dt:
            dt = statistics.fmean(root.recent_dt)
        else:
            done = (now - start).total_seconds()
            dt = done / root.steps if root.steps and done > 0 else 0.0
        if dt <= 0:
            return None
        median = root.median_s or 0.0
        return left_s / dt * median


def progress_json(progress: Progress) -> dict[str, Any]:
    """The JSON form every API and `inspect` show (WRF's own date format)."""
    return {
        "percent": round(progress.percent, 2),
        "model_time": wrf_time(progress.model_time) if progress.model_time else None,
        "domains": [
            {
                "domain": d.domain,
                "percent": round(d.percent, 2),
                "model_time": wrf_time(d.model_time) if d.model_time else None,
                "steps": d.steps,
            }
            for d in progress.domains
        ],
    }


def _fraction(log: DomainLog | None, start: datetime, end: datetime) -> float:
    if log is None or log.model_time is None:
        return 0.0
    total = (end - start).total_seconds()
    if total <= 0:
        return 1.0
    return min(1.0, max(0.0, (log.model_time - start).total_seconds() / total))


def _time(reader: RslReader, domain: int) -> datetime | None:
    log = reader.domains.get(domain)
    return log.model_time if log else None


def _n(reader: RslReader, domain: int) -> int:
    return reader.steps(domain)
