"""What the configured MPI launcher is: its path, its version line, the MPI library behind it;
and which MPI library a model executable links (from ldd)."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any


def describe(launcher: str) -> dict[str, Any]:
    """{"launcher", "found", "version", "library"}; runs the launcher once, so cache it."""
    found = shutil.which(launcher)
    return {
        "launcher": found or launcher,
        "found": found is not None,
        "version": mpi_version(launcher) if found else None,
        "library": mpi_library(Path(found)) if found else None,
    }


def mpi_library(launcher: Path) -> str | None:
    """'MPICH 5.0.2' from mpichversion beside the launcher, when it is MPICH."""
    tool = launcher.resolve().parent / "mpichversion"
    if not tool.exists():
        return None
    try:
        out = subprocess.run([tool], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        if line.startswith("MPICH Version:"):
            return "MPICH " + line.split(":", 1)[1].strip()
    return None


def mpi_version(mpirun: str) -> str | None:
    """The launcher's own version line, asked once; None when it cannot run."""
    try:
        out = subprocess.run(
            [mpirun, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        if "Version:" in line or "version" in line.lower():
            return line.split(":", 1)[-1].strip() if "Version:" in line else line.strip()
    return out.strip().splitlines()[0] if out.strip() else None


_MPI_LIB = re.compile(r"^\s*(lib(?:mpi|mpich|mpifort|mpi_mpifh)\S*\.so\S*)\s+=>\s+(\S+)")
_FAMILIES = (
    ("libmpich", "MPICH"),
    ("libmpi.so.12", "MPICH"),  # MPICH's own soname; libmpich.so links to it
    ("libmpi.so.4", "Open MPI"),
    ("libmpi_abi", "MPI ABI"),
)


def simulator_mpi() -> dict[str, Any]:
    """The MPI library the built-in simulator links: mpi4py's, found where its wheel puts it."""
    spec = importlib.util.find_spec("mpi4py")
    folders = list(spec.submodule_search_locations or []) if spec else []
    modules = sorted(p for f in folders for p in Path(f).glob("MPI*.so"))
    found = [linked_mpi(str(m), library_path=str(Path(sys.prefix) / "lib")) for m in modules]
    usable = [f for f in found if f["library"] and f["path"] != "not found"]
    return (usable or found or [{"library": None, "path": None, "family": None}])[0]


def linked_mpi(executable: str, library_path: str | None = None) -> dict[str, Any]:
    """{"library": "libmpich.so.12", "path": "/usr/lib/.../libmpich.so.12", "family": "MPICH"},
    from ldd; library None for an executable that links no MPI (or that ldd cannot read), and
    "not found" as the path when the loader cannot find the library."""
    env = None
    if library_path:
        env = {**os.environ, "LD_LIBRARY_PATH": library_path}
    try:
        out = subprocess.run(
            ["ldd", executable], capture_output=True, text=True, timeout=10, check=False, env=env
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    return parse_ldd(out)


def parse_ldd(out: str) -> dict[str, Any]:
    """The core MPI library in ldd's output (libmpich/libmpi before libmpifort & co)."""
    matches = [m.groups() for m in map(_MPI_LIB.match, out.splitlines()) if m]
    if not matches:
        return {"library": None, "path": None, "family": None}
    core = [m for m in matches if m[0].startswith(("libmpich.so", "libmpi.so"))]
    name, path = (core or matches)[0]
    family = next((f for prefix, f in _FAMILIES if name.startswith(prefix)), None)
    return {"library": name, "path": "not found" if path == "not" else path, "family": family}
