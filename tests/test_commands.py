from __future__ import annotations

import pytest

from localrun.commands import declared_ranks


@pytest.mark.parametrize(
    ("command", "ranks"),
    [
        ("mpirun -np 2 wrf.exe", 2),
        ("cd case && mpiexec -n 4 ./wrf.exe > log", 4),
        ("/usr/bin/mpirun --np=3 wrf.exe; echo done", 3),
        ("srun --ntasks 8 wrf.exe", 8),
        ("mpirun -np 1 ideal.exe && mpirun -np 2 wrf.exe", 2),
        ("wrf.exe", None),
        ("echo mpirun -np 9", None),
        ("mpirun wrf.exe", None),
        ("mpirun -np $N wrf.exe", None),
        ("mpirun -np 'unterminated", None),
        ("# mpirun -np 5 wrf.exe", None),
    ],
)
def test_the_ranks_a_command_asks_for(command: str, ranks: int | None) -> None:
    assert declared_ranks(command) == ranks
