"""How much later do a run's MPI ranks come alive through the daemon than with mpiexec by hand?

Daemon: a ready run (the example case, uploaded), then the clock starts with
`POST /localrun/v1/runs/{id}/start` and stops when `--cores` localrun-wrf-sim processes run in
the run's work dir. The request goes through plain urllib: localrun.client.Client builds an SSL
context on every request (~30 ms), which is shown apart, for a GET. Direct: the clock starts at
`Popen(mpiexec -np N localrun-wrf-sim)` in a directory laid out the same way (inputs linked into
work/) and stops when the same ranks are alive. Also timed in both: until rank 0 has written its
first rsl.error.0000 line. The two kinds alternate, each run is stopped before the next, and only
processes born after the clock started are looked at (a sweep costs well under a millisecond).

python benchmarks/launch_overhead.py [--repeat 10] [--cores 2] [--poll-interval 1.0]
    [--sandbox auto|bubblewrap|none]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from _harness import (
    BINDIR,
    EXAMPLE,
    MPIEXEC,
    SIMULATOR,
    Daemon,
    end_process,
    median,
    percentile,
    run_benchmark,
    stage_example,
    temp_dir,
)

from localrun.client import Client

TERMINAL = {"succeeded", "failed", "cancelled", "timed_out", "lost"}
SWEEP_PAUSE_S = 0.0005


@dataclass
class Timings:
    label: str
    alive_ms: list[float] = field(default_factory=list)
    log_ms: list[float] = field(default_factory=list)
    response_ms: list[float] = field(default_factory=list)
    status_ms: list[float] = field(default_factory=list)
    client_status_ms: list[float] = field(default_factory=list)


def wait_ranks(cwd: str, count: int, before: set[int], t0: float, timeout_s: float) -> float:
    """Seconds from t0 until `count` simulator ranks born after `before` run in cwd."""
    deadline = t0 + timeout_s
    while time.perf_counter() < deadline:
        ranks = 0
        for pid in set(psutil.pids()) - before:
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(pid)
                cmdline = proc.cmdline()
                if any(a.endswith("localrun-wrf-sim") for a in cmdline[:2]) and proc.cwd() == cwd:
                    ranks += 1
        if ranks >= count:
            return time.perf_counter() - t0
        time.sleep(SWEEP_PAUSE_S)
    raise RuntimeError(f"{count} ranks not alive in {cwd} after {timeout_s:.0f} s")


def wait_first_line(work: Path, t0: float, timeout_s: float) -> float:
    """Seconds from t0 until rank 0 has written something to rsl.error.0000."""
    path = work / "rsl.error.0000"
    deadline = t0 + timeout_s
    while time.perf_counter() < deadline:
        with contextlib.suppress(OSError):
            if path.stat().st_size > 0:
                return time.perf_counter() - t0
        time.sleep(0.002)
    raise RuntimeError(f"{path} stayed empty for {timeout_s:.0f} s")


def through_daemon(
    daemon: Daemon, client: Client, cores: int, index: int, out: Timings, timeout_s: float
) -> None:
    run = client.create_run(name=f"launch-{index}", cores=cores)
    run = client.upload(run["id"], sorted(EXAMPLE.iterdir()))["run"]
    if run["state"] != "ready":
        raise RuntimeError(f"run {run['id']} is {run['state']} after its upload, not ready")
    work = daemon.work_dir(run["id"]).resolve()
    t0 = time.perf_counter()
    client.run(run["id"])
    out.client_status_ms.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    daemon.api("GET", f"/localrun/v1/runs/{run['id']}")
    out.status_ms.append((time.perf_counter() - t0) * 1000)
    before = set(psutil.pids())
    t0 = time.perf_counter()
    started = daemon.api("POST", f"/localrun/v1/runs/{run['id']}/start", {"cores": cores})
    out.response_ms.append((time.perf_counter() - t0) * 1000)
    try:
        out.alive_ms.append(wait_ranks(str(work), cores, before, t0, timeout_s) * 1000)
        out.log_ms.append(wait_first_line(work, t0, timeout_s) * 1000)
    finally:
        client.stop(started["id"])
        daemon.wait_state(started["id"], TERMINAL, timeout_s)


def direct(
    root: Path, cores: int, speed: float, index: int, out: Timings, timeout_s: float
) -> None:
    base = root / f"direct-{index}"
    work = base / "work"
    stage_example(work, base / "input")
    (base / "logs").mkdir()
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "LOCALRUN_SIM_SPEED": str(speed),
        "LOCALRUN_CORES": str(cores),
        "PATH": os.pathsep.join([str(BINDIR), os.environ.get("PATH", "/usr/bin:/bin")]),
    }
    argv = [MPIEXEC, "-np", str(cores), SIMULATOR]
    before = set(psutil.pids())
    with (
        (base / "logs" / "mpirun.stdout").open("ab") as so,
        (base / "logs" / "mpirun.stderr").open("ab") as se,
    ):
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=so,
            stderr=se,
            start_new_session=True,
        )
    try:
        out.alive_ms.append(wait_ranks(str(work.resolve()), cores, before, t0, timeout_s) * 1000)
        out.log_ms.append(wait_first_line(work, t0, timeout_s) * 1000)
    finally:
        end_process(proc, grace_s=3.0)


def row(name: str, values: list[float]) -> str:
    return (
        f"  {name:<30} median {median(values):8.1f} ms   p90 {percentile(values, 90):8.1f} ms"
        f"   min {min(values):8.1f}   max {max(values):8.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--cores", type=int, default=2, help="ranks per run (-np)")
    parser.add_argument(
        "--poll-interval", type=float, default=1.0, help="the daemon's poll_interval_s"
    )
    parser.add_argument("--speed", type=float, default=1.0, help="simulator speed factor")
    parser.add_argument("--timeout", type=float, default=30.0, help="per launch, seconds")
    parser.add_argument(
        "--sandbox", default="auto", help="the daemon's sandbox setting (auto, bubblewrap, none)"
    )
    args = parser.parse_args()
    via, by_hand = Timings("daemon"), Timings("direct")
    began = time.monotonic()
    with (
        Daemon(
            cores=args.cores,
            sim_speed=args.speed,
            poll_interval_s=args.poll_interval,
            stop_grace_s=3,
            sandbox=args.sandbox,
        ) as daemon,
        temp_dir("localrun-bench-direct-") as root,
    ):
        daemon.start()
        client = Client(daemon.url, daemon.token, timeout=60)
        for i in range(args.repeat):
            if i % 2 == 0:
                through_daemon(daemon, client, args.cores, i, via, args.timeout)
                direct(root, args.cores, args.speed, i, by_hand, args.timeout)
            else:
                direct(root, args.cores, args.speed, i, by_hand, args.timeout)
                through_daemon(daemon, client, args.cores, i, via, args.timeout)
            print(
                f"  launch {i + 1:2d}/{args.repeat}: daemon {via.alive_ms[-1]:7.1f} ms,"
                f" direct {by_hand.alive_ms[-1]:7.1f} ms (ranks alive)",
                flush=True,
            )
    print(
        f"\n{args.repeat} launches each of mpiexec -np {args.cores} localrun-wrf-sim, "
        f"daemon poll_interval_s={args.poll_interval:g}, sandbox {args.sandbox}, "
        f"{psutil.cpu_count()} CPU(s), "
        f"{time.monotonic() - began:.0f} s in all"
    )
    print("daemon (HTTP start request → …):")
    print(row("(GET /runs/{id}, for scale)", via.status_ms))
    print(row("(the same via localrun.client)", via.client_status_ms))
    print(row("202 response", via.response_ms))
    print(row("ranks alive", via.alive_ms))
    print(row("first rsl.error.0000 line", via.log_ms))
    print("direct (Popen(mpiexec) → …):")
    print(row("ranks alive", by_hand.alive_ms))
    print(row("first rsl.error.0000 line", by_hand.log_ms))
    print("daemon overhead (daemon − direct):")
    for name, a, b in (
        ("ranks alive", via.alive_ms, by_hand.alive_ms),
        ("first rsl.error.0000 line", via.log_ms, by_hand.log_ms),
    ):
        print(
            f"  {name:<30} median {median(a) - median(b):+8.1f} ms   "
            f"p90 {percentile(a, 90) - percentile(b, 90):+8.1f} ms"
        )


if __name__ == "__main__":
    run_benchmark(main)
