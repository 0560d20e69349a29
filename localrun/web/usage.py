"""The CPU and memory plot of a run's page: the supervisor's usage samples (the run record's
`usage`, rewritten at each tick) kept over time in the run's extra as a bounded series, and
laid out for the template as the step-time plot is."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from localrun.api.keys import SERVICE
from localrun.runs import LIVE, Run
from localrun.store import Store
from localrun.web.plot import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH, Frame

log = logging.getLogger(__name__)

KEY = "usage_series"  # the run's extra: {"t0", "step", "points": [[t - t0, cpu %, rss KiB]]}
MAX_POINTS = 300  # about 6 KB in the run record, which every list of runs reads
MIN_STEP_S = 0.5
MEMORY_HEADROOM = 1.1  # the memory line's peak sits below the top, clear of the CPU label


def add_point(
    series: dict[str, Any] | None, at: float, usage: dict[str, Any], base_step: float
) -> dict[str, Any] | None:
    """The series with this sample appended when a step has passed since the last one, or
    None when it is too soon. When it holds more than MAX_POINTS, every other point goes and
    the step doubles: the series keeps the whole run at a coarser grain, never growing."""
    cpu = round(usage["cpu_percent"]) if _number(usage.get("cpu_percent")) else None
    rss = int(usage["rss_bytes"]) >> 10 if _number(usage.get("rss_bytes")) else None
    if cpu is None and rss is None:
        return None
    series = series if isinstance(series, dict) else {}
    points = _points(series)
    t0 = float(series["t0"]) if points else at
    step = float(series.get("step") or base_step)
    offset = round(at - t0, 1)
    if points and offset - float(points[-1][0]) < step:
        return None
    points.append([offset, cpu, rss])
    while len(points) > MAX_POINTS:
        kept = points[::2]
        if kept[-1] is not points[-1]:
            kept.append(points[-1])  # the first and the newest stay
        points, step = kept, step * 2
    return {"t0": round(t0, 1), "step": step, "points": points}


class Recorder:
    """Every step, each live run's latest usage goes into its series."""

    def __init__(self) -> None:
        self.task: asyncio.Task[None] | None = None

    async def start(self, app: web.Application) -> None:
        svc = app[SERVICE]
        step = max(svc.settings.poll_interval_s, MIN_STEP_S)
        self.task = asyncio.create_task(self._loop(svc.store, step), name="localrun-usage")

    async def close(self, app: web.Application) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def _loop(self, store: Store, step: float) -> None:
        while True:
            try:
                await record(store, step)
            except Exception:
                log.exception("recording the runs' CPU and memory failed")
            await asyncio.sleep(step)


async def record(store: Store, step: float, now: float | None = None) -> None:
    for run in await store.runs_in(list(LIVE)):
        if not run.usage:
            continue
        series = add_point(run.extra.get(KEY), time.time() if now is None else now, run.usage, step)
        if series is not None:
            await store.merge_extra(run.id, {KEY: series})


@dataclass
class UsagePlot(Frame):
    cpu: str  # polyline points
    memory: str
    max_cpu: float  # percent of the run's cores at the top
    max_rss: int
    first: str
    last: str
    samples: int


def usage_plot(run: Run) -> UsagePlot | None:
    """CPU as a share of the run's cores (100% = every core busy) and resident memory,
    against wall-clock time; None with fewer than two samples."""
    series = run.extra.get(KEY)
    if not isinstance(series, dict):
        return None
    points = _points(series)
    if len(points) < 2:
        return None
    cores = max(run.cores, 1)
    t0 = float(series["t0"])
    start, end = float(points[0][0]), float(points[-1][0])
    span = max(end - start, 1.0)
    cpu = [(float(p[0]), float(p[1]) / cores) for p in points if _number(p[1])]
    rss = [(float(p[0]), float(p[2]) * 1024) for p in points if _number(p[2])]
    max_cpu = max([100.0, *(v for _, v in cpu)])
    max_rss = max([1.0, *(v for _, v in rss)])
    rss_top = max_rss * MEMORY_HEADROOM
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def line(values: list[tuple[float, float]], top: float) -> str:
        return " ".join(
            f"{LEFT + inner_w * (t - start) / span:.1f},{TOP + inner_h * (1 - v / top):.1f}"
            for t, v in values
        )

    return UsagePlot(
        line(cpu, max_cpu),
        line(rss, rss_top),
        max_cpu,
        int(max_rss),
        time.strftime("%H:%M:%S", time.localtime(t0 + start)),
        time.strftime("%H:%M:%S", time.localtime(t0 + end)),
        len(points),
    )


def _points(series: dict[str, Any]) -> list[list[Any]]:
    """The series' points, what is not one left out; none without a start time."""
    raw = series.get("points")
    if not _number(series.get("t0")) or not isinstance(raw, list):
        return []
    return [p for p in raw if isinstance(p, list) and len(p) == 3 and _number(p[0])]


def _number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )
