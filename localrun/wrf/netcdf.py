"""netCDF4 for localrun's readers, imported with HDF5's file locking off.

While wrf.exe writes several frames into one wrfout file it holds the file open, and HDF5's
file lock makes every other process's open fail with `NetCDF: HDF error` (WRF.md §9). HDF5 reads
HDF5_USE_FILE_LOCKING once, when the library starts (at `import netCDF4`), so the variable is set
for that import only and then put back: runs launched later inherit the daemon's environment
unchanged, and writers keep their locks. Import netCDF4 from here in every reading module.
"""

from __future__ import annotations

import logging
import os
import sys

LOCKING = "HDF5_USE_FILE_LOCKING"

_already = "netCDF4" in sys.modules
_saved = os.environ.get(LOCKING)
os.environ[LOCKING] = "FALSE"
try:
    import netCDF4 as netCDF4
finally:
    if _saved is None:
        del os.environ[LOCKING]
    else:
        os.environ[LOCKING] = _saved

LOCKING_OFF = not _already or _saved == "FALSE"
if not LOCKING_OFF:
    logging.getLogger("localrun.wrf").warning(
        "netCDF4 was imported before localrun.wrf.netcdf: wrfout files being written may not "
        "be readable until their run closes them (set %s=FALSE to avoid this)",
        LOCKING,
    )

__all__ = ["LOCKING", "LOCKING_OFF", "netCDF4"]
