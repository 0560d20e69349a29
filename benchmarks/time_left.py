"""Does "time left" converge to the true remaining time as a run goes?

Runs the fixture case (case_quarter_ss, 600 steps) on the simulator through real mpiexec,
follows its rsl.out.0000 as the daemon does, and prints predicted against actual time left.

python benchmarks/time_left.py [--speed 4] [--cores 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from localrun.wrf.estimate import estimate_time
from localrun.wrf.monitor import Monitor

REPO = Path(__file__).resolve().parents[1]
CASE = REPO / "tests" / "fixtures" / "wrf" / "case_quarter_ss"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--speed", type=float, default=4.0)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    bindir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in ("namelist.input", "wrfinput_d01"):
            shutil.copy(CASE / name, work / name)
        monitor = Monitor(work, work, args.cores)
        assert monitor.case is not None
        env = {**os.environ, "LOCALRUN_SIM_SPEED": str(args.speed), "PATH": f"{bindir}:/usr/bin"}
        argv = [str(bindir / "mpiexec"), "-np", str(args.cores), str(bindir / "localrun-wrf-sim")]
        started = time.monotonic()
        proc = subprocess.Popen(
            argv, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        samples: list[tuple[float, float, float | None, str]] = []
        while proc.poll() is None:
            monitor.poll()
            snap = monitor.snapshot()
            samples.append(
                (time.monotonic(), snap["percent"], snap["remaining_s"], snap["remaining_from"])
            )
            time.sleep(0.5)
        ended = time.monotonic()
        total = ended - started
        print(f"run took {total:.1f} s at speed {args.speed}, {args.cores} core(s)")
        model_s = estimate_time(monitor.case, args.cores) / args.speed
        print(f"uncalibrated estimate before the start: {model_s:.1f} s")
        print(f"{'percent':>8} {'predicted':>10} {'actual':>8} {'error':>7}  source")
        for target in (2, 5, 10, 25, 50, 75, 90, 95):
            row = next((s for s in samples if s[1] >= target), None)
            if row is None or row[2] is None:
                continue
            actual = ended - row[0]
            error = (row[2] - actual) / actual * 100 if actual > 0 else 0.0
            print(f"{row[1]:7.1f}% {row[2]:9.1f}s {actual:7.1f}s {error:+6.0f}%  {row[3]}")


if __name__ == "__main__":
    main()
