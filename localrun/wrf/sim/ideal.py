"""A stand-in for ideal.exe: reads namelist.input as wrf.exe does (the same refusals, with WRF's
words), writes wrfinput_d01 (and wrfinput_d0N for nests with input_from_file) with the grid the
namelist says, and ends with ideal.exe's `wrf: SUCCESS COMPLETE IDEAL INIT`. Run it as the real
one is run, `mpirun -np 1 ideal.exe`, in the run directory.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import netCDF4
import numpy as np

from localrun.wrf.namelist import Domain, wrf_time
from localrun.wrf.sim import log as fmt
from localrun.wrf.sim.exit import die_root
from localrun.wrf.sim.main import INPUT_US, Startup, _quilt, run_program
from localrun.wrf.sim.output import DIMENSIONS

SUCCESS = "wrf: SUCCESS COMPLETE IDEAL INIT"
TITLE = " OUTPUT FROM IDEAL V4.7.1 PREPROCESSOR"


def main() -> None:
    run_program(Ideal)


class Ideal(Startup):
    def run(self) -> None:
        self.log.out(f"taskid: {self.rank} hostname: {socket.gethostname()}")
        text = self.namelist_text()
        self.quilt_read(text)
        self.log.out(*fmt.quilting(*_quilt(text)))
        case, self.knobs = self.read(text)
        if self.size > 1 and any(d.id > 1 for d in case.domains):
            die_root(self.log, fmt.fatal(208, ["ideal.exe for nested runs must be run serially"]))
        self.log.out(fmt.ntasks(1, self.size), *fmt.banner())
        if self.rank == 0:
            for d in case.domains:
                if d.id == 1 or f"wrfinput_d{d.id:02d}" in case.required_inputs:
                    began = time.perf_counter()
                    write_input(Path(f"wrfinput_d{d.id:02d}"), d)
                    self.pace_input(began, "writing wrfinput file", d, INPUT_US)
        self.log.out(f"d01 {wrf_time(case.start)} {SUCCESS}")


def write_input(path: Path, domain: Domain) -> None:
    """An initial-conditions file with the namelist's grid, written whole, then renamed."""
    part = path.with_name(f".{path.name}.part")
    nx, ny, nz = domain.e_we - 1, domain.e_sn - 1, domain.e_vert - 1
    with netCDF4.Dataset(str(part), "w", format="NETCDF4") as ds:
        ds.createDimension("Time", None)
        ds.createDimension("DateStrLen", 19)
        for size, name in ((nx, "west_east"), (ny, "south_north"), (nz, "bottom_top")):
            ds.createDimension(name, size)
            ds.createDimension(f"{name}_stag", size + 1)
        stamp = wrf_time(domain.start)
        ds.setncatts({"TITLE": TITLE, "START_DATE": stamp, "SIMULATION_START_DATE": stamp})
        for field, attribute, _ in DIMENSIONS:
            ds.setncattr(attribute, np.int32(getattr(domain, field)))
        ds.setncatts({"DX": np.float32(domain.dx), "DY": np.float32(domain.dy)})
        ds.setncatts({"GRID_ID": np.int32(domain.id), "PARENT_ID": np.int32(domain.parent_id)})
        times = ds.createVariable("Times", "S1", ("Time", "DateStrLen"))
        times[0, :] = netCDF4.stringtochar(np.array([stamp], dtype="S19"))
        theta = ds.createVariable("T", "f4", ("Time", "bottom_top", "south_north", "west_east"))
        theta[0] = np.zeros((nz, ny, nx), dtype="f4")
    os.replace(part, path)
