from __future__ import annotations

import resource
import subprocess
from pathlib import Path

import pytest

from localrun.executor import LaunchRequest
from localrun.executor.local.command import run_argv, status_from_file, wrapped


def test_the_model_runs_under_the_launcher_and_a_command_under_sh() -> None:
    base = {"run_id": "r", "work_dir": "/w", "log_dir": "/l", "cores": 4, "walltime_s": 60}
    model = LaunchRequest(**base, executable="/opt/wrf.exe")  # type: ignore[arg-type]
    assert run_argv(model, "/x/mpiexec") == ["/x/mpiexec", "-np", "4", "/opt/wrf.exe"]
    job = LaunchRequest(**base, command="cd case; ./Allrun")  # type: ignore[arg-type]
    assert run_argv(job, "/x/mpiexec") == ["/bin/sh", "-c", "cd case; ./Allrun"]
    with pytest.raises(ValueError, match="executable or a command"):
        LaunchRequest(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("command", "status", "written"),
    [
        ("exit 0", 0, "0"),
        ("exit 3", 3, "3"),
        ("kill -TERM $$", -15, "143"),
        ("exit 200", 200, "200"),
    ],
)
def test_the_wrapper_records_the_status_and_keeps_it(
    tmp_path: Path, command: str, status: int, written: str
) -> None:
    exit_file = tmp_path / "exit_status"
    done = subprocess.run(wrapped(["/bin/sh", "-c", command], str(exit_file)), timeout=30)
    assert done.returncode == status
    assert exit_file.read_text() == written + "\n"
    assert status_from_file(exit_file.read_text()) == status


def test_an_unreadable_status_is_unknown() -> None:
    assert status_from_file("") is None
    assert status_from_file("garbage") is None


def stack_in_wrapper(tmp_path: Path, hard_limit: str | None, earlier: bool = False) -> str:
    argv = wrapped(["/bin/sh", "-c", "ulimit -s"], str(tmp_path / "exit"), earlier=earlier)
    if hard_limit is not None:
        argv = ["/bin/sh", "-c", f'ulimit -H -s {hard_limit} && exec "$@"', "sh", *argv]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True)
    return done.stdout.strip()


def test_the_wrapper_raises_the_stack_to_the_hard_limit(tmp_path: Path) -> None:
    hard = resource.getrlimit(resource.RLIMIT_STACK)[1]
    expected = "unlimited" if hard == resource.RLIM_INFINITY else str(hard // 1024)
    assert stack_in_wrapper(tmp_path, None) == expected
    assert stack_in_wrapper(tmp_path, "16384") == "16384"
    assert stack_in_wrapper(tmp_path, "16384", earlier=True) == "16384"
    assert stack_in_wrapper(tmp_path, None, earlier=True) == expected
