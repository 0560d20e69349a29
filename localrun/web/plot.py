"""The step-time plot: WRF's `Timing for main` seconds per step against model time, one
polyline and one point per step for each domain, laid out here and drawn by the template."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from localrun.wrf.rsl import TIMING

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 28


@dataclass
class Line:
    domain: int
    points: list[tuple[float, float, str]] = field(default_factory=list)  # x, y, its title

    @property
    def path(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in self.points)


@dataclass(kw_only=True)
class Frame:
    """The SVG's size and the plotting area inside its margins, as the templates read them."""

    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM
    right: int = WIDTH - RIGHT


@dataclass
class Plot(Frame):
    lines: list[Line]
    max_s: float
    first: str
    last: str

    @property
    def steps(self) -> int:
        return sum(len(line.points) for line in self.lines)


def step_times(text: str) -> dict[int, list[tuple[datetime, float]]]:
    """Each domain's (model time, seconds) for every `Timing for main` line, in log order."""
    series: dict[int, list[tuple[datetime, float]]] = {}
    for line in text.encode("utf-8", "replace").split(b"\n"):
        match = TIMING.match(line.strip(b"\r"))
        if match is None:
            continue
        _, when, domain, seconds = match.groups()
        try:
            moment = datetime.fromisoformat(when[:19].decode("ascii"))
        except ValueError:
            continue
        series.setdefault(int(domain), []).append((moment, float(seconds)))
    return series


def plot(series: dict[int, list[tuple[datetime, float]]]) -> Plot | None:
    """The plot's coordinates; None when no step was logged."""
    every = [point for points in series.values() for point in points]
    if not every:
        return None
    start = min(t for t, _ in every)
    span = max((max(t for t, _ in every) - start).total_seconds(), 1.0)
    max_s = max(max(s for _, s in every), 1e-6)
    inner_w = WIDTH - LEFT - RIGHT
    inner_h = HEIGHT - TOP - BOTTOM
    lines = []
    for domain, points in sorted(series.items()):
        line = Line(domain)
        for moment, seconds in points:
            x = LEFT + inner_w * (moment - start).total_seconds() / span
            y = TOP + inner_h * (1 - seconds / max_s)
            line.points.append((x, y, f"d{domain:02d} {stamp(moment)} {seconds:g} s"))
        lines.append(line)
    last = max(t for t, _ in every)
    return Plot(lines, max_s, stamp(start), stamp(last))


def stamp(moment: datetime) -> str:
    """WRF's own form, 0001-01-01_00:30:00 (strftime's %Y drops a small year's zeros)."""
    return f"{moment.year:04d}-{moment:%m-%d_%H:%M:%S}"
