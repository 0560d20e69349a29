"""The WRF simulator run for real through the venv's MPICH mpiexec, held to the real WRF logs."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import netCDF4
import numpy as np
import pytest

from localrun.wrf import rsl
from localrun.wrf.diagnose import diagnose
from localrun.wrf.namelist import read_case
from tests.conftest import EXAMPLE, FIXTURES

BIN = Path(sys.executable).parent
MPIEXEC = shutil.which("mpiexec", path=str(BIN)) or str(BIN / "mpiexec")
SIMULATOR = str(BIN / "localrun-wrf-sim")
QUARTER = FIXTURES / "case_quarter_ss"
TIMING = re.compile(
    r"^Timing for main(?: \(dt=\s*([\d.]+)\))?: time (\S+) on domain\s+(\d+):\s+([\d.]+)"
    r" elapsed seconds$"
)
SIM_NOTE = " localrun-wrf-sim: standing in for wrf.exe"


@pytest.fixture(autouse=True)
def no_hydra_litter() -> Iterator[None]:
    """These tests run mpiexec directly, without the executor that cleans up after MPICH: a run
    that dies by signal or MPI_Abort leaves hydra's topology file in /tmp, so remove new ones."""
    before = set(Path("/tmp").glob("hydra_hwloc_xmlfile_*"))
    yield
    for path in set(Path("/tmp").glob("hydra_hwloc_xmlfile_*")) - before:
        path.unlink(missing_ok=True)


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


@pytest.mark.parametrize(("np", "name"), [(1, "success_np1"), (2, "success_np2")])
def test_success_matches_the_real_logs(tmp_path: Path, np: int, name: str) -> None:
    result = run(case_dir(tmp_path, name), np)
    assert result.code == 0
    assert result.stdout == ""
    assert sorted(result.stderr.splitlines()) == [
        f" starting wrf task {r:12d}  of {np:12d}" for r in range(np)
    ]
    for rank in range(np):
        for kind in ("out", "error"):
            ours, real = result.rsl(kind, rank), fixture(name, kind, rank)
            assert shapes([x for x in ours if SIM_NOTE not in x]) == shapes(real), (kind, rank)
            assert ours[-1] == "d01 0001-01-01_00:10:00 wrf: SUCCESS COMPLETE WRF"
    times = [t for t, _ in result.timings()]
    assert len(times) == 50 and times[0] == "0001-01-01_00:00:12" and times[-1].endswith("10:00")
    assert (result.dir / "namelist.output").is_file()


def test_wrfout_files_are_real_netcdf(tmp_path: Path) -> None:
    result = run(case_dir(tmp_path, "success_np2"), 2)
    assert result.code == 0
    names = sorted(p.name for p in result.dir.glob("wrfout_*"))
    assert names == ["wrfout_d01_0001-01-01_00:00:00", "wrfout_d01_0001-01-01_00:10:00"]
    with netCDF4.Dataset(str(result.dir / names[1])) as ds:
        assert ds.dimensions["west_east"].size == 61 and ds.dimensions["south_north"].size == 61
        assert ds.dimensions["Time"].isunlimited()
        assert netCDF4.chartostring(ds["Times"][:])[0] == "0001-01-01_00:10:00"
        assert ds.getncattr("WEST-EAST_GRID_DIMENSION") == 62 and ds.DX == 2000.0
        assert ds.SIMULATION_START_DATE == "0001-01-01_00:00:00"
        lat, lon, t2 = ds["XLAT"][0], ds["XLONG"][0], ds["T2"][0]
        u10, v10 = ds["U10"][0], ds["V10"][0]
    assert t2.shape == u10.shape == v10.shape == lat.shape == (61, 61)
    assert np.all(np.diff(lat, axis=0) > 0) and np.all(np.diff(lon, axis=1) > 0)
    assert 39 < float(lat.min()) < 40 < float(lat.max()) < 41
    assert -101 < float(lon.min()) < -100 < float(lon.max()) < -99
    assert 270 < float(t2.min()) < float(t2.max()) < 310 and float(np.ptp(t2)) > 1
    assert np.all(np.isfinite(u10)) and np.all(np.isfinite(v10))


def test_frames_per_outfile_appends_to_one_file(tmp_path: Path) -> None:
    changes = {"history_interval": "2,", "frames_per_outfile": "3,"}
    result = run(case_dir(tmp_path, "success_np2", changes), 2)
    assert result.code == 0
    names = sorted(p.name for p in result.dir.glob("wrfout_*"))
    assert names == ["wrfout_d01_0001-01-01_00:00:00", "wrfout_d01_0001-01-01_00:06:00"]
    with netCDF4.Dataset(str(result.dir / names[1])) as ds:
        times = list(netCDF4.chartostring(ds["Times"][:]))
        assert ds["T2"].shape == (3, 61, 61)
    assert times == [f"0001-01-01_00:{m:02d}:00" for m in (6, 8, 10)]


def test_nest_prints_its_steps_before_the_parents(tmp_path: Path) -> None:
    result = run(case_dir(tmp_path, "success_nested_np2"), 2)
    assert result.code == 0
    domains = [int(m.group(3)) for m in map(TIMING.match, result.rsl("out")) if m]
    assert domains == [2, 2, 2, 1] * 50
    assert [t for t, _ in result.timings(2)][:3] == [
        f"0001-01-01_00:00:{s:02d}" for s in (4, 8, 12)
    ]
    real = {re.sub(r"\d", "9", line) for line in fixture("success_nested_np2", "out")}
    assert {re.sub(r"\d", "9", line) for line in result.rsl("out") if "Timing" in line} <= real
    assert len(list(result.dir.glob("wrfout_d02_*"))) == 2
    for rank in (0, 1):
        assert result.rsl("error", rank)[-1].endswith("wrf: SUCCESS COMPLETE WRF")


def test_adaptive_time_step_uses_the_dt_form(tmp_path: Path) -> None:
    result = run(case_dir(tmp_path, "success_adaptive_dt"), 2)
    assert result.code == 0
    lines = [line for line in result.rsl("out") if line.startswith("Timing for main")]
    matches = [TIMING.match(line) for line in lines]
    assert all(m and m.group(1) for m in matches)
    assert lines[0].startswith("Timing for main (dt= 12.00): time 0001-01-01_00:00:12 on domain")
    assert lines[-1].startswith("Timing for main (dt= 14.5")
    assert " 0001-01-01_00:10:00 " in lines[-1]
    assert len(lines) == 30


def test_restart_continues_from_the_restart_file(tmp_path: Path) -> None:
    first = run(case_dir(tmp_path, "restart/first"), 2)
    assert first.code == 0
    rst = sorted(p.name for p in first.dir.glob("wrfrst_*"))
    assert rst == ["wrfrst_d01_0001-01-01_00:05:00", "wrfrst_d01_0001-01-01_00:10:00"]
    assert (
        sum("Timing for Writing restart for domain        1:" in x for x in first.rsl("out")) == 2
    )
    second_dir = case_dir(tmp_path, "restart/restarted")
    shutil.copy(first.dir / rst[0], second_dir / rst[0])
    second = run(second_dir, 2)
    assert second.code == 0
    out = second.rsl("out")
    assert " RESTART run: opening wrfrst_d01_0001-01-01_00:05:00 for reading" in out
    times = [t for t, _ in second.timings()]
    assert len(times) == 25 and times[0] == "0001-01-01_00:05:12"
    assert sorted(p.name for p in second_dir.glob("wrfout_*")) == ["wrfout_d01_0001-01-01_00:10:00"]
    assert (second_dir / rst[1]).is_file()
    assert out[-1] == "d01 0001-01-01_00:10:00 wrf: SUCCESS COMPLETE WRF"
    with (
        netCDF4.Dataset(str(first.dir / "wrfout_d01_0001-01-01_00:10:00")) as a,
        netCDF4.Dataset(str(second_dir / "wrfout_d01_0001-01-01_00:10:00")) as b,
    ):
        assert np.allclose(a["T2"][0], b["T2"][0], atol=0.2)


def test_restart_without_its_file_names_it(tmp_path: Path) -> None:
    result = run(case_dir(tmp_path, "restart/restarted"), 2)
    assert result.code == 1
    for rank in (0, 1):
        name = "wrfrst_d01_0001-01-01_00:05:00"
        message = f" program wrf: error opening {name} for reading ierr=       -1021"
        assert message in result.rsl("out", rank)


def test_placeholder_wrfinput_is_accepted(tmp_path: Path) -> None:
    work = case_dir(tmp_path, "success_np1", {"e_we": "22,", "e_sn": "22,"}, wrfinput=False)
    (work / "wrfinput_d01").write_text("placeholder uploaded by a client test\n")
    result = run(work, 1)
    assert result.code == 0
    with netCDF4.Dataset(str(work / "wrfout_d01_0001-01-01_00:10:00")) as ds:
        assert ds["T2"].shape == (1, 21, 21)


def test_example_case_runs(tmp_path: Path) -> None:
    assert (EXAMPLE / "wrfinput_d01").stat().st_size < 2_000_000
    case = read_case(EXAMPLE / "namelist.input")
    assert case.run_seconds == 1800 and case.domains[0].history_interval_min == 10
    work = tmp_path / "example"
    shutil.copytree(EXAMPLE, work)
    result = run(work, 2, LOCALRUN_SIM_SPEED="50")
    assert result.code == 0
    assert len(list(work.glob("wrfout_d01_*"))) == 4


# -- refusals --------------------------------------------------------------------------------


def test_missing_namelist_is_a_runtime_error(tmp_path: Path) -> None:
    work = tmp_path / "empty"
    work.mkdir()
    result = run(work, 1)
    assert result.code == 2
    assert result.stdout == ""
    assert normal(result.rsl("out")) == normal(fixture("runtime_missing_namelist", "out"))
    assert result.rsl("error")[:5] == fixture("runtime_missing_namelist", "error")[:5]
    assert not (work / "namelist.output").exists()


@pytest.mark.parametrize(
    ("name", "changes", "wrfinput"),
    [
        ("fatal_missing_wrfinput", {}, False),
        ("fatal_size_mismatch", {}, True),
        ("fatal_namelist_typo", {}, True),
    ],
)
def test_startup_failures_match_the_real_logs(
    tmp_path: Path, name: str, changes: dict[str, str], wrfinput: bool
) -> None:
    result = run(case_dir(tmp_path, name, changes, wrfinput), 2)
    assert result.code == 1
    assert result.stdout == ""
    for rank in (0, 1):
        for kind in ("out", "error"):
            assert normal(result.rsl(kind, rank)) == normal(fixture(name, kind, rank)), (kind, rank)


def test_too_many_ranks(tmp_path: Path) -> None:
    work = case_dir(tmp_path, "too_many_ranks", wrfinput=False)
    (work / "wrfinput_d01").write_text("placeholder")
    result = run(work, 6)
    assert result.code == 1
    assert normal(result.rsl("out")) == normal(fixture("too_many_ranks", "out"))
    assert normal(result.rsl("error")) == normal(fixture("too_many_ranks", "error"))
    for rank in range(1, 6):
        assert normal(result.rsl("out", rank)) == normal(fixture("too_many_ranks", "out", rank))


def test_bad_knob_is_fatal(tmp_path: Path) -> None:
    result = run(case_dir(tmp_path, "success_np1"), 1, LOCALRUN_SIM_SPEED="fast")
    assert result.code == 1
    assert "LOCALRUN_SIM_SPEED must be a number, not 'fast'" in "\n".join(result.rsl("out"))


# -- blow-ups, injected failures, hangs ------------------------------------------------------


@pytest.mark.parametrize(
    ("time_step", "signum", "text", "steps"),
    [(40, 11, "Segmentation fault (signal 11)", 1), (24, 6, "Aborted (signal 6)", 5)],
)
def test_cfl_blowup_dies_by_signal(
    tmp_path: Path, time_step: int, signum: int, text: str, steps: int
) -> None:
    result = run(case_dir(tmp_path, "success_np2", {"time_step": f"{time_step},"}), 2)
    assert result.code == signum
    assert "BAD TERMINATION OF ONE OF YOUR APPLICATION PROCESSES" in result.stdout
    assert f"=   EXIT CODE: {signum}" in result.stdout and text in result.stdout
    assert len(result.timings()) == steps
    name = {11: "SIGSEGV", 6: "SIGABRT"}[signum]
    for rank in (0, 1):
        assert any("points exceeded v_cfl = 2 in domain d01" in x for x in result.rsl("out", rank))
        assert any(" w-cfl: " in x for x in result.rsl("out", rank))
        assert any(
            x.startswith(f"Program received signal {name}") for x in result.rsl("error", rank)
        )
    assert not list(result.dir.glob("core*"))


def test_fail_at_percent_from_env(tmp_path: Path) -> None:
    result = run(case_dir(tmp_path, "success_np2"), 2, LOCALRUN_SIM_FAIL_AT="50")
    assert result.code == 1
    assert result.timings()[-1][0] == "0001-01-01_00:05:00"
    for rank in (0, 1):
        out = result.rsl("out", rank)
        assert "-------------- FATAL CALLED ---------------" in out
        assert any("fail_at_percent = 50" in x for x in out)


def test_fail_at_percent_from_the_namelist_group(tmp_path: Path) -> None:
    work = case_dir(tmp_path, "success_np2")
    add_group(work, "\n&localrun_simulator\n fail_at_percent = 20,\n speed = 40,\n/\n")
    result = run(work, 2, LOCALRUN_SIM_FAIL_AT="90")
    assert result.code == 1
    assert result.timings()[-1][0] == "0001-01-01_00:02:00"


def _wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _ranks(mpiexec: int) -> Iterator[int]:
    import psutil

    for child in psutil.Process(mpiexec).children(recursive=True):
        if "localrun-wrf-sim" in " ".join(child.cmdline()):
            yield child.pid


def test_hang_stops_timing_lines_without_cpu_and_dies_on_sigterm(tmp_path: Path) -> None:
    import psutil

    work = case_dir(tmp_path, "success_np2")
    proc = start(work, 2, LOCALRUN_SIM_HANG_AT="30")
    try:
        out = work / "rsl.out.0000"
        _wait_for(lambda: out.exists() and "00:03:00 on domain" in out.read_text())
        ranks = [psutil.Process(pid) for pid in _ranks(proc.pid)]
        assert len(ranks) == 2
        before = [r.cpu_times() for r in ranks]
        size = out.stat().st_size
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            assert out.stat().st_size == size
            time.sleep(0.1)
        used = [
            (a.cpu_times().user + a.cpu_times().system) - (b.user + b.system)
            for a, b in zip(ranks, before, strict=True)
        ]
        assert max(used) < 0.3
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert code in (0, 15)
    assert out.read_text().splitlines()[-1].startswith("Timing for main: time 0001-01-01_00:03:00")


# -- speed -----------------------------------------------------------------------------------


def test_two_ranks_are_faster_than_one(tmp_path: Path) -> None:
    changes = {"run_minutes": "4,", "end_minute": "04,   04,   04,"}
    medians = []
    for np_ in (1, 2):
        work = case_dir(tmp_path / f"np{np_}", "success_np2", changes)
        result = run(work, np_, LOCALRUN_SIM_SPEED="4")
        assert result.code == 0
        steps = sorted(seconds for _, seconds in result.timings())
        assert len(steps) == 20
        medians.append(steps[len(steps) // 2])
    assert medians[1] < 0.75 * medians[0]


# -- the daemon's reader and classifier see the simulator as they see WRF --------------------

SCENARIOS: dict[str, tuple[int, dict[str, str], bool]] = {
    "success_np1": (1, {}, True),
    "success_np2": (2, {}, True),
    "success_adaptive_dt": (2, {}, True),
    "success_nested_np2": (2, {}, True),
    "fatal_namelist_typo": (2, {}, True),
    "fatal_missing_wrfinput": (2, {}, False),
    "fatal_size_mismatch": (2, {}, True),
    "cfl_blowup": (2, {}, True),
    "cfl_blowup_slow": (2, {}, True),
    "restart/first": (2, {}, True),
}


def _simulate(tmp: Path, name: str) -> Result:
    if name == "runtime_missing_namelist":
        work = tmp / name
        work.mkdir()
        return run(work, 1)
    if name == "too_many_ranks":
        work = case_dir(tmp, name, wrfinput=False)
        (work / "wrfinput_d01").write_text("placeholder")
        return run(work, 6)
    if name == "restart/restarted":
        first = _simulate(tmp / "first", "restart/first")
        work = case_dir(tmp, name)
        shutil.copy(first.dir / "wrfrst_d01_0001-01-01_00:05:00", work)
        return run(work, 2)
    np_, changes, wrfinput = SCENARIOS[name]
    return run(case_dir(tmp, name, changes, wrfinput), np_)


@pytest.mark.parametrize(
    "name",
    [*SCENARIOS, "runtime_missing_namelist", "too_many_ranks", "restart/restarted"],
)
def test_diagnosis_of_simulated_runs_matches_the_real_ones(tmp_path: Path, name: str) -> None:
    real_dir = FIXTURES / name
    real = diagnose(
        real_dir,
        exit_code=int((real_dir / "exit_code").read_text()),
        mpirun_stdout=(real_dir / "mpirun.stdout").read_text(),
        stop_requested=False,
    )
    ours = _simulate(tmp_path, name)
    found = diagnose(ours.dir, exit_code=ours.code, mpirun_stdout=ours.stdout, stop_requested=False)
    assert (found.state, found.code) == (real.state, real.code)
    readers = [rsl.RslReader(real_dir), rsl.RslReader(ours.dir)]
    for reader in readers:
        reader.poll()
    for domain in (1, 2):
        assert readers[0].steps(domain) == readers[1].steps(domain)
