"""Slices of one WRF history field: by name, between two times, inside a lon/lat box.

A FieldSlice holds the field's name as the file spells it (`T2`, `Times`), its attributes, its
times in WRF's own form (`0001-01-01_00:10:00`) and its data as nested lists indexed
[time][level...][south_north][west_east]. Masked and non-finite values become None.

Files are opened without HDF5's file lock (localrun.wrf.netcdf), so a wrfout that WRF is still
filling (`frames_per_outfile` > 1) reads with the frames written so far; a frame whose time is
not written yet is left out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from math import prod
from pathlib import Path
from typing import Any

import numpy as np

from localrun.errors import Invalid, NotFound
from localrun.wrf.namelist import wrf_time
from localrun.wrf.netcdf import netCDF4

MAX_VALUES = 20_000_000
_TIME = re.compile(
    r"^(\d{1,4})-(\d{1,2})-(\d{1,2})(?:[_T ](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.\d+)?)?)?Z?$"
)
_STAMP = re.compile(r"_d\d\d_(\d{4}-\d\d-\d\d_\d\d[:_]\d\d[:_]\d\d)")
_ROWS = {"south_north": 0, "south_north_stag": 1}
_COLUMNS = {"west_east": 0, "west_east_stag": 1}


def parse_time(text: str) -> datetime:
    """`2018-01-01_06:00:00`, also with `T` or a space, an unpadded year (`1-01-01_00:00:00`,
    which is what Python's strftime makes of year 1 on glibc), or a date alone."""
    match = _TIME.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a time of the form YYYY-MM-DD_hh:mm:ss")
    parts = [int(p) if p else 0 for p in match.groups()]
    return datetime(*parts)  # type: ignore[arg-type]


def history_files(work_dir: Path, domain: int = 1) -> list[Path]:
    """The domain's wrfout files in time order (their names end in the first time they hold)."""
    return sorted(p for p in work_dir.glob(f"wrfout_d{domain:02d}_*") if p.is_file())


@dataclass(frozen=True)
class Box:
    """Longitude and latitude bounds; None leaves that side open."""

    lon1: float | None = None
    lat1: float | None = None
    lon2: float | None = None
    lat2: float | None = None

    def ranges(self) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
        """(lon range, lat range); a side left open is infinite, an axis with no bound given
        is not limited."""
        return _axis(self.lon1, self.lon2), _axis(self.lat1, self.lat2)


def _axis(a: float | None, b: float | None) -> tuple[float, float] | None:
    if a is None and b is None:
        return None
    if a is None or b is None:
        bound = a if a is not None else b
        assert bound is not None
        return (bound, math.inf) if a is not None else (-math.inf, bound)
    return (min(a, b), max(a, b))


@dataclass(frozen=True)
class FieldSlice:
    """A field's attributes and its values (nested lists), one item per time when it has a
    Time dimension."""

    field: str
    attributes: dict[str, Any]
    times: list[str]
    data: Any


@dataclass(frozen=True)
class _Frame:
    moment: datetime
    path: Path
    index: int


def read_output(
    paths: Sequence[Path],
    field: str,
    time1: datetime | None = None,
    time2: datetime | None = None,
    box: Box | None = None,
    skip_unreadable: bool = False,
) -> FieldSlice:
    """The field between time1 and time2 (time1 alone: exactly that time; neither: all)."""
    if time1 and time2 and time1 > time2:
        raise Invalid(f"time1 {wrf_time(time1)} is after time2 {wrf_time(time2)}")
    readable, frames = [], []
    for path in paths:
        try:
            found = _frames(path)
        except OSError:
            if skip_unreadable:
                continue
            raise Invalid(f"{path.name} is not a readable netCDF file") from None
        readable.append(path)
        frames += found
    if not readable:
        raise NotFound("the run has no readable wrfout output yet")
    frames = _select(_unique(frames), time1, time2)
    with netCDF4.Dataset(str(frames[0].path)) as ds:
        var = _variable(ds, field)
        attrs = {name: _plain(var.getncattr(name)) for name in var.ncattrs()}
        attrs["dimensions"] = list(var.dimensions)
        timed = bool(var.dimensions) and var.dimensions[0] == "Time"
        window = _window(ds, var.dimensions, box)
        name = var.name
        if not timed:
            return FieldSlice(name, attrs, [], _values(var[window]))
    shape = [len(range(*s.indices(n))) for s, n in zip(window, _shape(readable, name), strict=True)]
    count = len(frames) * prod(shape[1:])
    if count > MAX_VALUES:
        raise Invalid(
            f"the slice holds {count} values (limit {MAX_VALUES}); "
            "narrow it with time1/time2 or a lon/lat box"
        )
    data = []
    for frame in frames:
        with netCDF4.Dataset(str(frame.path)) as ds:
            data.append(_values(ds.variables[name][(frame.index, *window[1:])]))
    return FieldSlice(name, attrs, [wrf_time(f.moment) for f in frames], data)


def _frames(path: Path) -> list[_Frame]:
    with netCDF4.Dataset(str(path)) as ds:
        if "Times" in ds.variables:
            stamps = [str(s) for s in netCDF4.chartostring(ds.variables["Times"][:])]
            try:
                return [_Frame(parse_time(s), path, i) for i, s in enumerate(stamps) if _written(s)]
            except ValueError as exc:
                raise Invalid(f"{path.name}: Times holds {exc}") from None
    match = _STAMP.search(path.name)
    if match is None:
        raise Invalid(f"{path.name} has no Times variable and no time in its name")
    stamp = match.group(1)
    return [_Frame(parse_time(f"{stamp[:13]}:{stamp[14:16]}:{stamp[17:19]}"), path, 0)]


def _written(stamp: str) -> bool:
    """False for a frame the writer has made room for but not stamped yet (blank or fill)."""
    return bool(stamp.strip(" \x00"))


def _unique(frames: list[_Frame]) -> list[_Frame]:
    """One frame per time, the first file's when two files hold it, in time order."""
    seen: dict[datetime, _Frame] = {}
    for frame in frames:
        seen.setdefault(frame.moment, frame)
    return [seen[m] for m in sorted(seen)]


def _select(frames: list[_Frame], time1: datetime | None, time2: datetime | None) -> list[_Frame]:
    if time1 is not None and time2 is None:
        chosen = [f for f in frames if f.moment == time1]
    else:
        chosen = [
            f
            for f in frames
            if (time1 is None or f.moment >= time1) and (time2 is None or f.moment <= time2)
        ]
    if not chosen:
        held = f"{wrf_time(frames[0].moment)} to {wrf_time(frames[-1].moment)}" if frames else ""
        asked = wrf_time(time1) if time1 else "any time"
        if time2 is not None:
            asked = f"{asked} to {wrf_time(time2)}"
        raise NotFound(f"no output at {asked}; the output holds {held or 'no times'}")
    return chosen


def _variable(ds: netCDF4.Dataset, field: str) -> Any:
    wanted = field.strip().lower()
    for name, var in ds.variables.items():
        if name.lower() == wanted:
            return var
    raise NotFound(f"the output has no field {field!r}")


def _shape(paths: Sequence[Path], name: str) -> tuple[int, ...]:
    with netCDF4.Dataset(str(paths[0])) as ds:
        return tuple(ds.variables[name].shape)


def _window(ds: netCDF4.Dataset, dims: Sequence[str], box: Box | None) -> tuple[slice, ...]:
    """A slice per dimension: the index rectangle holding every mass point inside the box,
    one more row or column on a staggered dimension."""
    full = tuple(slice(None) for _ in dims)
    lon_range, lat_range = box.ranges() if box else (None, None)
    spatial = any(d in _ROWS or d in _COLUMNS for d in dims)
    if (lon_range is None and lat_range is None) or not spatial:
        return full
    if "XLONG" not in ds.variables or "XLAT" not in ds.variables:
        raise Invalid("the output has no XLONG/XLAT, so it cannot be cut by longitude/latitude")
    lon = np.asarray(ds.variables["XLONG"][0])
    lat = np.asarray(ds.variables["XLAT"][0])
    inside = np.ones(lon.shape, dtype=bool)
    for values, limits in ((lon, lon_range), (lat, lat_range)):
        if limits is not None:
            inside &= (values >= limits[0]) & (values <= limits[1])
    if not inside.any():
        raise Invalid(
            f"no grid point lies in the box {_describe(lon_range, lat_range)}; the domain spans "
            f"longitude {lon.min():.4f} to {lon.max():.4f}, "
            f"latitude {lat.min():.4f} to {lat.max():.4f}"
        )
    rows, columns = np.nonzero(inside.any(axis=1))[0], np.nonzero(inside.any(axis=0))[0]
    j0, j1, i0, i1 = int(rows[0]), int(rows[-1]) + 1, int(columns[0]), int(columns[-1]) + 1
    window = []
    for dim in dims:
        if dim in _ROWS:
            window.append(slice(j0, j1 + _ROWS[dim]))
        elif dim in _COLUMNS:
            window.append(slice(i0, i1 + _COLUMNS[dim]))
        else:
            window.append(slice(None))
    return tuple(window)


def _describe(lon: tuple[float, float] | None, lat: tuple[float, float] | None) -> str:
    parts = [f"{name} {r[0]:g} to {r[1]:g}" for name, r in (("lon", lon), ("lat", lat)) if r]
    return ", ".join(parts)


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _values(array: Any) -> Any:
    """Nested lists of Python numbers (strings for character data), null where masked or NaN."""
    masked = np.ma.asarray(array)
    if masked.dtype.kind in "SU":
        return np.asarray(netCDF4.chartostring(masked.filled(b""))).tolist()
    if masked.dtype.kind == "f":
        masked = np.ma.masked_invalid(masked)
    plain = np.asarray(masked.data).astype(object)
    mask = np.ma.getmaskarray(masked)
    if mask.any():
        plain[mask] = None
    return plain.tolist()
