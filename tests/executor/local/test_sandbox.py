"""The sandbox's session: one setsid (the executor's), no controlling terminal inside, and the
runs an earlier version spawned (bwrap --new-session) still adopted. Needs bubblewrap
(scripts/system-packages installs it): without it these fail."""

from __future__ import annotations

import os
import shutil
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
from localrun.executor.local.sandbox import Sandbox, make_sandbox
from tests.polling import eventually

INSIDE = """
import errno, os
try:
    open("/dev/tty").close()
    print("tty", flush=True)
except OSError as exc:
    print("no tty", errno.errorcode[exc.errno], flush=True)
"""


def sandbox(tmp_path: Path) -> Sandbox:
    bwrap = shutil.which("bwrap")
    assert bwrap is not None, "bubblewrap is not installed (scripts/system-packages)"
    return make_sandbox(bwrap, data_dir=tmp_path / "data", programs=[default_mpirun()])


def request(tmp_path: Path, command: str) -> LaunchRequest:
    root = tmp_path / "data" / "runs" / "r1"
    for folder in ("work", "logs", "input"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    return LaunchRequest(
        run_id="r1",
        work_dir=str(root / "work"),
        log_dir=str(root / "logs"),
        cores=1,
        walltime_s=60,
        env={"LOCALRUN_RUN_ID": "r1"},
        command=command,
    )


@pytest.fixture
async def ex(tmp_path: Path) -> AsyncIterator[LocalExecutor]:
    executor = LocalExecutor(default_mpirun(), sandbox(tmp_path))
    yield executor
    executor.close()


def out(req: LaunchRequest) -> str:
    path = Path(req.stdout)
    return path.read_text() if path.exists() else ""


def spawn_as_before(argv: list[str], req: LaunchRequest) -> subprocess.Popen[bytes]:
    with open(req.stdout, "ab") as stdout:
        return subprocess.Popen(
            argv, cwd=req.work_dir, stdout=stdout, stderr=stdout, start_new_session=True
        )


def test_bwrap_makes_no_second_session(tmp_path: Path) -> None:
    req = request(tmp_path, "true")
    box = sandbox(tmp_path)
    assert "--new-session" not in box.argv(req)
    legacy = box.argv(req, new_session=True)
    assert [a for a in legacy if a != "--new-session"] == box.argv(req)


async def test_a_sandboxed_run_is_in_the_session_of_its_spawn_without_a_terminal(
    tmp_path: Path, ex: LocalExecutor
) -> None:
    script = Path(request(tmp_path, "true").work_dir) / "inside.py"
    script.write_text(INSIDE)
    req = request(tmp_path, f"{sys.executable} inside.py; sleep 30")
    ref = await ex.spawn(req)
    try:
        await eventually(lambda: "tty" in out(req), timeout=30)
        assert out(req).split() == ["no", "tty", "ENXIO"]
        root = Pid.parse(ref).pid
        assert os.getsid(root) == root != os.getsid(0)
        inside = psutil.Process(root).children(recursive=True)
        assert inside and all(os.getsid(p.pid) == root for p in inside)
    finally:
        await ex.stop(ref, grace_s=0.5)
    assert await eventually(lambda: ex.poll(ref), timeout=30) is not None


async def test_a_run_an_earlier_version_spawned_is_found_and_adopted(
    tmp_path: Path, ex: LocalExecutor
) -> None:
    req = request(tmp_path, "sleep 30")
    argv = ex._full_argv(req, new_session=True, earlier=True)
    assert "--new-session" in argv and argv != ex._full_argv(req, new_session=True)
    child = spawn_as_before(argv, req)
    try:
        ref = Pid(child.pid, psutil.Process(child.pid).create_time()).ref()
        assert await ex.find(req) == ref
        assert await ex.adopt(ref, req)
        assert await ex.poll(ref) is None
        await ex.stop(ref, grace_s=0.5)
        assert isinstance(await eventually(lambda: ex.poll(ref), timeout=30), Exited)
    finally:
        child.kill()
        child.wait()
