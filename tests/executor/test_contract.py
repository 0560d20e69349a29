"""The cases every executor must pass, run against each backend the machine has."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from localrun.config import default_mpirun
from localrun.executor import Executor, Exited, LaunchRequest
from localrun.executor.local import LocalExecutor
from localrun.executor.slurm import SlurmExecutor, SlurmTools
from localrun.executor.slurm.script import JobOptions
from tests.polling import eventually

Factory = Callable[[], Executor]

TERM_AWARE = """
import signal, sys, time
def done(*_):
    print("got TERM", flush=True)
    sys.exit(3)
signal.signal(signal.SIGTERM, done)
print("ready", flush=True)
time.sleep(600)
"""


@pytest.fixture(params=["local", "slurm"])
async def new_executor(request: pytest.FixtureRequest) -> AsyncIterator[Factory]:
    made: list[LocalExecutor | SlurmExecutor] = []
    if request.param == "slurm":
        request.getfixturevalue("slurm")

    def factory() -> Executor:
        if request.param == "slurm":
            made.append(SlurmExecutor(SlurmTools(), JobOptions(mpirun=default_mpirun())))
        else:
            made.append(LocalExecutor(default_mpirun()))
        return made[-1]

    yield factory
    for executor in made:
        executor.close()


def shell(tmp_path: Path, command: str, cores: int = 1) -> LaunchRequest:
    work, logs = tmp_path / "work", tmp_path / "logs"
    work.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    return LaunchRequest(
        run_id="r1",
        work_dir=str(work),
        log_dir=str(logs),
        cores=cores,
        walltime_s=600,
        command=command,
    )


async def running(executor: Executor, ref: str) -> None:
    """Until the run runs: a scheduler may queue it first."""

    async def started() -> bool:
        polled = await executor.poll(ref)
        assert not isinstance(polled, Exited), polled
        return polled is None

    await eventually(started, timeout=60)


async def exit_code(executor: Executor, ref: str, within: float = 30) -> int | None:
    async def ended() -> Exited | None:
        polled = await executor.poll(ref)
        return polled if isinstance(polled, Exited) else None

    return (await eventually(ended, timeout=within)).exit_code


def stdout(request: LaunchRequest) -> str:
    path = Path(request.stdout)
    return path.read_text() if path.exists() else ""


async def test_spawn_then_poll_to_its_exit_code(tmp_path: Path, new_executor: Factory) -> None:
    executor = new_executor()
    request = shell(tmp_path, "echo hello; pwd; exit 7")
    ref = await executor.spawn(request)
    assert await exit_code(executor, ref) == 7
    assert stdout(request).splitlines() == ["hello", request.work_dir]


async def test_an_mpi_executable_runs_on_its_cores(tmp_path: Path, new_executor: Factory) -> None:
    script = tmp_path / "rank.py"
    script.write_text(
        "import sys; from mpi4py import MPI\n"
        'sys.stdout.write(f"{MPI.COMM_WORLD.Get_size()}\\n"); sys.stdout.flush()\n'
    )
    exe = tmp_path / "model"
    exe.write_text(f"#!/bin/sh\nexec {sys.executable} {script}\n")
    exe.chmod(0o755)
    request = shell(tmp_path, "true", cores=2)
    request = LaunchRequest(**{**request.record(), "command": None, "executable": str(exe)})
    executor = new_executor()
    recorded = executor.command(request)
    ref = await executor.spawn(request)
    if recorded[-1] != str(exe):  # a batch script, which starts the executable
        assert Path(recorded[-1]).read_text().rstrip().endswith(str(exe))
    assert await exit_code(executor, ref, within=60) == 0
    assert stdout(request).split() == ["2", "2"]


async def test_sample_sees_the_live_run(tmp_path: Path, new_executor: Factory) -> None:
    executor = new_executor()
    ref = await executor.spawn(shell(tmp_path, "sleep 30"))
    try:
        await running(executor, ref)
        sample = await executor.sample(ref)
        assert sample.alive
        assert sample.processes is None or sample.processes >= 1
        assert sample.cpu_percent is None or sample.cpu_percent >= 0
    finally:
        await executor.stop(ref, grace_s=0)
    assert await eventually(lambda: executor.poll(ref), timeout=10) is not None


async def test_stop_asks_first_then_ends_it(tmp_path: Path, new_executor: Factory) -> None:
    script = tmp_path / "graceful.py"
    script.write_text(TERM_AWARE)
    executor = new_executor()
    request = shell(tmp_path, f"{sys.executable} {script}")
    ref = await executor.spawn(request)
    await eventually(lambda: "ready" in stdout(request), timeout=30)
    await executor.stop(ref, grace_s=10)
    assert "got TERM" in stdout(request)
    assert await eventually(lambda: executor.poll(ref), timeout=10) is not None
    stubborn = shell(tmp_path / "stubborn", "trap '' TERM; echo ready; sleep 300 & wait")
    ref = await executor.spawn(stubborn)
    await eventually(lambda: "ready" in stdout(stubborn), timeout=30)
    await executor.stop(ref, grace_s=0.3)
    assert await eventually(lambda: executor.poll(ref), timeout=10) is not None


async def test_a_new_executor_adopts_a_live_run_and_reads_its_exit(
    tmp_path: Path, new_executor: Factory
) -> None:
    first = new_executor()
    request = shell(tmp_path, "read line < fifo; exit 5")
    os.mkfifo(tmp_path / "work" / "fifo")
    ref = await first.spawn(request)
    after_restart = new_executor()
    assert await after_restart.adopt(ref, request)  # at once: no race with the start-up
    other = LaunchRequest(**{**request.record(), "command": "something else"})
    assert not await new_executor().adopt(ref, other)
    await running(after_restart, ref)
    assert (await after_restart.sample(ref)).alive
    with open(tmp_path / "work" / "fifo", "w") as fifo:
        fifo.write("go\n")
    assert await exit_code(after_restart, ref) == 5
    await eventually(lambda: first.poll(ref), timeout=30)  # reap it


async def test_find_knows_a_run_spawned_just_before_a_crash(
    tmp_path: Path, new_executor: Factory
) -> None:
    request = shell(tmp_path, "sleep 30")
    ref = await new_executor().spawn(request)
    try:
        after_crash = new_executor()
        assert await after_crash.find(request) == ref
        elsewhere = LaunchRequest(**{**request.record(), "work_dir": str(tmp_path)})
        assert await after_crash.find(elsewhere) is None
        assert await after_crash.find(shell(tmp_path, "sleep 31")) is None
        assert await after_crash.adopt(ref, request)
    finally:
        await after_crash.stop(ref, grace_s=0)
