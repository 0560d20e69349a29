"""The batch script and the sbatch command line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from localrun.executor.base import LaunchRequest
from localrun.executor.slurm.script import (
    JobOptions,
    batch_script,
    job_id,
    model_argv,
    sbatch_argv,
    time_limit,
    write_script,
)


def request(tmp_path: Path, **changes: object) -> LaunchRequest:
    (tmp_path / "logs").mkdir(exist_ok=True)
    base = {
        "run_id": "r1",
        "work_dir": str(tmp_path),
        "log_dir": str(tmp_path / "logs"),
        "cores": 2,
        "walltime_s": 61,
        "executable": "/m/wrf.exe",
    }
    return LaunchRequest(**{**base, **changes})  # type: ignore[arg-type]


def test_sbatch_has_every_flag(tmp_path: Path) -> None:
    options = JobOptions(partition="p", account="a", extra_args=["--qos=low"])
    argv = sbatch_argv("sbatch", request(tmp_path), options)
    assert argv[:2] == ["sbatch", "--parsable"]
    for flag in ("--job-name=r1", "--ntasks=2", "--time=2", f"--chdir={tmp_path}"):
        assert flag in argv
    assert f"--output={tmp_path}/logs/mpirun.stdout" in argv
    assert argv[-3:] == ["--account=a", "--qos=low", f"{tmp_path}/logs/job.sbatch"]
    assert time_limit(60) == "1" and time_limit(1) == "1"


def test_the_model_under_srun_or_mpirun(tmp_path: Path) -> None:
    assert model_argv(request(tmp_path), JobOptions()) == ["srun", "--mpi=pmi2", "/m/wrf.exe"]
    mpirun = JobOptions(mpi="mpirun", mpirun="/x/mpiexec")
    assert model_argv(request(tmp_path), mpirun) == ["/x/mpiexec", "-np", "2", "/m/wrf.exe"]


def test_the_script_records_the_exit_status(tmp_path: Path) -> None:
    shell = request(tmp_path, executable=None, command="echo hi; exit 4")
    path = write_script(shell, JobOptions())
    assert path.read_text() == batch_script(shell, JobOptions())
    done = subprocess.run(["/bin/sh", str(path)], capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (4, "hi\n")
    assert Path(shell.exit_file).read_text().strip() == "4"


def test_job_ids_from_parsable_output() -> None:
    assert job_id("17\n") == "17" and job_id("17;cluster\n") == "17"
    with pytest.raises(ValueError):
        job_id("Submitted batch job 17")
