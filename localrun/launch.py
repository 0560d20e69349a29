"""How a run's directory and command line are prepared before the executor spawns it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from localrun.config import Settings
from localrun.executor import LaunchSpec
from localrun.files import run_paths
from localrun.runs import Run


def simulator_executable() -> str:
    return str(Path(sys.executable).parent / "localrun-wrf-sim")


def model_executable(settings: Settings, run: Run) -> str:
    return settings.model_paths.get((run.model, run.version)) or simulator_executable()


def stage_inputs(input_dir: Path, work_dir: Path) -> None:
    """Link every input into work/, as WRF users link their files into the run directory."""
    for item in sorted(input_dir.iterdir()):
        if item.name.startswith("."):
            continue
        link = work_dir / item.name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(item.resolve())


def tool_dir(settings: Settings, run: Run, root: Path) -> Path:
    """A bin/ where `wrf.exe`, `mpirun` and `mpiexec` name the configured model and launcher."""
    bindir = root / "bin"
    bindir.mkdir(exist_ok=True)
    for name, target in (
        ("wrf.exe", model_executable(settings, run)),
        ("mpirun", settings.mpirun),
        ("mpiexec", settings.mpirun),
    ):
        link = bindir / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)
    return bindir


def launch_spec(settings: Settings, run: Run) -> LaunchSpec:
    paths = run_paths(settings.data_path, run.id)
    paths.create()
    stage_inputs(paths.input, paths.work)
    search = [str(Path(sys.executable).parent), os.environ.get("PATH", "/usr/bin:/bin")]
    if run.kind == "shell":
        search.insert(0, str(tool_dir(settings, run, paths.root)))
    env = {
        "OMP_NUM_THREADS": "1",
        "LOCALRUN_SIM_SPEED": str(settings.sim_speed),
        "LOCALRUN_RUN_ID": run.id,
        "LOCALRUN_CORES": str(run.cores),
        "PATH": os.pathsep.join(search),
    }
    if run.kind == "shell":
        argv = ["/bin/sh", "-c", run.command or "true"]
    else:
        argv = [settings.mpirun, "-np", str(run.cores), model_executable(settings, run)]
    return LaunchSpec(
        argv=argv,
        cwd=str(paths.work),
        stdout=str(paths.logs / "mpirun.stdout"),
        stderr=str(paths.logs / "mpirun.stderr"),
        env=env,
        cores=run.cores,
    )
