"""Running the simulator for real through the venv's MPICH mpiexec, and reading what it wrote."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil

from tests.conftest import FIXTURES

BIN = Path(sys.executable).parent
MPIEXEC = shutil.which("mpiexec", path=str(BIN)) or str(BIN / "mpiexec")
SIMULATOR = str(BIN / "localrun-wrf-sim")
QUARTER = FIXTURES / "case_quarter_ss"
TIMING = re.compile(
    r"^Timing for main(?: \(dt=\s*([\d.]+)\))?: time (\S+) on domain\s+(\d+):\s+([\d.]+)"
    r" elapsed seconds$"
)
SIM_NOTE = " localrun-wrf-sim: standing in for wrf.exe"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    dir: Path

    def rsl(self, kind: str, rank: int = 0) -> list[str]:
        return (self.dir / f"rsl.{kind}.{rank:04d}").read_text().splitlines()

    def timings(self, domain: int = 1) -> list[tuple[str, float]]:
        found = [TIMING.match(line) for line in self.rsl("out")]
        return [(m.group(2), float(m.group(4))) for m in found if m and int(m.group(3)) == domain]


def _env(**knobs: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALRUN_SIM_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["LOCALRUN_SIM_SPEED"] = "20"
    env.update(knobs)
    return env


def start(work: Path, np: int, **knobs: str) -> subprocess.Popen[bytes]:
    with open(work / "mpirun.stdout", "wb") as out, open(work / "mpirun.stderr", "wb") as err:
        return subprocess.Popen(
            [MPIEXEC, "-np", str(np), SIMULATOR],
            cwd=work,
            stdout=out,
            stderr=err,
            env=_env(**knobs),
        )


def run(work: Path, np: int, **knobs: str) -> Result:
    proc = start(work, np, **knobs)
    code = proc.wait(timeout=120)
    read = (work / "mpirun.stdout").read_text(), (work / "mpirun.stderr").read_text()
    return Result(code, read[0], read[1], work)


def case_dir(
    tmp: Path, template: str, changes: dict[str, str] | None = None, wrfinput: bool = True
) -> Path:
    """A run directory with the template's namelist (variables replaced) and wrfinput_d01."""
    work = tmp / template.replace("/", "_")
    work.mkdir(parents=True, exist_ok=True)
    text = (FIXTURES / template / "namelist.input").read_text()
    for name, value in (changes or {}).items():
        text, count = re.subn(rf"(?m)^\s*{name}\s*=.*$", f" {name} = {value}", text)
        assert count == 1, name
    (work / "namelist.input").write_text(text)
    if wrfinput:
        shutil.copy(QUARTER / "wrfinput_d01", work / "wrfinput_d01")
    return work


def shapes(lines: list[str]) -> set[str]:
    """A line's shape: digits and the hostname blurred, spacing kept."""
    return {re.sub(r"\d", "9", re.sub(r"hostname: \S+", "hostname: H", line)) for line in lines}


def normal(lines: list[str]) -> list[str]:
    skip = ("alloc_space_field", SIM_NOTE)
    return [
        re.sub(r"hostname: \S+", "hostname: H", line)
        for line in lines
        if not any(s in line for s in skip)
    ]


def fixture(name: str, kind: str, rank: int = 0) -> list[str]:
    return (FIXTURES / name / f"rsl.{kind}.{rank:04d}").read_text().splitlines()


def add_group(work: Path, text: str) -> None:
    with open(work / "namelist.input", "a") as handle:
        handle.write(text)


# -- success ---------------------------------------------------------------------------------


def rank_pids(mpiexec: int) -> list[int]:
    """The simulator's ranks under an mpiexec process."""
    children = psutil.Process(mpiexec).children(recursive=True)
    return [c.pid for c in children if "localrun-wrf-sim" in " ".join(c.cmdline())]
