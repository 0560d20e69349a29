from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import psutil

from localrun.config import default_mpirun
from localrun.executor import Exited, LaunchSpec
from localrun.executor.local import LocalExecutor

CHILD_TREE = """
import os, subprocess, sys, time, signal
if len(sys.argv) > 1:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(600)
kids = [subprocess.Popen([sys.executable, __file__, "x"], start_new_session=True) for _ in range(2)]
print("ready", flush=True)
time.sleep(600)
"""


def spec(tmp_path: Path, argv: list[str]) -> LaunchSpec:
    return LaunchSpec(
        argv=argv, cwd=str(tmp_path), stdout=str(tmp_path / "out"), stderr=str(tmp_path / "err")
    )


def wait(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_spawn_in_own_session_with_output_to_files(tmp_path: Path) -> None:
    ex = LocalExecutor()
    code = "import os,resource;print(os.getsid(0)==os.getpid(), os.environ['X']);"
    code += "print(resource.getrlimit(resource.RLIMIT_STACK))"
    handle = ex.spawn(
        LaunchSpec(
            argv=[sys.executable, "-c", code],
            cwd=str(tmp_path),
            stdout=str(tmp_path / "out"),
            stderr=str(tmp_path / "err"),
            env={"X": "42"},
        )
    )
    wait(lambda: ex.poll(handle) is not None)
    assert ex.poll(handle).exit_code == 0  # type: ignore[union-attr]
    lines = (tmp_path / "out").read_text().splitlines()
    assert lines[0] == "True 42"
    import resource

    hard = resource.getrlimit(resource.RLIMIT_STACK)[1]
    assert lines[1] == str((hard, hard))


def test_stop_kills_the_whole_tree_even_when_it_ignores_sigterm(tmp_path: Path) -> None:
    script = tmp_path / "tree.py"
    script.write_text(CHILD_TREE)
    ex = LocalExecutor()
    handle = ex.spawn(spec(tmp_path, [sys.executable, str(script)]))
    wait(lambda: (tmp_path / "out").read_text().strip() == "ready")
    tree = [psutil.Process(handle.pid), *psutil.Process(handle.pid).children(recursive=True)]
    assert len(tree) == 3
    import asyncio

    started = time.monotonic()
    asyncio.run(ex.stop(handle, grace_s=0.5))
    assert time.monotonic() - started < 5
    for proc in tree:
        assert not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    assert ex.poll(handle) is not None


def test_adopt_checks_create_time_and_cmdline(tmp_path: Path) -> None:
    ex = LocalExecutor()
    argv = [sys.executable, "-c", "import time; time.sleep(30)"]
    handle = ex.spawn(spec(tmp_path, argv))
    try:
        other = LocalExecutor()
        assert other.adopt(handle, argv)
        assert not other.adopt(handle, [*argv, "x"])
        from localrun.executor import Handle

        assert not other.adopt(Handle(handle.pid, handle.create_time - 100), argv)
        assert other.poll(handle) is None
        assert other.sample(handle).alive
    finally:
        os.kill(handle.pid, signal.SIGKILL)
    wait(lambda: ex.poll(handle) is not None)
    assert ex.poll(handle).exit_code == -signal.SIGKILL  # type: ignore[union-attr]


GRACEFUL = """
import signal, sys, time
def done(*_):
    print("got TERM", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
print("ready", flush=True)
time.sleep(600)
"""


def test_stop_sends_sigterm_to_every_process_not_only_the_shell(tmp_path: Path) -> None:
    script = tmp_path / "graceful.py"
    script.write_text(GRACEFUL)
    ex = LocalExecutor()
    argv = ["/bin/sh", "-c", f"{sys.executable} {script}; echo after"]
    handle = ex.spawn(spec(tmp_path, argv))
    wait(lambda: "ready" in (tmp_path / "out").read_text())
    import asyncio

    asyncio.run(ex.stop(handle, grace_s=5.0))
    assert "got TERM" in (tmp_path / "out").read_text()
    wait(lambda: ex.poll(handle) is not None)


def test_a_run_ends_only_when_what_it_left_behind_is_gone(tmp_path: Path) -> None:
    ex = LocalExecutor()
    handle = ex.spawn(spec(tmp_path, ["/bin/sh", "-c", "sleep 300 & echo $!"]))
    wait(lambda: (tmp_path / "out").read_text().strip().isdigit())
    orphan = psutil.Process(int((tmp_path / "out").read_text()))
    wait(lambda: ex.poll(handle) is not None)
    assert ex.poll(handle) == Exited(0)
    assert not orphan.is_running() or orphan.status() == psutil.STATUS_ZOMBIE


def test_a_killed_mpi_run_leaves_no_hydra_file_in_tmp(tmp_path: Path) -> None:
    code = "from mpi4py import MPI; import time; print('up', flush=True); time.sleep(60)"
    argv = [default_mpirun(), "-np", "2", sys.executable, "-c", code]
    ex = LocalExecutor()
    handle = ex.spawn(spec(tmp_path, argv))
    wait(lambda: (tmp_path / "out").read_text().count("up") == 2, timeout=30)
    proxies = [
        p for p in psutil.Process(handle.pid).children(recursive=True) if "proxy" in p.name()
    ]
    scratch = {f.path for p in proxies for f in p.open_files() if "hwloc" in f.path}
    assert scratch and all(Path(p).exists() for p in scratch)
    import asyncio

    asyncio.run(ex.stop(handle, grace_s=0.0))
    wait(lambda: ex.poll(handle) is not None)
    assert not any(Path(p).exists() for p in scratch)


def test_an_aborted_mpi_run_leaves_no_hydra_file_in_tmp(tmp_path: Path) -> None:
    before = set(Path("/tmp").glob("hydra_hwloc_xmlfile_*"))
    code = "from mpi4py import MPI; MPI.COMM_WORLD.Abort(3)"
    ex = LocalExecutor()
    handle = ex.spawn(spec(tmp_path, [default_mpirun(), "-np", "2", sys.executable, "-c", code]))
    wait(lambda: ex.poll(handle) is not None, timeout=30)
    assert ex.poll(handle) != Exited(0)
    assert set(Path("/tmp").glob("hydra_hwloc_xmlfile_*")) <= before


def test_find_knows_a_run_spawned_before_its_pid_was_noted(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import time; time.sleep(30)"]
    handle = LocalExecutor().spawn(spec(tmp_path, argv))
    try:
        other = LocalExecutor()
        wait(lambda: other.find(argv, str(tmp_path)) is not None)
        assert other.find(argv, str(tmp_path)) == handle
        assert other.find(argv, str(tmp_path / "elsewhere")) is None
        assert other.find([*argv, "x"], str(tmp_path)) is None
    finally:
        os.kill(handle.pid, signal.SIGKILL)
