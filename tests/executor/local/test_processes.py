from __future__ import annotations

import resource
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest

from localrun.config import default_mpirun
from localrun.executor import Exited, LaunchRequest
from localrun.executor.local import LocalExecutor
from localrun.executor.local.processes import Pid
from tests.polling import eventually

CHILD_TREE = """
import os, subprocess, sys, time, signal
if len(sys.argv) > 1:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(600)
kids = [subprocess.Popen([sys.executable, __file__, "x"], start_new_session=True) for _ in range(2)]
print("ready", flush=True)
time.sleep(600)
"""


@pytest.fixture
async def ex() -> AsyncIterator[LocalExecutor]:
    executor = LocalExecutor(default_mpirun())
    yield executor
    executor.close()


def request(
    tmp_path: Path, command: str | None = None, executable: str | None = None, cores: int = 1
) -> LaunchRequest:
    (tmp_path / "logs").mkdir(exist_ok=True)
    return LaunchRequest(
        run_id="r1",
        work_dir=str(tmp_path),
        log_dir=str(tmp_path / "logs"),
        cores=cores,
        walltime_s=60,
        env={"X": "42"},
        command=command,
        executable=executable,
    )


def out(req: LaunchRequest) -> str:
    path = Path(req.stdout)
    return path.read_text() if path.exists() else ""


async def test_a_run_has_its_own_session_environment_and_stack(
    tmp_path: Path, ex: LocalExecutor
) -> None:
    code = "import os,resource;print(os.getsid(0)==os.getpgid(0), os.environ['X']);"
    code += "print(resource.getrlimit(resource.RLIMIT_STACK))"
    req = request(tmp_path, f'{sys.executable} -c "{code}"')
    ref = await ex.spawn(req)
    assert await eventually(lambda: ex.poll(ref), timeout=30) == Exited(0)
    lines = out(req).splitlines()
    assert lines[0] == "True 42"
    hard = resource.getrlimit(resource.RLIMIT_STACK)[1]
    assert lines[1] == str((hard, hard))
    assert Path(req.exit_file).read_text() == "0\n"
    assert ex.describe(ref) == f"pid {Pid.parse(ref).pid}"


async def test_stop_kills_the_whole_tree_even_when_it_ignores_sigterm(
    tmp_path: Path, ex: LocalExecutor
) -> None:
    script = tmp_path / "tree.py"
    script.write_text(CHILD_TREE)
    req = request(tmp_path, f"exec {sys.executable} {script}")
    ref = await ex.spawn(req)
    await eventually(lambda: out(req).strip() == "ready", timeout=30)
    root = psutil.Process(Pid.parse(ref).pid)
    tree = [root, *root.children(recursive=True)]
    assert len(tree) == 4  # the wrapper, python, and its two setsid children
    await ex.stop(ref, grace_s=0.5)
    for proc in tree:
        assert not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    assert await ex.poll(ref) is not None


async def test_a_run_ends_only_when_what_it_left_behind_is_gone(
    tmp_path: Path, ex: LocalExecutor
) -> None:
    req = request(tmp_path, "sleep 300 & echo $!")
    ref = await ex.spawn(req)
    await eventually(lambda: out(req).strip().isdigit(), timeout=30)
    orphan = psutil.Process(int(out(req)))
    assert await eventually(lambda: ex.poll(ref), timeout=30) == Exited(0)
    assert not orphan.is_running() or orphan.status() == psutil.STATUS_ZOMBIE


async def test_a_signal_reads_as_popen_reports_it_also_after_adoption(
    tmp_path: Path, ex: LocalExecutor
) -> None:
    req = request(tmp_path, "echo up; kill -KILL $$")
    ref = await ex.spawn(req)
    assert await eventually(lambda: ex.poll(ref), timeout=30) == Exited(-signal.SIGKILL)
    assert Path(req.exit_file).read_text() == "137\n"
    adopted = LocalExecutor(default_mpirun())
    try:
        assert not await adopted.adopt(ref, req)
        assert await adopted.poll(ref) == Exited(-signal.SIGKILL)
    finally:
        adopted.close()


async def test_a_killed_mpi_run_leaves_no_hydra_file_in_tmp(
    tmp_path: Path, ex: LocalExecutor
) -> None:
    code = "from mpi4py import MPI; import time; print('up', flush=True); time.sleep(60)"
    req = request(tmp_path, f'{default_mpirun()} -np 2 {sys.executable} -c "{code}"')
    ref = await ex.spawn(req)
    await eventually(lambda: out(req).count("up") == 2, timeout=30)
    root = psutil.Process(Pid.parse(ref).pid)
    proxies = [p for p in root.children(recursive=True) if "proxy" in p.name()]
    scratch = {f.path for p in proxies for f in p.open_files() if "hwloc" in f.path}
    assert scratch and all(Path(p).exists() for p in scratch)
    await ex.stop(ref, grace_s=0.0)
    await eventually(lambda: ex.poll(ref), timeout=30)
    assert not any(Path(p).exists() for p in scratch)


async def test_an_aborted_mpi_run_leaves_no_hydra_file_in_tmp(
    tmp_path: Path, ex: LocalExecutor
) -> None:
    before = set(Path("/tmp").glob("hydra_hwloc_xmlfile_*"))
    script = tmp_path / "abort.py"
    script.write_text("from mpi4py import MPI; MPI.COMM_WORLD.Abort(3)\n")
    model = tmp_path / "model"
    model.write_text(f"#!/bin/sh\nexec {sys.executable} {script}\n")
    model.chmod(0o755)
    ref = await ex.spawn(request(tmp_path, executable=str(model), cores=2))
    exited = await eventually(lambda: ex.poll(ref), timeout=30)
    assert exited != Exited(0)
    assert set(Path("/tmp").glob("hydra_hwloc_xmlfile_*")) <= before


async def test_a_missing_launcher_is_refused_at_spawn(tmp_path: Path) -> None:
    executor = LocalExecutor("/nonexistent/mpiexec")
    try:
        with pytest.raises(FileNotFoundError, match="/nonexistent/mpiexec"):
            await executor.spawn(request(tmp_path, executable="/bin/true"))
    finally:
        executor.close()


async def test_a_run_spawned_with_the_earlier_wrapper_is_adopted(
    tmp_path: Path, ex: LocalExecutor
) -> None:
    req = request(tmp_path, "sleep 30")
    argv = ex._full_argv(req, earlier=True)
    assert argv != ex._full_argv(req)
    child = spawn_detached(argv, req)
    try:
        ref = Pid(child.pid, psutil.Process(child.pid).create_time()).ref()
        assert await ex.find(req) == ref
        assert await ex.adopt(ref, req)
        await ex.stop(ref, grace_s=0.5)
        assert await eventually(lambda: ex.poll(ref), timeout=30) is not None
    finally:
        child.kill()
        child.wait()


def spawn_detached(argv: list[str], req: LaunchRequest) -> subprocess.Popen[bytes]:
    with open(req.stdout, "ab") as stdout:
        return subprocess.Popen(
            argv, cwd=req.work_dir, stdout=stdout, stderr=stdout, start_new_session=True
        )
