"""A command run to its end from inside a run (the case helper's `mpirun -np N wrf.exe`): in the
run's own session and sandbox, so that the supervisor's stop reaches it with the rest."""

from __future__ import annotations

import subprocess
from pathlib import Path


def run_to_end(argv: list[str], cwd: Path, stdout: Path, stderr: Path) -> int:
    """argv's exit status (-N for signal N), its output written to the two files."""
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        return subprocess.run(argv, cwd=cwd, stdout=out, stderr=err, check=False).returncode
