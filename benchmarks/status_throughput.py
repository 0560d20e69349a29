"""How many status requests per second does the daemon answer, against a bare aiohttp app?

Fills a fresh data directory with --runs runs in one transaction (through the Store, before the
daemon starts; mostly finished runs carrying the progress and usage a real simulator run leaves,
one in twenty ready), starts the daemon, then drives, from a load generator in a separate
process (aiohttp client, --concurrency connections, --duration seconds after a 1 s warm-up):

  GET /localrun/v1/runs/{id}        a random one of the runs each time
  GET /localrun/v1/runs?limit=50    the first page

and the same against a bare aiohttp app in another process that answers both paths from a dict
holding the very bodies the daemon returned (same sizes, json_response per request, no token
check, no SQLite). Prints req/s, latency p50/p99 and the server's CPU while loaded.

The machine has 2 cores: the load generator takes one, so a server that needs less than the
other one is measured at the load generator's limit (see "server CPU" in the output).

python benchmarks/status_throughput.py [--runs 10000] [--concurrency 16] [--duration 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from _harness import (
    EXAMPLE,
    MPIEXEC,
    SIMULATOR,
    Daemon,
    end_process,
    free_port,
    percentile,
    run_benchmark,
    stage_example,
    temp_dir,
    wait_http,
)
from aiohttp import web

from localrun.runs import Run, State
from localrun.service import hash_token, new_token
from localrun.store import Store, _event, _run_columns
from localrun.wrf.monitor import Monitor

OWNER = "bench"


# the data


def simulated_progress() -> dict[str, Any]:
    """The progress record a finished example run leaves (the simulator at speed 50)."""
    with temp_dir("localrun-bench-sim-") as root:
        work = root / "work"
        stage_example(work, root / "input")
        env = {**os.environ, "LOCALRUN_SIM_SPEED": "50", "OMP_NUM_THREADS": "1"}
        subprocess.run(
            [MPIEXEC, "-np", "2", SIMULATOR],
            cwd=work,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
            check=True,
            start_new_session=True,
        )
        monitor = Monitor(work, root / "input", 2)
        monitor.poll()
        return monitor.snapshot()


def make_run(index: int, progress: dict[str, Any], now: float) -> Run:
    """Mostly finished runs; one in ten failed or cancelled, one in twenty ready."""
    state = [State.SUCCEEDED] * 17 + [State.FAILED, State.CANCELLED, State.READY]
    run = Run(
        id=f"bench-{index:05d}-{random.getrandbits(32):08x}",
        owner=OWNER,
        family="localrun",
        name=f"case-{index}",
        model="wrf",
        version="latest",
        state=state[index % len(state)],
        walltime_s=86400,
        created_at=now - 10_000 + index,
        cores=2,
        extra={"required_inputs": ["namelist.input", "wrfinput_d01"]},
    )
    if run.state == State.READY:
        return run
    run.queued_at, run.started_at, run.ended_at = run.created_at + 1, run.created_at + 2, now
    run.launch = {"argv": [MPIEXEC, "-np", "2", SIMULATOR], "cwd": f"/data/runs/{run.id}/work"}
    run.executor_ref = f"{10_000 + index}:{run.started_at!r}"
    run.usage = {"cpu_percent": 187.3, "rss_bytes": 212_000_000, "processes": 4}
    run.progress = progress
    if run.state == State.SUCCEEDED:
        run.exit_code = 0
    elif run.state == State.FAILED:
        run.exit_code, run.error_code = 1, "cfl"
        run.error_message = "d01 0001-01-01_00:12:00  points exceeded cfl=2 in domain d01"
        run.error_hint = "reduce time_step"
    else:
        run.exit_code, run.error_code = 143, "signal"
        run.error_message, run.stop_requested_at = "stopped by request", now
    return run


async def fill(db: Path, data_dir: Path, count: int, progress: dict[str, Any]) -> tuple[str, float]:
    """count runs with their first event, in one transaction; returns (token, seconds)."""
    began = time.perf_counter()
    store = await Store.open(db)
    try:
        token = new_token()
        await store.add_token(OWNER, OWNER, hash_token(token))
        now = time.time()
        statements: list[tuple[str, Sequence[Any]]] = []
        for index in range(count):
            run = make_run(index, progress, now)
            row = _run_columns(run)
            row.pop("seq")
            marks = ", ".join("?" for _ in row)
            sql = f"INSERT INTO runs({', '.join(row)}) VALUES ({marks})"
            statements.append((sql, list(row.values())))
            statements.append(_event(run.id, run.state, "created", run.created_at))
            if run.state == State.READY:
                inputs = data_dir / "runs" / run.id / "input"
                inputs.mkdir(parents=True)
                for name in ("namelist.input", "wrfinput_d01"):
                    (inputs / name).symlink_to(EXAMPLE / name)
        await store._run_write(statements)  # one transaction: the public insert_run is one per run
        assert await store.count_runs(OWNER) == count
    finally:
        await store.close()
    return token, time.perf_counter() - began


# the load generator and the bare app (each in its own process)


async def load(
    base: str,
    paths: list[str],
    token: str,
    concurrency: int,
    duration: float,
    warmup: float,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Requests from `concurrency` connections: warm-up, then duration seconds measured."""
    latencies: list[float] = []
    errors, sizes = 0, 0
    headers = headers or {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + duration
    cpu_from = 0.0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal errors, sizes, cpu_from
        pick = random.Random()
        while (began := time.perf_counter()) < stop_at:
            path = paths[pick.randrange(len(paths))]
            async with session.get(base + path, headers=headers) as resp:
                body = await resp.read()
                ok = resp.status == 200
            if began >= measure_from:
                cpu_from = cpu_from or time.process_time()
                latencies.append(time.perf_counter() - began)
                sizes += len(body)
                errors += not ok

    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    elapsed = time.perf_counter() - measure_from
    return {
        "client_cpu": 100 * (time.process_time() - cpu_from) / elapsed,
        "requests": len(latencies),
        "errors": errors,
        "elapsed_s": elapsed,
        "mean_bytes": sizes / max(1, len(latencies)),
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


def bare_app(bodies: dict[str, Any], page: dict[str, Any]) -> web.Application:
    async def get_run(request: web.Request) -> web.Response:
        return web.json_response(bodies[request.match_info["id"]])

    async def list_runs(request: web.Request) -> web.Response:
        return web.json_response(page)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/localrun/v1/runs/{id}", get_run)
    app.router.add_get("/localrun/v1/runs", list_runs)
    app.router.add_get("/healthz", healthz)
    return app


def child_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["loadgen", "bare"])
    parser.add_argument("--spec", type=Path, required=True)
    args = parser.parse_args(argv)
    spec = json.loads(args.spec.read_text())
    if args.role == "bare":
        app = bare_app(spec["bodies"], spec["page"])
        web.run_app(app, host="127.0.0.1", port=spec["port"], print=None, access_log=None)
        return
    result = asyncio.run(
        load(
            spec["base"],
            spec["paths"],
            spec["token"],
            spec["concurrency"],
            spec["duration"],
            spec["warmup"],
            spec.get("headers"),
        )
    )
    print(json.dumps(result))


# the driver


def measure(
    label: str, server_pid: int, spec: dict[str, Any], spec_file: Path, timeout_s: float
) -> dict[str, Any]:
    spec_file.write_text(json.dumps(spec))
    server = psutil.Process(server_pid)
    loadgen = subprocess.Popen(
        [sys.executable, __file__, "loadgen", "--spec", str(spec_file)],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        time.sleep(spec["warmup"])
        cpu0, t0 = server.cpu_times(), time.monotonic()
        psutil.cpu_percent()
        out, _ = loadgen.communicate(timeout=timeout_s)
        cpu1, t1 = server.cpu_times(), time.monotonic()
        machine = psutil.cpu_percent() * (psutil.cpu_count() or 1)
    finally:
        end_process(loadgen, grace_s=2)
    if loadgen.returncode != 0:
        raise RuntimeError(f"load generator for {label} exited {loadgen.returncode}")
    result: dict[str, Any] = json.loads(out)
    busy = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    result["server_cpu"] = 100 * busy / (t1 - t0)
    result["other_cpu"] = max(0.0, machine - result["server_cpu"] - result["client_cpu"])
    result["label"] = label
    return result


def all_bodies(daemon: Daemon) -> dict[str, Any]:
    """Every run's body as GET /runs/{id} returns it (the list pages carry the same bodies)."""
    bodies: dict[str, Any] = {}
    cursor = ""
    while True:
        query = "?limit=1000" + (f"&cursor={cursor}" if cursor else "")
        page = daemon.api("GET", "/localrun/v1/runs" + query)
        bodies.update((r["id"], r) for r in page["runs"])
        cursor = page["next_cursor"]
        if not cursor:
            return bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=1.0)
    args = parser.parse_args()
    bare: subprocess.Popen[bytes] | None = None
    with Daemon(cores=2, poll_interval_s=1.0) as daemon:
        try:
            began = time.perf_counter()
            progress = simulated_progress()
            print(f"a simulated run's progress record in {time.perf_counter() - began:.1f} s")
            db = daemon.data_dir / "localrun.db"
            token, took = asyncio.run(fill(db, daemon.data_dir, args.runs, progress))
            daemon.token = token
            print(f"{args.runs} runs written through the Store in one transaction in {took:.2f} s")
            daemon.start()
            bodies = all_bodies(daemon)
            assert len(bodies) == args.runs, len(bodies)
            sample = daemon.api("GET", f"/localrun/v1/runs/{next(iter(bodies))}")
            assert sample == bodies[sample["id"]]
            page = daemon.api("GET", "/localrun/v1/runs?limit=50")
            bare_port = free_port()
            bare_spec = daemon.root / "bare.json"
            bare_spec.write_text(json.dumps({"port": bare_port, "bodies": bodies, "page": page}))
            bare = subprocess.Popen(
                [sys.executable, __file__, "bare", "--spec", str(bare_spec)],
                start_new_session=True,
            )
            wait_http(f"http://127.0.0.1:{bare_port}/healthz", bare)
            by_id = [f"/localrun/v1/runs/{run_id}" for run_id in bodies]
            listing = ["/localrun/v1/runs?limit=50"]
            results = []
            for label, pid, base, paths in (
                ("daemon  GET /runs/{id}", daemon.pid, daemon.url, by_id),
                ("bare    GET /runs/{id}", bare.pid, f"http://127.0.0.1:{bare_port}", by_id),
                ("daemon  GET /runs?limit=50", daemon.pid, daemon.url, listing),
                ("bare    GET /runs?limit=50", bare.pid, f"http://127.0.0.1:{bare_port}", listing),
            ):
                spec = {
                    "base": base,
                    "paths": paths,
                    "token": token,
                    "concurrency": args.concurrency,
                    "duration": args.duration,
                    "warmup": args.warmup,
                }
                timeout = args.duration + args.warmup + 60
                results.append(measure(label, pid, spec, daemon.root / "load.json", timeout))
                print(f"  measured {label}", flush=True)
        finally:
            if bare is not None:
                end_process(bare, grace_s=5)
    print(
        f"\n{args.runs} runs in the store, {args.concurrency} connections, "
        f"{args.duration:g} s per line after {args.warmup:g} s warm-up, loopback, "
        f"{psutil.cpu_count()} CPU(s)"
    )
    print(
        f"  {'':28s} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'body B':>7} {'errors':>6}"
        f" {'CPU: server':>11} {'loadgen':>7} {'others':>6}"
    )
    for r in results:
        print(
            f"  {r['label']:28s} {r['requests'] / r['elapsed_s']:7.0f} {r['p50_ms']:7.2f}"
            f" {r['p99_ms']:7.2f} {r['mean_bytes']:7.0f} {r['errors']:6d}"
            f" {r['server_cpu']:10.0f}% {r['client_cpu']:6.0f}% {r['other_cpu']:5.0f}%"
        )
    print("  (CPU in % of one core, over the measured window; 'others' = the rest of the machine)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in {"loadgen", "bare"}:
        child_main(sys.argv[1:])
    else:
        run_benchmark(main)
