"""What every simulator test shares: no MPICH litter left in /tmp."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def no_hydra_litter() -> Iterator[None]:
    """These tests run mpiexec directly, without the executor that cleans up after MPICH: a run
    that dies by signal or MPI_Abort leaves hydra's topology file in /tmp, so remove new ones."""
    before = set(Path("/tmp").glob("hydra_hwloc_xmlfile_*"))
    yield
    for path in set(Path("/tmp").glob("hydra_hwloc_xmlfile_*")) - before:
        path.unlink(missing_ok=True)
