"""MPICH's hydra_pmi_proxy keeps a topology file in /tmp that only its clean exit removes;
a killed or aborted run would leave it behind."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import psutil

SCRATCH_DIR = Path("/tmp")  # hydra's path is fixed, whatever TMPDIR says
SCRATCH_PREFIX = "hydra_hwloc_xmlfile_"


def remove_scratch(since: float) -> None:
    """Remove our scratch files that appeared since the run began and that no live proxy
    still holds open."""
    ours = [path for path in SCRATCH_DIR.glob(SCRATCH_PREFIX + "*") if _owned_since(path, since)]
    if not ours:
        return
    held: set[str] = set()
    for proc in psutil.process_iter(["name"]):
        if (proc.info["name"] or "").startswith("hydra_pmi_proxy"):
            with contextlib.suppress(psutil.Error):
                held.update(f.path for f in proc.open_files())
    for path in ours:
        if str(path) not in held:
            path.unlink(missing_ok=True)


def _owned_since(path: Path, since: float) -> bool:
    try:
        info = path.lstat()
    except OSError:
        return False
    return info.st_uid == os.getuid() and info.st_mtime >= since
