"""The namelists of linked runs: a restart from a run's last restart files, a CFL retry.

A restart run (WRF4G's chains) starts at the time of the newest restart files that every
domain wrote, with `restart = .true.`, and ends where the first run would have ended. The
run_* lengths are zeroed and end_* written out, because WRF counts run_* from the new start.
A CFL retry is the same case with a smaller time_step, whole seconds as WRF wants them.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import f90nml

from localrun.wrf.namelist import WRF_TIME_FORMAT, Case, NamelistError, read_case

RESTART_FILE = re.compile(r"^wrfrst_d(\d\d)_(\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d)$")
TIME_FIELDS = ("year", "month", "day", "hour", "minute", "second")


@dataclass(frozen=True)
class RestartPoint:
    at: datetime
    files: tuple[Path, ...]  # one per domain, d01 first


def restart_point(work: Path, case: Case) -> RestartPoint | None:
    """The newest time at which every domain of the case has a non-empty restart file."""
    found: dict[datetime, dict[int, Path]] = {}
    try:
        entries = list(work.iterdir())
    except OSError:
        return None
    for path in entries:
        match = RESTART_FILE.match(path.name)
        if match is None or not path.is_file() or path.stat().st_size == 0:
            continue
        try:
            at = _parse_time(match.group(2))
        except ValueError:
            continue
        found.setdefault(at, {})[int(match.group(1))] = path
    wanted = [d.id for d in case.domains]
    for at in sorted(found, reverse=True):
        if at > case.start and at < case.end and all(i in found[at] for i in wanted):
            return RestartPoint(at, tuple(found[at][i] for i in wanted))
    return None


def restart_namelist(text: str, at: datetime) -> str:
    """The namelist of the run that goes on from `at` to the first run's end."""
    case = read_case(text)
    nml = _parse(text)
    tc = nml["time_control"]
    tc["restart"] = True
    for unit in ("days", "hours", "minutes", "seconds"):
        if f"run_{unit}" in tc:
            tc[f"run_{unit}"] = 0
    starts = [max(at, d.start) for d in case.domains]
    ends = [d.end for d in case.domains]
    for field, index in zip(TIME_FIELDS, range(6), strict=True):
        tc[f"start_{field}"] = [_part(t, index) for t in starts]
        tc[f"end_{field}"] = [_part(t, index) for t in ends]
    return _write(nml)


def smaller_time_step(text: str, factor: float) -> tuple[str, float]:
    """The namelist with time_step times factor (whole seconds, at least 1), and the new step.
    NamelistError when the step is already 1 s and cannot shrink."""
    nml = _parse(text)
    dom = nml["domains"]
    old = float(_first(dom.get("time_step")) or 0)
    new = max(1, math.floor(old * factor))
    if new >= old:
        raise NamelistError(f"time_step is {old:g} s and cannot be made smaller")
    dom["time_step"] = new
    for name in ("time_step_fract_num", "time_step_fract_den"):
        if name in dom:
            dom[name] = 0 if name.endswith("num") else 1
    return _write(nml), float(new)


def _parse(text: str) -> Any:
    try:
        nml = f90nml.reads(text)
    except Exception as exc:  # f90nml raises bare ValueError/StopIteration/IndexError
        raise NamelistError(f"namelist.input cannot be parsed: {exc}") from exc
    for group in ("time_control", "domains"):
        if group not in nml:
            raise NamelistError(f"namelist.input needs the group &{group}")
    return nml


def _write(nml: Any) -> str:
    out = io.StringIO()
    nml.write(out)
    return out.getvalue()


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value


def _part(moment: datetime, index: int) -> int:
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)[index]


def _parse_time(stamp: str) -> datetime:
    year, rest = stamp.split("-", 1)
    return datetime.strptime(f"2000-{rest}", WRF_TIME_FORMAT).replace(year=int(year))
