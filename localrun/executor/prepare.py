"""A run's directory made ready and its LaunchRequest built, the same for every executor
(the run directory is on a filesystem the executor shares)."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

from localrun.config import Settings
from localrun.executor.base import LaunchRequest
from localrun.files import run_paths
from localrun.runs import Run

PREPROCESSORS = ("ideal", "real")  # WRF's initialisation programs, ideal.exe and real.exe
# A run with a pre-processing step: the initialisation on one rank, its rsl files kept in
# preprocess/, then the model on the run's cores.
PREPROCESS = (
    "mpirun -np 1 {name}.exe || exit $?\n"
    "mkdir -p preprocess && mv -f rsl.out.* rsl.error.* preprocess/\n"
    "exec mpirun -np {cores} wrf.exe\n"
)


def simulator_executable() -> str:
    return str(Path(sys.executable).parent / "localrun-wrf-sim")


def simulator_preprocessor(name: str) -> str | None:
    """The simulator's stand-in for ideal.exe; it has no real.exe (that needs WPS's data)."""
    return str(Path(sys.executable).parent / "localrun-wrf-sim-ideal") if name == "ideal" else None


def preprocessor_executable(settings: Settings, run: Run, name: str) -> str | None:
    """ideal.exe or real.exe for the run's version: configured (models = ideal:4.7.1=...), or
    the simulator's own when the run runs the simulator; None when there is none."""
    configured = settings.model_paths.get((name, run.version))
    if configured:
        return configured
    if model_executable(settings, run) == simulator_executable():
        return simulator_preprocessor(name)
    return None


def model_executable(settings: Settings, run: Run) -> str:
    """The executable chosen when the run was made ("simulator", or a path)."""
    chosen = run.extra.get("executable") or settings.model_paths.get((run.model, run.version))
    return simulator_executable() if chosen in (None, "simulator") else str(chosen)


def stage_inputs(input_dir: Path, work_dir: Path) -> None:
    """Link every input into work/, as WRF users link their files into the run directory. A
    folder becomes a real folder of links, so that what the run writes inside it is its own
    output and never lands in input/."""
    for item in sorted(input_dir.iterdir()):
        if item.name.startswith("."):
            continue
        _link_into(item, work_dir / item.name)


def _link_into(source: Path, link: Path) -> None:
    if source.is_dir() and not source.is_symlink():
        if link.is_symlink() or link.is_file():
            link.unlink()
        link.mkdir(exist_ok=True)
        for child in sorted(source.iterdir()):
            _link_into(child, link / child.name)
        return
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(source.resolve())


def resolve_launcher(launcher: str, exclude: Path) -> str:
    """The launcher as an absolute path, never one of the run's own bin/ wrappers."""
    if os.sep in launcher:
        return str(Path(launcher).resolve())
    search = os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)
    path = os.pathsep.join(d for d in search if Path(d).resolve() != exclude.resolve())
    path = os.pathsep.join([str(Path(sys.executable).parent), path])
    return shutil.which(launcher, path=path) or launcher


def write_wrapper(path: Path, target: str) -> None:
    """A script that execs target, written whole under a temporary name and renamed.

    A wrapper rather than a symlink: MPICH's hydra looks for hydra_pmi_proxy beside the
    path it was started as, so a symlink in bin/ would leave it searching bin/.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(f'#!/bin/sh\nexec {shlex.quote(target)} "$@"\n')
    tmp.chmod(0o755)
    if path.is_symlink():
        path.unlink()
    tmp.replace(path)


def tool_dir(settings: Settings, run: Run, root: Path) -> Path:
    """A bin/ where `wrf.exe`, `ideal.exe`, `real.exe`, `mpirun` and `mpiexec` run the configured
    model, its pre-processors and the launcher."""
    bindir = root / "bin"
    bindir.mkdir(exist_ok=True)
    launcher = resolve_launcher(settings.mpirun, bindir)
    write_wrapper(bindir / "wrf.exe", model_executable(settings, run))
    for name in PREPROCESSORS:
        found = preprocessor_executable(settings, run, name)
        if found is not None:
            write_wrapper(bindir / f"{name}.exe", found)
    write_wrapper(bindir / "mpirun", launcher)
    write_wrapper(bindir / "mpiexec", launcher)
    return bindir


def launch_request(settings: Settings, run: Run) -> LaunchRequest:
    paths = run_paths(settings.data_path, run.id)
    paths.create()
    stage_inputs(paths.input, paths.work)
    search = [str(Path(sys.executable).parent), os.environ.get("PATH", "/usr/bin:/bin")]
    preprocess = run.extra.get("preprocess") if run.kind == "wrf" else None
    if run.kind == "shell" or preprocess:
        search.insert(0, str(tool_dir(settings, run, paths.root)))
    env = {
        "OMP_NUM_THREADS": "1",
        "LOCALRUN_SIM_SPEED": str(settings.sim_speed),
        "LOCALRUN_RUN_ID": run.id,
        "LOCALRUN_CORES": str(run.cores),
        "PATH": os.pathsep.join(search),
    }
    if preprocess:
        command: str | None = PREPROCESS.format(name=preprocess, cores=run.cores)
    else:
        command = (run.command or "true") if run.kind == "shell" else None
    return LaunchRequest(
        run_id=run.id,
        work_dir=str(paths.work),
        log_dir=str(paths.logs),
        cores=run.cores,
        walltime_s=run.walltime_s,
        env=env,
        executable=None if command is not None else model_executable(settings, run),
        command=command,
    )
