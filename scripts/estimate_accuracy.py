#!/usr/bin/env python3
"""How good is the run-time estimator? A benchmark to run by hand; prints tables.

    .venv/bin/python scripts/estimate_accuracy.py [--fixtures DIR] [--no-simulator]

1. case_quarter_ss (600 steps of 62x62x41, WRF.md §7): estimated wall time at 1 and 2 cores
   against the measured full runs (93.6 s, 47.5 s), with the default cost model and after
   calibration on the fixture runs success_np1/np2/nested_np2 (run.json medians and wall time,
   plus the Writing lines of their rsl.out.0000).
2. The simulator (localrun.wrf.sim.main, started as `mpiexec -np N localrun-wrf-sim` in a run
   directory): when it is installed, it runs the 10-minute case at 1 and 2 ranks, the runs become
   samples, and the estimate after calibration on them is held against the simulator's own
   wall times (fitted on all runs, and leave-one-out).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from localrun.wrf.estimate import CostModel, Sample, estimate_time, fit, make_sample
from localrun.wrf.namelist import Case, read_case

REPO = Path(__file__).resolve().parents[1]
DEFAULT_FIXTURES = Path(os.environ.get("LOCALRUN_FIXTURES", REPO / "tests" / "fixtures" / "wrf"))
MEASURED_FULL_RUN = {1: 93.6, 2: 47.5}  # WRF.md §7: case_quarter_ss, 600 steps
CALIBRATION_RUNS = ("success_np1", "success_np2", "success_nested_np2")
SHORT_CASE = "success_np1"  # the 10-minute (50-step) namelist the simulator runs
SIM_RANKS = (1, 2)
SIM_TIMEOUT_S = 900.0

TIMING = re.compile(
    r"^Timing for main(?: \(dt=\s*[\d.]+\))?: time (\S+) on domain\s+(\d+):\s+([\d.]+) elapsed"
)
WRITING = re.compile(r"^Timing for Writing wrfout_d(\d\d)_\S+ for domain\s+\d+:\s+([\d.]+)")


def log_timings(log: str) -> tuple[dict[int, list[float]], dict[int, list[float]]]:
    """Step times and history-write times per domain, from rank 0's log."""
    steps: dict[int, list[float]] = {}
    writes: dict[int, list[float]] = {}
    for line in log.splitlines():
        if m := TIMING.match(line):
            steps.setdefault(int(m.group(2)), []).append(float(m.group(3)))
        elif m := WRITING.match(line):
            writes.setdefault(int(m.group(1)), []).append(float(m.group(2)))
    return steps, writes


def sample_from_run_dir(
    case: Case, run_dir: Path, *, host: str, cores: int, wall_s: float
) -> Sample:
    steps, writes = log_timings((run_dir / "rsl.out.0000").read_text(errors="replace"))
    return make_sample(
        case,
        host=host,
        cores=cores,
        median_step_s={d: statistics.median(t) for d, t in steps.items()},
        steps={d: len(t) for d, t in steps.items()},
        wall_s=wall_s,
        frames={d: len(t) for d, t in writes.items()} or None,
        write_s={d: sum(t) for d, t in writes.items()} or None,
    )


def fixture_samples(fixtures: Path) -> list[Sample]:
    samples = []
    for name in CALIBRATION_RUNS:
        run = json.loads((fixtures / name / "run.json").read_text())
        case = read_case(fixtures / name / "namelist.input")
        sample = sample_from_run_dir(
            case, fixtures / name, host="vm", cores=run["np"], wall_s=run["wall_s"]
        )
        samples.append(sample)
    return samples


# --- the simulator hook ------------------------------------------------------------------------


def simulator_available() -> str | None:
    """None when the simulator can run here, else why not."""
    if importlib.util.find_spec("localrun.wrf.sim.main") is None:
        return "localrun/wrf/simulator.py is not there yet"
    for tool in ("mpiexec", "localrun-wrf-sim"):
        if not (Path(sys.prefix) / "bin" / tool).exists():
            return f"{tool} is not installed in {sys.prefix}/bin"
    return None


def run_simulator(fixtures: Path, ranks: int, workdir: Path) -> tuple[Path, float]:
    """One simulator run of the short case; returns its directory and wall time."""
    run_dir = workdir / f"np{ranks}"
    run_dir.mkdir()
    shutil.copy(fixtures / SHORT_CASE / "namelist.input", run_dir / "namelist.input")
    shutil.copy(fixtures / "case_quarter_ss" / "wrfinput_d01", run_dir / "wrfinput_d01")
    bin_dir = Path(sys.prefix) / "bin"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [str(bin_dir / "mpiexec"), "-np", str(ranks), str(bin_dir / "localrun-wrf-sim")]
    started = time.monotonic()
    with open(run_dir / "mpirun.stdout", "wb") as out, open(run_dir / "mpirun.stderr", "wb") as err:
        code = subprocess.run(
            command, cwd=run_dir, env=env, stdout=out, stderr=err, timeout=SIM_TIMEOUT_S
        ).returncode
    wall = time.monotonic() - started
    if code != 0:
        raise SimulatorFailed(f"np={ranks} exited {code}: {fatal_message(run_dir)} (see {run_dir})")
    return run_dir, wall


class SimulatorFailed(RuntimeError):
    pass


def fatal_message(run_dir: Path) -> str:
    """The lines after WRF's `FATAL CALLED FROM FILE`, else the end of the error output."""
    for name in ("rsl.error.0000", "mpirun.stderr"):
        log = run_dir / name
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        for i, line in enumerate(lines):
            if line.startswith("FATAL CALLED FROM FILE"):
                return " ".join(x.strip() for x in lines[i + 1 :] if not x.startswith("---"))
        if lines:
            return " | ".join(x.strip() for x in lines[-3:])
    return "no error output"


def simulator_samples(fixtures: Path, workdir: Path) -> list[Sample]:
    case = read_case(fixtures / SHORT_CASE / "namelist.input")
    host = f"{socket.gethostname()}-simulator"
    samples = []
    for ranks in SIM_RANKS:
        run_dir, wall = run_simulator(fixtures, ranks, workdir)
        samples.append(sample_from_run_dir(case, run_dir, host=host, cores=ranks, wall_s=wall))
    return samples


# --- reporting ---------------------------------------------------------------------------------


def error(estimated: float, measured: float) -> str:
    return f"{(estimated - measured) / measured:+.1%}"


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    for row in [header, *rows]:
        print("  ".join(str(c).rjust(w) for c, w in zip(row, widths, strict=True)))


def describe(model: CostModel) -> str:
    return (
        f"c={model.c * 1e6:.3f} us/point-step  w={model.w * 1e6:.3f} us/point/frame  "
        f"t_start={model.t_start:.2f} s  k={model.k}  ({model.samples} runs)"
    )


def estimate_row(case: Case, cores: int, measured: float, models: Sequence[CostModel]) -> list[str]:
    row = [str(cores), f"{measured:.2f} s"]
    for model in models:
        estimated = estimate_time(case, cores, model)
        row += [f"{estimated:.2f} s", error(estimated, measured)]
    return row


def report_fixtures(fixtures: Path) -> None:
    case = read_case(fixtures / "case_quarter_ss" / "namelist.input")
    before, after = CostModel(), fit(fixture_samples(fixtures))
    rows = [estimate_row(case, p, t, (before, after)) for p, t in MEASURED_FULL_RUN.items()]
    header = ["cores", "measured", "default model", "error", "calibrated", "error"]
    print_table("case_quarter_ss, 600 steps, real WRF (WRF.md §7)", header, rows)
    print(f"  default:    {describe(before)}")
    print(f"  calibrated: {describe(after)}  on {', '.join(CALIBRATION_RUNS)}")


def report_simulator(samples: Sequence[Sample], case: Case) -> None:
    fitted = fit(samples)
    rows = []
    for i, sample in enumerate(samples):
        assert sample.wall_s is not None
        others = fit([s for j, s in enumerate(samples) if j != i])
        rows.append(estimate_row(case, sample.cores, sample.wall_s, (CostModel(), fitted, others)))
    header = ["cores", "measured", "default", "error", "fit on all", "error", "fit on other"]
    print_table(f"simulator, {SHORT_CASE} namelist (50 steps)", [*header, "error"], rows)
    print(f"  calibrated: {describe(fitted)}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES)
    parser.add_argument("--no-simulator", action="store_true", help="skip the simulator runs")
    args = parser.parse_args(argv)
    report_fixtures(args.fixtures)
    why_not = "skipped (--no-simulator)" if args.no_simulator else simulator_available()
    if why_not is not None:
        print(f"\nsimulator: {why_not}")
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="estimate-accuracy-"))
    try:
        samples = simulator_samples(args.fixtures, workdir)
    except (SimulatorFailed, subprocess.TimeoutExpired) as exc:
        print(f"\nsimulator run failed, run directories kept: {exc}")
        return 1
    shutil.rmtree(workdir)
    report_simulator(samples, read_case(args.fixtures / SHORT_CASE / "namelist.input"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
