"""How much CPU does the daemon itself burn watching live runs?

Starts the daemon with cores = 4 × --cores-per-run (so four runs fit at once; the machine is
oversubscribed on purpose), and measures the daemon process's CPU (user + system of all its
threads, from psutil cpu_times, over a --window seconds window) in three phases:

  idle       no run at all
  4 runs     four runs of the example case (--run-minutes of model time at --speed) being
             watched by the supervisor (psutil samples, rsl.out.0000 reads, a progress write
             per run per poll_interval_s)
  + clients  the same four runs, plus one client per run asking GET /localrun/v1/runs/{id}
             once a second, as `localrun submit --watch` does

The runs themselves are not counted (they are other processes). They are stopped at the end.

python benchmarks/watch_cpu.py [--window 20] [--cores-per-run 2] [--speed 1] [--poll-interval 1]
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path

import psutil
from _harness import (
    EXAMPLE,
    Daemon,
    run_benchmark,
    sim_ranks,
    write_namelist,
)

from localrun.client import Client

RUNS = 4
TERMINAL = {"succeeded", "failed", "cancelled", "timed_out", "lost"}


def cpu_window(pid: int, seconds: float) -> tuple[float, float]:
    """The process's CPU over the next `seconds`: (% of one core, CPU seconds)."""
    proc = psutil.Process(pid)
    before, t0 = proc.cpu_times(), time.monotonic()
    time.sleep(seconds)
    after, t1 = proc.cpu_times(), time.monotonic()
    busy = (after.user - before.user) + (after.system - before.system)
    return 100 * busy / (t1 - t0), busy


def watchers(client: Client, run_ids: list[str], stop: threading.Event) -> list[threading.Thread]:
    """One thread per run polling its status once a second until stop is set."""

    def poll(run_id: str) -> None:
        while not stop.is_set():
            client.run(run_id)
            stop.wait(1.0)

    threads = [threading.Thread(target=poll, args=(r,), daemon=True) for r in run_ids]
    for thread in threads:
        thread.start()
    return threads


def submit(daemon: Daemon, client: Client, case: list[Path], cores: int) -> list[str]:
    ids = []
    for index in range(RUNS):
        run = client.create_run(name=f"watch-{index}", cores=cores)
        client.upload(run["id"], case)
        client.start(run["id"], cores)
        ids.append(run["id"])
    for run_id in ids:
        daemon.wait_state(run_id, {"running"} | TERMINAL, timeout_s=60)
    return ids


def live(daemon: Daemon, client: Client, ids: list[str], cores: int) -> str:
    """'4/4 running, 8 ranks, 12-14 %' — how the runs are doing now."""
    found = [client.run(run_id) for run_id in ids]
    running = sum(r["state"] == "running" for r in found)
    ranks = sum(len(sim_ranks(str(daemon.work_dir(r).resolve()))) for r in ids)
    percents = [float((r.get("progress") or {}).get("percent") or 0) for r in found]
    return (
        f"{running}/{len(ids)} running, {ranks}/{len(ids) * cores} ranks alive, "
        f"model progress {min(percents):.0f}-{max(percents):.0f} %"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=20.0, help="seconds per phase")
    parser.add_argument("--cores-per-run", type=int, default=2)
    parser.add_argument("--speed", type=float, default=1.0, help="simulator speed factor")
    parser.add_argument(
        "--run-minutes", type=int, default=90, help="model time of each run (~100 s on 2 cores)"
    )
    parser.add_argument(
        "--poll-interval", type=float, default=1.0, help="the daemon's poll_interval_s"
    )
    args = parser.parse_args()
    cores = args.cores_per_run
    stop = threading.Event()
    results: list[tuple[str, float, float, str]] = []
    began = time.monotonic()
    with Daemon(
        cores=RUNS * cores,
        sim_speed=args.speed,
        poll_interval_s=args.poll_interval,
        stop_grace_s=3,
    ) as daemon:
        try:
            daemon.start()
            client = Client(daemon.url, daemon.token, timeout=60)
            case_dir = daemon.root / "case"
            case_dir.mkdir()
            write_namelist(case_dir / "namelist.input", args.run_minutes)
            (case_dir / "wrfinput_d01").symlink_to(EXAMPLE / "wrfinput_d01")
            case = sorted(case_dir.iterdir())
            time.sleep(1.0)
            percent, busy = cpu_window(daemon.pid, args.window)
            results.append(("idle (0 runs)", percent, busy, "-"))
            print(f"  measured idle: {percent:.2f} %", flush=True)
            ids = submit(daemon, client, case, cores)
            time.sleep(2.0)  # past the start-up of the ranks
            percent, busy = cpu_window(daemon.pid, args.window)
            state = live(daemon, client, ids, cores)
            results.append((f"{RUNS} runs watched", percent, busy, state))
            print(f"  measured {RUNS} runs: {percent:.2f} % ({state})", flush=True)
            threads = watchers(client, ids, stop)
            percent, busy = cpu_window(daemon.pid, args.window)
            stop.set()
            for thread in threads:
                thread.join(timeout=10)
            state = live(daemon, client, ids, cores)
            results.append((f"{RUNS} runs + {RUNS} clients at 1/s", percent, busy, state))
            print(f"  measured {RUNS} runs + clients: {percent:.2f} % ({state})", flush=True)
            rss = psutil.Process(daemon.pid).memory_info().rss
            for run_id in ids:
                client.stop(run_id)
            for run_id in ids:
                daemon.wait_state(run_id, TERMINAL, timeout_s=30)
        finally:
            stop.set()
    print(
        f"\ndaemon CPU over {args.window:g} s per phase; poll_interval_s={args.poll_interval:g}, "
        f"{RUNS} runs × {cores} ranks, simulator speed {args.speed:g}, {args.run_minutes} model "
        f"minutes each, {psutil.cpu_count()} CPU(s); daemon RSS {rss / 2**20:.0f} MiB; "
        f"{time.monotonic() - began:.0f} s in all"
    )
    print(f"  {'phase':34s} {'CPU % of a core':>15} {'CPU s':>7}  runs at the end of the phase")
    for label, percent, busy, state in results:
        print(f"  {label:34s} {percent:15.2f} {busy:7.2f}  {state}")
    idle = results[0][1]
    per_run = (results[1][1] - idle) / RUNS
    print(f"  per watched run: {per_run:+.2f} % of a core above idle")
    if any(not state.startswith(f"{RUNS}/{RUNS} running") for _, _, _, state in results[1:]):
        print("  warning: not every run lasted the whole window; raise --run-minutes")


if __name__ == "__main__":
    run_benchmark(main)
