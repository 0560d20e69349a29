"""netCDF files the simulator reads and writes: wrfinput dimensions, wrfout and wrfrst."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import netCDF4
import numpy as np

from localrun.wrf.namelist import Domain, wrf_time
from localrun.wrf.sim.grid import CEN_LAT, CEN_LON, THETA0, Array

DIMENSIONS = (
    ("e_we", "WEST-EAST_GRID_DIMENSION", "west_east_stag"),
    ("e_sn", "SOUTH-NORTH_GRID_DIMENSION", "south_north_stag"),
    ("e_vert", "BOTTOM-TOP_GRID_DIMENSION", "bottom_top_stag"),
)
TITLE = " OUTPUT FROM WRF V4.7.1 MODEL"
_COORDINATES = (
    ("XLAT", "LATITUDE, SOUTH IS NEGATIVE", "degree_north"),
    ("XLONG", "LONGITUDE, WEST IS NEGATIVE", "degree_east"),
)
_FIELDS = (
    ("T2", "TEMP at 2 M", "K"),
    ("U10", "U at 10 M", "m s-1"),
    ("V10", "V at 10 M", "m s-1"),
)


def size_mismatches(domain: Domain, path: Path) -> list[tuple[str, int, str, int]]:
    """(namelist name, value, file attribute, value) per differing dimension; [] if not netCDF."""
    try:
        with netCDF4.Dataset(str(path)) as ds:
            attrs, dims = set(ds.ncattrs()), ds.dimensions
            found = {
                attr: int(ds.getncattr(attr)) if attr in attrs else len(dims[dim])
                for _, attr, dim in DIMENSIONS
                if attr in attrs or dim in dims
            }
    except OSError:
        return []
    result = []
    for name, attr, _ in DIMENSIONS:
        expected = int(getattr(domain, name))
        if attr in found and found[attr] != expected:
            result.append((name, expected, attr, found[attr]))
    return result


@dataclass(frozen=True)
class Frame:
    """One output time of one domain, gathered on rank 0."""

    domain: Domain
    moment: datetime
    simulation_start: datetime
    dt: float
    lat: Array
    lon: Array
    fields: Array  # (3, ny, nx): T2, U10, V10
    parent: tuple[int, int, int]  # parent_id, i_parent_start, j_parent_start


def write_history(path: Path, frame: Frame, index: int = 0) -> None:
    """Frame `index` of a history file: the first creates the file, later ones append to it."""
    files = HistoryFiles()
    files.write(path, frame, index, last=True)


class HistoryFiles:
    """wrfout files held open from their first frame to their last, as WRF holds them: while a
    file fills, other processes meet HDF5's file lock (WRF.md §9). Each frame is synced."""

    def __init__(self) -> None:
        self._open: dict[Path, netCDF4.Dataset] = {}

    def write(self, path: Path, frame: Frame, index: int, last: bool) -> None:
        ds = self._open.get(path)
        if ds is None:
            if index == 0:
                ds = netCDF4.Dataset(str(path), "w", format="NETCDF4")
                _define(ds, frame)
            else:
                ds = netCDF4.Dataset(str(path), "a")
            self._open[path] = ds
        _put(ds, frame, index)
        ds.sync()
        if last:
            self._open.pop(path).close()

    def close(self) -> None:
        while self._open:
            self._open.popitem()[1].close()


def write_restart(path: Path, frame: Frame, state: Array) -> None:
    with netCDF4.Dataset(str(path), "w", format="NETCDF4") as ds:
        _define(ds, frame)
        _put(ds, frame, 0)
        var = ds.createVariable("T", "f4", ("Time", "bottom_top", "south_north", "west_east"))
        _describe(var, "perturbation potential temperature theta-t0", "K", "XYZ")
        var[0] = state - np.float32(THETA0)


def read_restart(path: Path, j: slice, i: slice) -> tuple[Array, datetime] | None:
    """This patch's 3-D state and the file's SIMULATION_START_DATE; None if unreadable."""
    try:
        with netCDF4.Dataset(str(path)) as ds:
            state = np.asarray(ds["T"][0, :, j, i], dtype=np.float32) + np.float32(THETA0)
            start = datetime.strptime(str(ds.getncattr("SIMULATION_START_DATE"))[:19], _FORMAT)
    except (OSError, KeyError, IndexError, ValueError, AttributeError):
        return None
    return state, start


_FORMAT = "%Y-%m-%d_%H:%M:%S"


def _define(ds: netCDF4.Dataset, frame: Frame) -> None:
    d = frame.domain
    ds.createDimension("Time", None)
    ds.createDimension("DateStrLen", 19)
    ds.createDimension("west_east", d.e_we - 1)
    ds.createDimension("south_north", d.e_sn - 1)
    ds.createDimension("bottom_top", d.e_vert - 1)
    ds.createDimension("bottom_top_stag", d.e_vert)
    ds.createDimension("west_east_stag", d.e_we)
    ds.createDimension("south_north_stag", d.e_sn)
    ds.createVariable("Times", "S1", ("Time", "DateStrLen"))
    xtime = ds.createVariable("XTIME", "f4", ("Time",))
    since = f"minutes since {_human(frame.simulation_start)}"
    _describe(xtime, since, since, "0  ")
    plane = ("Time", "south_north", "west_east")
    for name, text, units in _COORDINATES:
        _describe(ds.createVariable(name, "f4", plane), text, units, "XY ", "XLONG XLAT")
    for name, text, units in _FIELDS:
        _describe(ds.createVariable(name, "f4", plane), text, units, "XY ", "XLONG XLAT XTIME")
    _global_attributes(ds, frame)


def _put(ds: netCDF4.Dataset, frame: Frame, index: int) -> None:
    stamp = np.array([wrf_time(frame.moment)], dtype="S19")
    ds["Times"][index, :] = netCDF4.stringtochar(stamp)[0]
    ds["XTIME"][index] = (frame.moment - frame.simulation_start).total_seconds() / 60.0
    ds["XLAT"][index] = frame.lat
    ds["XLONG"][index] = frame.lon
    for (name, _, _), data in zip(_FIELDS, frame.fields, strict=True):
        ds[name][index] = data


def _describe(var: Any, text: str, units: str, order: str, coords: str = "") -> None:
    var.FieldType = np.int32(104)
    var.MemoryOrder = order
    var.description = text
    var.units = units
    var.stagger = ""
    if coords:
        var.coordinates = coords


def _global_attributes(ds: netCDF4.Dataset, frame: Frame) -> None:
    d = frame.domain
    parent_id, i_start, j_start = frame.parent
    ds.setncatts(
        {
            "TITLE": TITLE,
            "START_DATE": wrf_time(d.start),
            "SIMULATION_START_DATE": wrf_time(frame.simulation_start),
            "WEST-EAST_GRID_DIMENSION": np.int32(d.e_we),
            "SOUTH-NORTH_GRID_DIMENSION": np.int32(d.e_sn),
            "BOTTOM-TOP_GRID_DIMENSION": np.int32(d.e_vert),
            "DX": np.float32(d.dx),
            "DY": np.float32(d.dy),
            "DT": np.float32(frame.dt),
            "GRID_ID": np.int32(d.id),
            "PARENT_ID": np.int32(parent_id),
            "I_PARENT_START": np.int32(i_start),
            "J_PARENT_START": np.int32(j_start),
            "PARENT_GRID_RATIO": np.int32(d.parent_grid_ratio),
            "CEN_LAT": np.float32(frame.lat[frame.lat.shape[0] // 2, frame.lat.shape[1] // 2]),
            "CEN_LON": np.float32(frame.lon[frame.lon.shape[0] // 2, frame.lon.shape[1] // 2]),
            "TRUELAT1": np.float32(CEN_LAT),
            "TRUELAT2": np.float32(CEN_LAT),
            "MOAD_CEN_LAT": np.float32(CEN_LAT),
            "STAND_LON": np.float32(CEN_LON),
            "MAP_PROJ": np.int32(3),
            "MAP_PROJ_CHAR": "Mercator",
            "SIMULATOR": "localrun-wrf-sim (a stand-in for wrf.exe; fields are synthetic)",
        }
    )


def _human(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment:%m-%d %H:%M:%S}"
