"""Follow rank 0's rsl.out.0000 by byte offset: steps, model time, step and write times.

WRF writes one `Timing for main` line per time step to rank 0's log, as it happens (WRF.md §2).
`RslReader.poll()` reads only the bytes appended since the previous poll, so a poll costs what the
new bytes cost, whatever the size of the file.
"""

from __future__ import annotations

import io
import os
import re
import statistics
from array import array
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from localrun.wrf.namelist import wrf_time

# WRF.md §2's regex, with the adaptive time step captured too: (dt, time, domain, seconds).
TIMING = re.compile(
    rb"^Timing for main(?: \(dt=\s*([\d.]+)\))?: time (\S+) on domain\s+(\d+):"
    rb"\s+([\d.]+) elapsed seconds"
)
# `Timing for Writing wrfout_d01_<date> for domain 1: …` and `Timing for Writing restart for …`.
WRITING = re.compile(rb"^Timing for Writing (\S+) for domain\s+(\d+):\s+([\d.]+) elapsed seconds")
SUCCESS = b"SUCCESS COMPLETE WRF"
RECENT_STEPS = 50
MIN_STEPS_FOR_RATE = 10
READ_BLOCK = 1 << 20
MAX_LINE = 1 << 16

Bounds = Mapping[int, tuple[datetime, datetime]]


@dataclass
class Tally:
    """Count, sum, min and max of durations in seconds."""

    count: int = 0
    total_s: float = 0.0
    min_s: float | None = None
    max_s: float | None = None

    def add(self, seconds: float) -> None:
        self.count += 1
        self.total_s += seconds
        if self.min_s is None or seconds < self.min_s:
            self.min_s = seconds
        if self.max_s is None or seconds > self.max_s:
            self.max_s = seconds

    @property
    def mean_s(self) -> float | None:
        return self.total_s / self.count if self.count else None


@dataclass(frozen=True)
class StepStats:
    """One domain's `Timing for main` values over every step read, and over the recent ones."""

    count: int
    median_s: float
    mean_s: float
    min_s: float
    max_s: float
    total_s: float
    recent_median_s: float


@dataclass
class DomainLog:
    """What the log says about one domain so far."""

    domain: int
    model_time: datetime | None = None
    step: Tally = field(default_factory=Tally)
    all_s: array[float] = field(default_factory=lambda: array("d"))
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_STEPS))
    recent_dt: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_STEPS))
    writes: Tally = field(default_factory=Tally)
    restart_writes: Tally = field(default_factory=Tally)

    def add_step(self, when: datetime, seconds: float, dt: float | None) -> None:
        """`dt` is the adaptive form's; otherwise the model time advanced since the last line."""
        if dt is None and self.model_time is not None:
            dt = (when - self.model_time).total_seconds()
        if dt is not None and dt > 0:
            self.recent_dt.append(dt)
        self.model_time = when
        self.step.add(seconds)
        self.all_s.append(seconds)
        self.recent.append(seconds)

    def add_write(self, what: bytes, seconds: float) -> None:
        (self.restart_writes if what == b"restart" else self.writes).add(seconds)

    @property
    def steps(self) -> int:
        return self.step.count

    @property
    def total_s(self) -> float:
        return self.step.total_s

    @property
    def min_s(self) -> float | None:
        return self.step.min_s

    @property
    def max_s(self) -> float | None:
        return self.step.max_s

    @property
    def mean_s(self) -> float | None:
        return self.step.mean_s

    @property
    def median_s(self) -> float | None:
        """Median of the recent steps: what the next steps will cost."""
        return statistics.median(self.recent) if self.recent else None

    @property
    def median_all_s(self) -> float | None:
        return statistics.median(self.all_s) if self.all_s else None

    @property
    def mean_dt_s(self) -> float | None:
        """Model seconds per step, over the recent steps (adaptive dt changes as a run goes)."""
        return statistics.fmean(self.recent_dt) if self.recent_dt else None

    def stats(self) -> StepStats | None:
        tally = self.step
        if tally.min_s is None or tally.max_s is None or not self.recent:
            return None
        return StepStats(
            count=tally.count,
            median_s=statistics.median(self.all_s),
            mean_s=tally.total_s / tally.count,
            min_s=tally.min_s,
            max_s=tally.max_s,
            total_s=tally.total_s,
            recent_median_s=statistics.median(self.recent),
        )


@dataclass(frozen=True)
class DomainProgress:
    domain: int
    percent: float
    model_time: datetime | None
    steps: int


@dataclass(frozen=True)
class Progress:
    """Where a run is.

    `percent` is domain 1's: every nest runs inside domain 1's time span, and domain 1's clock is
    the run's clock. `remaining_s` is None until domain 1 has logged MIN_STEPS_FOR_RATE steps
    (then the caller falls back on its estimate), and 0 once WRF printed SUCCESS.
    """

    percent: float
    model_time: datetime | None
    remaining_s: float | None
    domains: tuple[DomainProgress, ...]


class RslReader:
    """Follows one rsl file by byte offset; each poll reads only what was appended.

    `offset` is where the complete lines read so far end: a reader made later with
    `RslReader(work_dir, offset=old.offset)` carries on exactly where `old` stopped (without its
    statistics). A file that shrinks or is replaced by another (a rerun in the same directory) is
    read afresh from its start, with the statistics reset.
    """

    def __init__(self, work_dir: Path, offset: int = 0, name: str = "rsl.out.0000") -> None:
        self.path = work_dir / name
        self.offset = offset
        self.domains: dict[int, DomainLog] = {}
        self.succeeded = False
        self._partial = b""
        self._inode: int | None = None

    def poll(self) -> int:
        """Read what was appended; returns how many new Timing-for-main lines it held."""
        try:
            with open(self.path, "rb") as handle:
                info = os.fstat(handle.fileno())
                if self._replaced(info):
                    self._reset()
                self._inode = info.st_ino
                position = self.offset + len(self._partial)
                handle.seek(position)
                return self._read(handle, info.st_size - position)
        except FileNotFoundError:
            return 0

    def _replaced(self, info: os.stat_result) -> bool:
        other_file = self._inode is not None and info.st_ino != self._inode
        return other_file or info.st_size < self.offset + len(self._partial)

    def _reset(self) -> None:
        self.offset, self._partial = 0, b""
        self.domains, self.succeeded = {}, False

    def _read(self, handle: io.BufferedReader, size: int) -> int:
        """Up to `size` bytes (the size seen at the start of the poll), a block at a time."""
        steps = 0
        while size > 0 and (chunk := handle.read(min(READ_BLOCK, size))):
            size -= len(chunk)
            steps += self._feed(chunk)
        return steps

    def _feed(self, chunk: bytes) -> int:
        data = self._partial + chunk
        end = data.rfind(b"\n") + 1
        self._partial = data[end:]
        self.offset += end
        if len(self._partial) > MAX_LINE:  # no WRF line is this long: skip it, don't hoard it
            self.offset += len(self._partial)
            self._partial = b""
        return self._parse(data[:end])

    def _parse(self, lines: bytes) -> int:
        if SUCCESS in lines:
            self.succeeded = True
        steps = 0
        for line in lines.split(b"\n"):
            if line.startswith(b"Timing for "):
                steps += self._timing_line(line)
        return steps

    def _timing_line(self, line: bytes) -> int:
        if match := TIMING.match(line):
            dt, when, domain, seconds = match.groups()
            moment = _model_time(when)
            if moment is None:
                return 0
            self._log(int(domain)).add_step(moment, float(seconds), float(dt) if dt else None)
            return 1
        if match := WRITING.match(line):
            what, domain, seconds = match.groups()
            self._log(int(domain)).add_write(what, float(seconds))
        return 0

    def _log(self, domain: int) -> DomainLog:
        log = self.domains.get(domain)
        if log is None:
            log = self.domains[domain] = DomainLog(domain)
        return log

    def steps(self, domain: int = 1) -> int:
        log = self.domains.get(domain)
        return log.steps if log else 0

    def median_step(self, domain: int = 1) -> float | None:
        """Median of the domain's recent step times."""
        log = self.domains.get(domain)
        return log.median_s if log else None

    def step_stats(self, domain: int = 1) -> StepStats | None:
        log = self.domains.get(domain)
        return log.stats() if log else None

    def model_time(self, domain: int = 1) -> datetime | None:
        log = self.domains.get(domain)
        return log.model_time if log else None

    def progress(self, bounds: Bounds) -> Progress:
        """Progress per domain from the namelist's (start, end) model times, and time left."""
        domains = tuple(self._domain(d, start, end) for d, (start, end) in sorted(bounds.items()))
        percent = domains[0].percent if domains else 100.0 * self.succeeded
        return Progress(percent, self.model_time(1), self.remaining_s(bounds), domains)

    def _domain(self, domain: int, start: datetime, end: datetime) -> DomainProgress:
        percent = self._fraction(domain, start, end) * 100
        return DomainProgress(domain, percent, self.model_time(domain), self.steps(domain))

    def _fraction(self, domain: int, start: datetime, end: datetime) -> float:
        now = self.model_time(domain)
        if self.succeeded:
            return 1.0
        if now is None:
            return 0.0
        total = (end - start).total_seconds()
        if total <= 0:
            return 1.0
        return min(1.0, max(0.0, (now - start).total_seconds() / total))

    def remaining_s(self, bounds: Bounds) -> float | None:
        """Domain 1's remaining steps × its recent median step time.

        Domain 1's Timing value already includes its nests' steps, so the nests need no term of
        their own. Remaining steps = remaining model seconds / recent mean dt (dt is constant
        unless `use_adaptive_time_step`, where the log prints it).
        """
        if self.succeeded:
            return 0.0
        root = self.domains.get(1)
        if root is None or root.steps < MIN_STEPS_FOR_RATE or 1 not in bounds:
            return None
        dt, median, now = root.mean_dt_s, root.median_s, root.model_time
        if dt is None or median is None or now is None:
            return None
        left_s = max(0.0, (bounds[1][1] - now).total_seconds())
        return left_s / dt * median


def progress_json(progress: Progress) -> dict[str, Any]:
    """The JSON form every API and `inspect` show (WRF's own date format)."""
    return {
        "percent": round(progress.percent, 2),
        "model_time": _json_time(progress.model_time),
        "domains": [
            {
                "domain": d.domain,
                "percent": round(d.percent, 2),
                "model_time": _json_time(d.model_time),
                "steps": d.steps,
            }
            for d in progress.domains
        ],
    }


def _json_time(moment: datetime | None) -> str | None:
    return wrf_time(moment) if moment else None


def _model_time(text: bytes) -> datetime | None:
    """`0001-01-01_00:00:12` (a nest's may carry `+01/03` after the seconds: ignored)."""
    try:
        return datetime.fromisoformat(text[:19].decode("ascii"))  # any date/time separator
    except ValueError:
        return None
