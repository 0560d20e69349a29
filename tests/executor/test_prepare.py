from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from localrun.executor.prepare import launch_request, simulator_executable
from localrun.files import run_paths
from localrun.runs import Run, State
from tests.conftest import make_settings


def run(kind: str = "wrf", command: str | None = None, version: str = "4.7.1") -> Run:
    return Run(
        id="r1",
        owner="a",
        family="localrun",
        name="n",
        model="wrf",
        version=version,
        state=State.QUEUED,
        walltime_s=60,
        created_at=time.time(),
        kind=kind,
        command=command,
        cores=2,
    )


def test_wrf_run_is_mpirun_np_model_in_work(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, models="wrf:4.7.1=/opt/wrf.exe", mpirun="/x/mpiexec")
    paths = run_paths(settings.data_path, "r1")
    paths.create()
    (paths.input / "namelist.input").write_text("x")
    spec = launch_request(settings, run())
    assert (spec.executable, spec.command, spec.cores) == ("/opt/wrf.exe", None, 2)
    assert spec.work_dir == str(paths.work)
    assert spec.env["OMP_NUM_THREADS"] == "1"
    assert (paths.work / "namelist.input").resolve() == (paths.input / "namelist.input").resolve()
    assert spec.stdout == str(paths.logs / "mpirun.stdout")


def test_unconfigured_version_uses_the_simulator(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    spec = launch_request(settings, run(version="3.9.1"))
    assert spec.executable == simulator_executable()
    assert Path(simulator_executable()).exists()


def test_shell_run_gets_wrf_and_mpirun_on_path(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, mpirun="/x/mpiexec")
    spec = launch_request(settings, run("shell", "mpirun -np 2 wrf.exe"))
    assert (spec.executable, spec.command) == (None, "mpirun -np 2 wrf.exe")
    bindir = Path(spec.env["PATH"].split(os.pathsep)[0])
    assert (bindir / "mpirun").read_text() == '#!/bin/sh\nexec /x/mpiexec "$@"\n'
    assert (bindir / "wrf.exe").read_text() == f'#!/bin/sh\nexec {simulator_executable()} "$@"\n'


def test_shell_mpirun_runs_the_real_launcher_not_itself(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, mpirun="mpiexec")
    spec = launch_request(settings, run("shell", "mpirun --version"))
    assert spec.command is not None
    out = subprocess.run(
        ["/bin/sh", "-c", spec.command],
        cwd=spec.work_dir,
        env=spec.env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert "HYDRA" in out.stdout or "Open MPI" in out.stdout
    bindir = Path(spec.env["PATH"].split(os.pathsep)[0])
    assert "/bin/mpirun" not in (bindir / "mpirun").read_text()


def test_a_shell_run_can_call_the_pre_processors(tmp_path: Path) -> None:
    models = "wrf:4.7.1=/opt/wrf.exe,real:4.7.1=/opt/real.exe,ideal:4.7.1=/opt/ideal.exe"
    spec = launch_request(make_settings(tmp_path, models=models), run("shell", "real.exe"))
    bindir = Path(spec.env["PATH"].split(os.pathsep)[0])
    assert (bindir / "real.exe").read_text() == '#!/bin/sh\nexec /opt/real.exe "$@"\n'
    assert (bindir / "ideal.exe").read_text() == '#!/bin/sh\nexec /opt/ideal.exe "$@"\n'
    spec = launch_request(make_settings(tmp_path / "sim"), run("shell", "ideal.exe", "sim"))
    bindir = Path(spec.env["PATH"].split(os.pathsep)[0])
    assert "localrun-wrf-sim-ideal" in (bindir / "ideal.exe").read_text()
    assert not (bindir / "real.exe").exists()  # the simulator has no real.exe


def test_a_wrf_run_with_ideal_first(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, models="wrf:4.7.1=/opt/wrf.exe,ideal:4.7.1=/opt/ideal.exe")
    with_ideal = run()
    with_ideal.extra["preprocess"] = "ideal"
    spec = launch_request(settings, with_ideal)
    assert spec.executable is None and spec.command is not None
    lines = spec.command.splitlines()
    assert lines[0] == "mpirun -np 1 ideal.exe || exit $?"
    assert lines[-1] == "exec mpirun -np 2 wrf.exe"
