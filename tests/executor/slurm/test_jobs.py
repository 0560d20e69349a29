"""What the Slurm executor adds to the contract, on the real cluster: the cluster it sees, jobs
Slurm has never heard of, and a controller that does not answer."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

from localrun.executor import Exited, LaunchRequest
from localrun.executor.slurm import SlurmExecutor, SlurmTools
from localrun.executor.slurm.script import JobOptions
from tests.polling import eventually


async def test_health_and_capacity_come_from_sinfo(slurm: None) -> None:
    executor = SlurmExecutor(SlurmTools(), JobOptions())
    try:
        health = await executor.health()
        part = health["cluster"]["partitions"][0]
        assert health["name"] == "slurm" and part["cores_per_node"] == os.cpu_count()
        assert await executor.capacity() == part["cores_per_node"] * part["nodes"]
        assert not executor.counts_cores and executor.isolation == "none"
    finally:
        executor.close()


async def test_a_job_slurm_never_knew_has_ended_with_no_status(slurm: None) -> None:
    executor = SlurmExecutor(SlurmTools(), JobOptions())
    try:
        await executor.refresh(["99999999"])
        assert await executor.poll("99999999") == Exited(None, None)
    finally:
        executor.close()


async def test_a_missing_sinfo_is_reported_not_raised() -> None:
    executor = SlurmExecutor(SlurmTools(sinfo="/nonexistent/sinfo"), JobOptions())
    try:
        health = await executor.health()
        assert health["cluster"] is None and "not found" in health["error"]
        assert await executor.capacity() is None
    finally:
        executor.close()


def outage(tmp_path: Path) -> tuple[SlurmTools, Path]:
    """Slurm's commands behind a switch: while the file `down` exists each says what it says
    when slurmctld is gone; otherwise it is the real command."""
    folder, down = tmp_path / "tools", tmp_path / "down"
    folder.mkdir()
    paths = {}
    for name in ("sbatch", "squeue", "scancel", "sacct", "scontrol", "sinfo"):
        real = shutil.which(name)
        assert real is not None
        tool = folder / name
        tool.write_text(
            f"#!/bin/sh\nif [ -e {down} ]; then\n"
            f"  echo '{name}: error: Unable to contact slurm controller (connect failure)' >&2\n"
            f'  exit 1\nfi\nexec {real} "$@"\n'
        )
        tool.chmod(0o755)
        paths[name] = str(tool)
    return SlurmTools(**paths), down


def waiting_job(tmp_path: Path) -> LaunchRequest:
    """A job that runs until a line is written to work/fifo, then exits 5."""
    (tmp_path / "work").mkdir()
    (tmp_path / "logs").mkdir()
    os.mkfifo(tmp_path / "work" / "fifo")
    return LaunchRequest(
        run_id="r1",
        work_dir=str(tmp_path / "work"),
        log_dir=str(tmp_path / "logs"),
        cores=1,
        walltime_s=600,
        command="read line < fifo; exit 5",
    )


def squeue_state(job: str) -> str:
    argv = ["squeue", "--noheader", "--states=all", f"--jobs={job}", "--format=%T"]
    return subprocess.run(argv, capture_output=True, text=True).stdout.strip()


async def until_running(executor: SlurmExecutor, ref: str) -> None:
    await eventually(lambda: squeue_state(ref) == "RUNNING", timeout=60)
    await executor.refresh([ref])
    assert await executor.poll(ref) is None


async def test_while_slurm_does_not_answer_nothing_is_decided_and_a_stop_waits(
    slurm: None, tmp_path: Path
) -> None:
    tools, down = outage(tmp_path)
    executor = SlurmExecutor(tools, JobOptions())
    try:
        request = waiting_job(tmp_path)
        ref = await executor.spawn(request)
        await until_running(executor, ref)
        assert (await executor.health())["cluster"]["nodes"] == 1
        down.touch()
        for _ in range(3):  # no answer is no news: the job runs, as far as anyone knows
            await executor.refresh([ref])
            assert await executor.poll(ref) is None
        health = await asyncio.wait_for(executor.health(), 5)
        assert "Unable to contact slurm controller" in health["error"], health
        assert health["cluster"]["nodes"] == 1  # as last seen
        assert await executor.capacity() == health["cluster"]["partitions"][0]["total_cores"]
        stopping = asyncio.create_task(executor.stop(ref, grace_s=1))
        await asyncio.sleep(3)
        assert not stopping.done() and squeue_state(ref) == "RUNNING"  # not given up on
        down.unlink()
        await asyncio.wait_for(stopping, 60)
        assert squeue_state(ref) != "RUNNING"
        ended = await eventually(lambda: executor.poll(ref), timeout=30)
        assert isinstance(ended, Exited) and ended.exit_code != 5
        assert "error" not in await executor.health()
    finally:
        executor.close()


async def test_a_restart_while_slurm_does_not_answer_adopts_and_waits_for_it(
    slurm: None, tmp_path: Path
) -> None:
    tools, down = outage(tmp_path)
    first = SlurmExecutor(tools, JobOptions())
    later = SlurmExecutor(tools, JobOptions())
    try:
        request = waiting_job(tmp_path)
        ref = await first.spawn(request)
        await until_running(first, ref)
        down.touch()
        assert await later.adopt(ref, request)  # its own batch script: ours, until Slurm says
        other = LaunchRequest(**{**request.record(), "command": "something else"})
        assert not await SlurmExecutor(tools, JobOptions()).adopt(ref, other)
        assert await later.poll(ref) is None
        down.unlink()
        with open(tmp_path / "work" / "fifo", "w") as fifo:
            fifo.write("go\n")
        ended = await eventually(lambda: later.poll(ref), timeout=60)
        assert isinstance(ended, Exited) and ended.exit_code == 5
    finally:
        first.close()
        later.close()


async def test_a_partition_the_cluster_lacks_is_reported(slurm: None) -> None:
    executor = SlurmExecutor(SlurmTools(), JobOptions(partition="nope"))
    try:
        health = await executor.health()
        assert "nope" in health["error"] and "debug" in health["error"], health
    finally:
        executor.close()
