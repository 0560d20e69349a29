"""The batch script of a run and the sbatch command that submits it."""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from localrun.executor.base import LaunchRequest
from localrun.executor.local.command import WRAPPER

MPIRUN = "mpirun"  # the slurm_mpi value that starts the model with the mpirun setting


@dataclass(frozen=True)
class JobOptions:
    """What every job is submitted with, from the settings."""

    mpi: str = "pmi2"
    mpirun: str = "mpirun"
    partition: str = ""
    account: str = ""
    extra_args: list[str] = field(default_factory=list)


def script_path(request: LaunchRequest) -> Path:
    return Path(request.log_dir) / "job.sbatch"


def model_argv(request: LaunchRequest, options: JobOptions) -> list[str]:
    """The run inside the job: srun with its MPI plugin, or mpirun (which detects Slurm), or
    the shell command."""
    if request.command is not None:
        return ["/bin/sh", "-c", request.command]
    assert request.executable is not None
    if options.mpi == MPIRUN:
        return [options.mpirun, "-np", str(request.cores), request.executable]
    return ["srun", f"--mpi={options.mpi}", request.executable]


def batch_script(request: LaunchRequest, options: JobOptions) -> str:
    """The launch wrapper of the local executor as a batch script: it runs the model and
    writes its exit status to logs/exit_status before it ends, surviving a stop's SIGTERM."""
    argv = [request.exit_file, *model_argv(request, options)]
    return (
        "#!/bin/sh\n"
        f"# localrun run {request.run_id}: the model's exit status goes to {request.exit_file}\n"
        f"exec /bin/sh -c {shlex.quote(WRAPPER)} {shlex.join(argv)}\n"
    )


def time_limit(walltime_s: int) -> str:
    """sbatch's --time in whole minutes (Slurm's own granularity), rounded up."""
    return str(max(1, math.ceil(walltime_s / 60)))


def sbatch_argv(sbatch: str, request: LaunchRequest, options: JobOptions) -> list[str]:
    argv = [
        sbatch,
        "--parsable",
        f"--job-name={request.run_id}",
        f"--ntasks={request.cores}",
        f"--time={time_limit(request.walltime_s)}",
        f"--chdir={request.work_dir}",
        f"--output={request.stdout}",
        f"--error={request.stderr}",
        "--open-mode=append",
    ]
    if options.partition:
        argv.append(f"--partition={options.partition}")
    if options.account:
        argv.append(f"--account={options.account}")
    return [*argv, *options.extra_args, str(script_path(request))]


def write_script(request: LaunchRequest, options: JobOptions) -> Path:
    """The batch script, written whole under a temporary name and renamed."""
    path = script_path(request)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(batch_script(request, options))
    tmp.chmod(0o755)
    tmp.replace(path)
    return path


def job_id(parsable: str) -> str:
    """sbatch --parsable prints 'id' or 'id;cluster'."""
    first = parsable.strip().splitlines()[0] if parsable.strip() else ""
    found = first.split(";", 1)[0].strip()
    if not found.isdigit():
        raise ValueError(f"sbatch printed {parsable.strip()!r}, not a job id")
    return found
