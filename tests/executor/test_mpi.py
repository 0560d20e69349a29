from __future__ import annotations

from pathlib import Path

from localrun.config import default_mpirun
from localrun.executor.local import mpi


def test_the_shipped_launcher_is_mpich_with_a_version() -> None:
    found = mpi.describe(default_mpirun())
    assert found["found"] is True
    assert Path(found["launcher"]).exists()
    assert found["version"]
    assert str(found["library"]).startswith("MPICH ")


def test_a_missing_launcher_is_reported_not_raised(tmp_path: Path) -> None:
    found = mpi.describe(str(tmp_path / "no-mpirun"))
    assert found == {
        "launcher": str(tmp_path / "no-mpirun"),
        "found": False,
        "version": None,
        "library": None,
    }
