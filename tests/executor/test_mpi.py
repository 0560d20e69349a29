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


OPEN_MPI_LDD = """\
\tlinux-vdso.so.1 (0x00007ffd1b9f2000)
\tlibmpi_mpifh.so.40 => /usr/lib/x86_64-linux-gnu/libmpi_mpifh.so.40 (0x00007f3c1c000000)
\tlibmpi.so.40 => /usr/lib/x86_64-linux-gnu/libmpi.so.40 (0x00007f3c1bc00000)
\tlibnetcdff.so.7 => /usr/lib/x86_64-linux-gnu/libnetcdff.so.7 (0x00007f3c1b800000)
"""


def test_ldd_names_the_core_mpi_library() -> None:
    assert mpi.parse_ldd(OPEN_MPI_LDD) == {
        "library": "libmpi.so.40",
        "path": "/usr/lib/x86_64-linux-gnu/libmpi.so.40",
        "family": "Open MPI",
    }
    mpich = "\tlibmpich.so.12 => not found\n\tlibmpichfort.so.12 => not found\n"
    assert mpi.parse_ldd(mpich) == {
        "library": "libmpich.so.12",
        "path": "not found",
        "family": "MPICH",
    }
    assert mpi.parse_ldd("\tnot a dynamic executable\n")["library"] is None


def test_the_simulator_links_the_wheels_mpich() -> None:
    found = mpi.simulator_mpi()
    assert found["family"] == "MPICH" and Path(found["path"]).is_file(), found


def test_a_model_whose_mpi_the_loader_cannot_find(tmp_path: Path) -> None:
    import mpi4py

    module = next(Path(mpi4py.__file__).parent.glob("MPI.mpich*.so"))
    assert mpi.linked_mpi(str(module)) == {
        "library": "libmpi.so.12",
        "path": "not found",  # the wheel's folder is not on the loader's path
        "family": "MPICH",
    }
    assert mpi.linked_mpi(str(tmp_path / "none"))["library"] is None
