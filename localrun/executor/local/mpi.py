"""What the configured MPI launcher is: its path, its version line, the MPI library behind it."""

from __future__ import annotations

import shutil
import subprocess
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
