"""Read a WRF namelist.input into the facts localrun needs: domains, times, steps, outputs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import f90nml

WRF_TIME_FORMAT = "%Y-%m-%d_%H:%M:%S"


def wrf_time(moment: datetime) -> str:
    """WRF's date form; strftime's %Y does not zero-pad year 1 on glibc."""
    return f"{moment.year:04d}-{moment:%m-%d_%H:%M:%S}"


class NamelistError(ValueError):
    """The namelist cannot be read or says something WRF would refuse."""

    def __init__(self, message: str, code: str = "namelist") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Domain:
    id: int
    parent_id: int
    e_we: int
    e_sn: int
    e_vert: int
    dx: float
    dy: float
    parent_grid_ratio: int
    parent_time_step_ratio: int
    time_step: float
    start: datetime
    end: datetime
    history_interval_min: int
    restart: bool = False

    @property
    def points(self) -> int:
        return self.e_we * self.e_sn * self.e_vert

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def steps(self) -> int:
        return max(0, round(self.seconds / self.time_step)) if self.time_step > 0 else 0

    @property
    def history_times(self) -> list[datetime]:
        """When WRF writes history; a restart run keeps the original run's rhythm (counted
        here from midnight of the start day) and writes none at its own start."""
        if self.history_interval_min <= 0:
            return []
        step = timedelta(minutes=self.history_interval_min)
        t = self.start
        if self.restart:
            midnight = self.start.replace(hour=0, minute=0, second=0)
            t = midnight + step * -(-(self.start - midnight) // step)
            if t == self.start:
                t += step
        times = []
        while t <= self.end:
            times.append(t)
            t += step
        return times


@dataclass(frozen=True)
class Case:
    domains: tuple[Domain, ...]
    restart: bool
    restart_interval_min: int
    adaptive: bool
    nproc_x: int
    nproc_y: int
    boundaries_specified: bool
    raw: Mapping[str, Mapping[str, Any]]

    @property
    def start(self) -> datetime:
        return self.domains[0].start

    @property
    def end(self) -> datetime:
        return self.domains[0].end

    @property
    def run_seconds(self) -> float:
        return self.domains[0].seconds

    @property
    def required_inputs(self) -> list[str]:
        """The input files wrf.exe opens, as the namelist implies them."""
        names = ["namelist.input"]
        if self.restart:
            stamp = wrf_time(self.start)
            names += [f"wrfrst_d{d.id:02d}_{stamp}" for d in self.domains]
        else:
            names.append("wrfinput_d01")
            names += [f"wrfinput_d{d.id:02d}" for d in self.domains[1:] if self._nest_input(d)]
        if self.boundaries_specified:
            names.append("wrfbdy_d01")
        return names

    def inputs_before(self, preprocess: str | None) -> list[str]:
        """What a run needs uploaded when ideal.exe or real.exe runs first and makes the rest:
        the namelist, and for real.exe each domain's metgrid file at the start time."""
        if preprocess == "ideal":
            return ["namelist.input"]
        if preprocess == "real":
            stamp = wrf_time(self.start)
            return ["namelist.input", *[f"met_em.d{d.id:02d}.{stamp}.nc" for d in self.domains]]
        return self.required_inputs

    def _nest_input(self, domain: Domain) -> bool:
        flags = _as_list(self.raw.get("time_control", {}).get("input_from_file"))
        index = domain.id - 1
        return bool(flags[index]) if index < len(flags) else False


def read_case(source: str | Path) -> Case:
    """Parse namelist text or a namelist file; raise NamelistError with WRF's words."""
    text = source.read_text() if isinstance(source, Path) else source
    try:
        parsed = f90nml.reads(text)
    except Exception as exc:  # f90nml raises bare ValueError/StopIteration/IndexError
        raise NamelistError(f"namelist.input cannot be parsed: {exc}") from exc
    raw = {
        str(g).lower(): {str(k).lower(): v for k, v in dict(vs).items()} for g, vs in parsed.items()
    }
    return case_from_groups(raw)


def case_from_groups(raw: Mapping[str, Mapping[str, Any]]) -> Case:
    if "time_control" not in raw or "domains" not in raw:
        raise NamelistError("namelist.input needs the groups &time_control and &domains")
    tc, dom = raw["time_control"], raw["domains"]
    max_dom = int(_pick(dom, "max_dom", 0, 1))
    if max_dom < 1:
        raise NamelistError(f"max_dom must be at least 1, not {max_dom}")
    base_dt = _base_time_step(dom)
    run_length = _run_length(tc)
    domains: list[Domain] = []
    for i in range(max_dom):
        domains.append(_domain(tc, dom, i, base_dt, run_length, domains))
    return Case(
        domains=tuple(domains),
        restart=bool(_pick(tc, "restart", 0, False)),
        restart_interval_min=int(_pick(tc, "restart_interval", 0, 0)),
        adaptive=bool(_pick(dom, "use_adaptive_time_step", 0, False)),
        nproc_x=int(_pick(dom, "nproc_x", 0, -1)),
        nproc_y=int(_pick(dom, "nproc_y", 0, -1)),
        boundaries_specified=bool(_pick(raw.get("bdy_control", {}), "specified", 0, False)),
        raw=raw,
    )


def _domain(
    tc: Mapping[str, Any],
    dom: Mapping[str, Any],
    i: int,
    base_dt: float,
    run_length: timedelta | None,
    parents: list[Domain],
) -> Domain:
    number = i + 1
    for name in ("e_we", "e_sn"):
        if len(_as_list(dom.get(name))) <= i:
            raise NamelistError(f"&domains {name} has no value for domain {number} (max_dom)")
    parent_id = int(_pick(dom, "parent_id", i, 0 if i == 0 else 1))
    ratio = int(_pick(dom, "parent_grid_ratio", i, 1)) if i else 1
    step_ratio = int(_pick(dom, "parent_time_step_ratio", i, ratio)) if i else 1
    if i and not 1 <= parent_id <= i:
        raise NamelistError(f"domain {number}: parent_id {parent_id} is not an earlier domain")
    parent = parents[parent_id - 1] if i else None
    dx = float(_pick(dom, "dx", i, 0)) if len(_as_list(dom.get("dx"))) > i or not i else 0.0
    dy = float(_pick(dom, "dy", i, 0)) if len(_as_list(dom.get("dy"))) > i or not i else 0.0
    if parent is not None:
        dx = dx or parent.dx / ratio
        dy = dy or parent.dy / ratio
    dt = base_dt if parent is None else parent.time_step / max(step_ratio, 1)
    start = _time(tc, "start", i)
    end = start + run_length if run_length is not None and i == 0 else _time(tc, "end", i)
    if parent is not None and run_length is not None:
        end = parents[0].end
    if end < start:
        raise NamelistError(f"domain {number}: end time {end} is before start time {start}")
    return Domain(
        id=number,
        parent_id=parent_id,
        e_we=int(_pick(dom, "e_we", i, 0)),
        e_sn=int(_pick(dom, "e_sn", i, 0)),
        e_vert=int(_pick(dom, "e_vert", i, _pick(dom, "e_vert", 0, 1))),
        dx=dx,
        dy=dy,
        parent_grid_ratio=ratio,
        parent_time_step_ratio=step_ratio,
        time_step=dt,
        start=start,
        end=end,
        history_interval_min=int(_pick(tc, "history_interval", i, 0)),
        restart=bool(_pick(tc, "restart", 0, False)),
    )


def _base_time_step(dom: Mapping[str, Any]) -> float:
    dt = float(_pick(dom, "time_step", 0, 0))
    num = float(_pick(dom, "time_step_fract_num", 0, 0))
    den = float(_pick(dom, "time_step_fract_den", 0, 1)) or 1.0
    total = dt + num / den
    if total <= 0:
        raise NamelistError("&domains time_step must be positive")
    return total


def _run_length(tc: Mapping[str, Any]) -> timedelta | None:
    parts = {
        unit: float(_pick(tc, f"run_{unit}", 0, 0))
        for unit in ("days", "hours", "minutes", "seconds")
    }
    length = timedelta(**parts)
    return length if length.total_seconds() > 0 else None


def _time(tc: Mapping[str, Any], prefix: str, i: int) -> datetime:
    fields = ("year", "month", "day", "hour", "minute", "second")
    defaults = (1, 1, 1, 0, 0, 0)
    values = [int(_pick(tc, f"{prefix}_{f}", i, d)) for f, d in zip(fields, defaults, strict=True)]
    try:
        year, month, day, hour, minute, second = values
        return datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise NamelistError(f"&time_control {prefix}_* for domain {i + 1}: {exc}") from exc


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _pick(group: Mapping[str, Any], name: str, index: int, default: Any) -> Any:
    """WRF's rule: a per-domain list shorter than max_dom repeats nothing; use the default."""
    values = _as_list(group.get(name))
    if index < len(values) and values[index] is not None:
        return values[index]
    if index > 0 and len(values) == 1 and values[0] is not None:
        return values[0]
    return default
