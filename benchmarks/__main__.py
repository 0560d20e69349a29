"""Every benchmark of issue 18 in one table: each figure beside its ceiling or peer, same run.

    python -m benchmarks                 all rows (the upload at 256 MiB)
    python -m benchmarks status pulsar   only those rows
    python -m benchmarks upload --full   the upload at 2 GiB (and 100,000 runs for status)

Rows: status (10,000 runs stored; --full or --runs adds 100,000), launch, upload, tail, watch,
freshness, pulsar. Each row starts its own daemon in a temp data directory and stops it, with
every process it started, at the end. The ratios are what count on a shared machine: absolute
times move with the load of others; both sides of a ratio are measured in the same minute.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the scripts beside this one import each other by bare name

import psutil  # noqa: E402
from _harness import (  # noqa: E402
    EXAMPLE,
    MPIEXEC,
    Daemon,
    end_process,
    free_port,
    median,
    percentile,
    rescale_job,
    run_benchmark,
    temp_dir,
    wait_http,
    write_namelist,
)
from _http import Http  # noqa: E402

from localrun.client import Client, _multipart, _part_head  # noqa: E402

TERMINAL = {"succeeded", "failed", "cancelled", "timed_out", "lost"}
PULSAR_VENV = HERE / ".pulsar-venv"
PULSAR_REQ = "pulsar-app[web]==0.16.0"
MPI_JOB = f"{MPIEXEC} -n 2 {sys.executable} -c 'from mpi4py import MPI; MPI.COMM_WORLD.Barrier()'"


@dataclass
class Row:
    figure: str
    value: str  # localrun's figure
    peer: str  # the ceiling or peer, measured in the same run
    ratio: str
    target: str
    met: bool | None = None


ROWS: list[tuple[str, Row]] = []


def add(name: str, row: Row) -> None:
    ROWS.append((name, row))
    mark = {True: "ok", False: "MISS", None: ""}[row.met]
    print(f"  [{name}] {row.figure}: {row.value} | {row.peer} | {row.ratio} {mark}", flush=True)


def failed(name: str, why: str) -> None:
    add(name, Row(f"{name}: not measured", why[:110], "", "", ""))


# status polls


def seed_ids(db: Path, count: int) -> list[str]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT id FROM runs ORDER BY random() LIMIT ?", (count,)).fetchall()
    return [r[0] for r in rows]


def bare_bytes_main(spec_file: str) -> None:
    """The ceiling: an aiohttp app that answers each path with the bytes localrun gave."""
    from aiohttp import web

    spec = json.loads(Path(spec_file).read_text())
    answers = {
        path: (status, body.encode("latin-1"), ctype)
        for path, (status, body, ctype) in spec["answers"].items()
    }

    async def handler(request: web.Request) -> web.Response:
        status, body, ctype = answers.get(request.path_qs, (200, b"{}", "application/json"))
        return web.Response(body=body, status=status, content_type=ctype)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    web.run_app(app, host="127.0.0.1", port=spec["port"], print=None, access_log=None)


def capture(base: str, paths: list[str], headers: dict[str, str]) -> dict[str, Any]:
    http = Http(base, headers)
    answers = {}
    for path in paths:
        status, body = http.raw("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {body[:200]!r}")
        answers[path] = (status, body.decode("latin-1"), "application/json")
    http.close()
    return answers


def status_row(runs: int, args: argparse.Namespace) -> None:
    import status_throughput as st

    with Daemon(cores=2, poll_interval_s=1.0) as daemon:
        bare: subprocess.Popen[bytes] | None = None
        try:
            progress = st.simulated_progress()
            db = daemon.data_dir / "localrun.db"
            token, took = asyncio.run(st.fill(db, daemon.data_dir, runs, progress))
            print(f"  [status] {runs} runs seeded through the Store in {took:.1f} s", flush=True)
            daemon.token = token
            daemon.start()
            bearer = {"Authorization": f"Bearer {token}"}
            rescale = {"Authorization": f"Token {token}"}
            http = Http(daemon.url, bearer)
            cloud_ids = [
                http.json("POST", "/v1/runs", {"model": "wrf", "version": "4.5"})["id"]
                for _ in range(20)
            ]
            job = rescale_job("true", name="t")
            rs = Http(daemon.url, rescale)
            job_ids = [rs.json("POST", "/api/v2/jobs/", job)["id"] for _ in range(20)]
            cases = {
                "native GET /localrun/v1/runs/{id}": (
                    [f"/localrun/v1/runs/{i}" for i in seed_ids(db, 500)],
                    bearer,
                    "≥ 0.7×",
                    0.7,
                ),
                "native GET /localrun/v1/runs?limit=50": (
                    ["/localrun/v1/runs?limit=50"],
                    bearer,
                    "≥ 0.5×",
                    0.5,
                ),
                "Cloudrun GET /v1/runs/{id}": (
                    [f"/v1/runs/{i}" for i in cloud_ids],
                    bearer,
                    "",
                    None,
                ),
                "Rescale GET /api/v2/jobs/{id}/": (
                    [f"/api/v2/jobs/{i}/" for i in job_ids],
                    rescale,
                    "",
                    None,
                ),
            }
            answers: dict[str, Any] = {}
            for paths, headers, _, _ in cases.values():
                answers.update(capture(daemon.url, paths, headers))
            port = free_port()
            spec_file = daemon.root / "bare.json"
            spec_file.write_text(json.dumps({"port": port, "answers": answers}))
            bare = subprocess.Popen(
                [sys.executable, "-m", "benchmarks", "_bare", str(spec_file)],
                cwd=HERE.parent,
                start_new_session=True,
            )
            wait_http(f"http://127.0.0.1:{port}/healthz", bare)
            for label, (paths, headers, target, floor) in cases.items():
                rates: dict[str, list[float]] = {"localrun": [], "bare": []}
                for _ in range(args.alternate):  # the machine's load moves: alternate sides
                    for side, pid, base in (
                        ("localrun", daemon.pid, daemon.url),
                        ("bare", bare.pid, f"http://127.0.0.1:{port}"),
                    ):
                        spec = {
                            "base": base,
                            "paths": paths,
                            "token": token,
                            "headers": headers,
                            "concurrency": args.concurrency,
                            "duration": args.duration / args.alternate,
                            "warmup": 0.5,
                        }
                        result = st.measure(
                            label, pid, spec, daemon.root / "load.json", args.duration + 60
                        )
                        if result["errors"]:
                            raise RuntimeError(f"{label}: {result['errors']} errors")
                        rates[side].append(result["requests"] / result["elapsed_s"])
                got = {side: median(values) for side, values in rates.items()}
                ratio = median([a / b for a, b in zip(*rates.values(), strict=True)])
                STATUS[(runs, label)] = ratio
                add(
                    "status",
                    Row(
                        f"{label}, {runs:,} runs stored, {args.concurrency} conns",
                        f"{got['localrun']:,.0f} req/s",
                        f"bare handler, same bytes {got['bare']:,.0f} req/s",
                        f"{ratio:.2f}×",
                        target,
                        None if floor is None else ratio >= floor,
                    ),
                )
        finally:
            if bare is not None:
                end_process(bare, grace_s=5)


STATUS: dict[tuple[int, str], float] = {}


def status_scaling() -> None:
    sizes = sorted({n for n, _ in STATUS})
    if len(sizes) < 2:
        return
    small, big = sizes[0], sizes[-1]
    for label in ("native GET /localrun/v1/runs/{id}", "native GET /localrun/v1/runs?limit=50"):
        if (small, label) in STATUS and (big, label) in STATUS:
            change = STATUS[(big, label)] / STATUS[(small, label)]
            add(
                "status",
                Row(
                    f"{label}: ratio at {big:,} over ratio at {small:,}",
                    f"{STATUS[(big, label)]:.2f}×",
                    f"{STATUS[(small, label)]:.2f}× at {small:,}",
                    f"{change:.2f}",
                    "within 10 %",
                    change >= 0.9,
                ),
            )


# launch overhead


def launch_row(args: argparse.Namespace) -> None:
    import launch_overhead as lo

    daemon_t, direct_t = lo.Timings("daemon"), lo.Timings("direct")
    with Daemon(cores=2, poll_interval_s=1.0) as daemon, temp_dir("localrun-bench-") as root:
        daemon.start()
        client = Client(daemon.url, daemon.token, timeout=60)
        for index in range(args.repeat):
            lo.through_daemon(daemon, client, 2, index, daemon_t, 60)
            lo.direct(root, 2, 1.0, index, direct_t, 60)
    over = [a - b for a, b in zip(daemon_t.alive_ms, direct_t.alive_ms, strict=True)]
    add(
        "launch",
        Row(
            f"start request -> 2 MPI ranks alive, median of {args.repeat}",
            f"{median(daemon_t.alive_ms):.0f} ms (p90 {percentile(daemon_t.alive_ms, 90):.0f})",
            f"Popen(mpiexec) {median(direct_t.alive_ms):.0f} ms",
            f"+{median(over):.0f} ms",
            "≤ 15 ms over",
            median(over) <= 15,
        ),
    )


# upload


def upload_row(args: argparse.Namespace) -> None:
    """One file through each upload path, against cp of it on the same disk (the median of three
    copies made before the daemon starts); the daemon's peak RSS over its RSS when idle (before
    a 32 MiB warm-up upload), and the CPU seconds per GiB of the daemon and of the sending
    client (this process: urllib for multipart, sendfile for the raw PUT), which share the 2
    cores."""
    import upload as up

    size = up.sized(args.upload_mib / 1024, Path(tempfile.gettempdir()))
    with temp_dir("localrun-bench-upload-") as scratch, Daemon(cores=2) as daemon:
        source, copy = scratch / "big.bin", scratch / "copy.bin"
        up.make_file(source, size, sparse=False)
        os.sync()
        copies = []
        for _ in range(3):  # cp's time swings with the page cache's writeback: the median
            copies.append(up.timed(["cp", str(source), str(copy)])[0])
            copy.unlink()
            os.sync()
        cp_s = median(copies)
        daemon.start()
        client = Client(daemon.url, daemon.token, timeout=600)
        proc = psutil.Process(daemon.pid)
        gib = size / 2**30
        rss_idle = proc.memory_info().rss  # RSS growth is counted from the idle daemon's
        warm = scratch / "warm.bin"  # one small upload first: a daemon that has served one
        with source.open("rb") as handle:
            warm.write_bytes(handle.read(32 << 20))
        client.upload(client.create_run(name="warm-up")["id"], [warm])
        for label, send, target in (
            ("native raw PUT /localrun/v1/runs/{id}/inputs/{name}", "raw", 0.9),
            ("native multipart POST /localrun/v1/runs/{id}/inputs", "native", 0.8),
            ("Cloudrun multipart POST /v1/runs/{id}/input", "cloudrun", 0.8),
        ):
            time.sleep(0.5)
            rss0 = rss_idle
            peak = [proc.memory_info().rss]
            stop = threading.Event()

            def sample(peak: list[int] = peak, stop: threading.Event = stop) -> None:
                while not stop.wait(0.05):
                    peak[0] = max(peak[0], proc.memory_info().rss)

            sampler = threading.Thread(target=sample)
            sampler.start()
            cpu0, own0 = proc.cpu_times(), time.process_time()
            try:
                began = time.perf_counter()
                if send == "cloudrun":
                    run_id = Http(daemon.url, {"Authorization": f"Bearer {daemon.token}"}).json(
                        "POST", "/v1/runs", {"model": "wrf", "version": "4.5"}
                    )["id"]
                    boundary = "benchboundary0123456789"
                    length = len(_part_head(boundary, source)) + size + 2
                    length += len(f"--{boundary}--\r\n")
                    client._request(
                        "POST",
                        f"/v1/runs/{run_id}/input",
                        _multipart(boundary, [source]),
                        {
                            "Content-Type": f"multipart/form-data; boundary={boundary}",
                            "Content-Length": str(length),
                        },
                    )
                else:
                    run = client.create_run(name="upload")
                    if send == "raw":
                        client.upload(run["id"], [source])
                    else:
                        client.upload_multipart(run["id"], [source])
                took = time.perf_counter() - began
            finally:
                stop.set()
                sampler.join()
            cpu1, own = proc.cpu_times(), time.process_time() - own0
            daemon_cpu = cpu1.user - cpu0.user + cpu1.system - cpu0.system
            ratio = cp_s / took
            growth = (peak[0] - rss0) / 2**20
            add(
                "upload",
                Row(
                    f"{label}, {size / 2**20:,.0f} MiB",
                    f"{size / 2**20 / took:,.0f} MiB/s, RSS +{growth:.1f} MiB, CPU/GiB "
                    f"daemon {daemon_cpu / gib:.2f} s, client {own / gib:.2f} s",
                    f"cp {size / 2**20 / cp_s:,.0f} MiB/s (median of 3)",
                    f"{ratio:.2f}×",
                    f"≥ {target}×; RSS ≤ +32 MiB",
                    ratio >= target and growth <= 32,
                ),
            )
            for item in (daemon.data_dir / "runs").glob("*/input/big.bin"):
                item.unlink()
            os.sync()


# tail


def tail_row(args: argparse.Namespace) -> None:
    from localrun import files

    line = b"Timing for main: time 0001-01-01_00:27:48 on domain   1:    0.07273 elapsed seconds\n"
    with temp_dir("localrun-bench-tail-") as root:
        path = root / "rsl.out.0000"
        with path.open("wb") as handle:
            handle.truncate(1 << 30)
        with path.open("ab") as handle:
            handle.write(b"\n" + line * 2000)
        ours, theirs = [], []
        for _ in range(7):
            began = time.perf_counter()
            got = files.tail_lines(path, 100)
            ours.append(time.perf_counter() - began)
            began = time.perf_counter()
            out = subprocess.run(["tail", "-n", "100", str(path)], capture_output=True, check=True)
            theirs.append(time.perf_counter() - began)
        assert len(got) == 100 and out.stdout.count(b"\n") == 100
    ratio = median(ours) / median(theirs)
    add(
        "tail",
        Row(
            "last 100 lines of a 1 GiB sparse log (files.tail_lines), median of 7",
            f"{median(ours) * 1000:.2f} ms",
            f"tail -n 100 {median(theirs) * 1000:.2f} ms",
            f"{ratio:.2f}× the time",
            "≤ 2×",
            ratio <= 2,
        ),
    )


# watching


def cpu_share(pid: int, seconds: float) -> float:
    proc = psutil.Process(pid)
    before, t0 = proc.cpu_times(), time.monotonic()
    time.sleep(seconds)
    after, t1 = proc.cpu_times(), time.monotonic()
    return 100 * ((after.user - before.user) + (after.system - before.system)) / (t1 - t0)


def case_dir(root: Path, minutes: int) -> list[Path]:
    case = root / "case"
    case.mkdir(exist_ok=True)
    shutil.copy(EXAMPLE / "wrfinput_d01", case / "wrfinput_d01")
    write_namelist(case / "namelist.input", minutes)
    return sorted(case.iterdir())


def watch_row(args: argparse.Namespace) -> None:
    with (
        Daemon(cores=16, poll_interval_s=1.0, sim_speed=0.05) as daemon,
        temp_dir("localrun-bench-") as root,
    ):
        daemon.start()
        client = Client(daemon.url, daemon.token, timeout=60)
        case = case_dir(root, 600)
        time.sleep(2)
        idle = cpu_share(daemon.pid, args.window)
        ids: list[str] = []
        for count in (4, 16):
            while len(ids) < count:
                run = client.create_run(name=f"watch-{len(ids)}", cores=1)
                client.upload(run["id"], case)
                client.start(run["id"], 1)
                ids.append(run["id"])
            for run_id in ids:
                daemon.wait_state(run_id, {"running"} | TERMINAL, 120)
            time.sleep(2)
            share = cpu_share(daemon.pid, args.window)
            running = sum(client.run(r)["state"] == "running" for r in ids)
            add(
                "watch",
                Row(
                    f"daemon CPU watching {count} live runs ({running} running), poll 1 s",
                    f"{share:.1f} % of a core",
                    f"idle daemon {idle:.1f} %",
                    f"+{share - idle:.1f} pts",
                    "< 5 % at 16" if count == 16 else "",
                    share < 5 if count == 16 else None,
                ),
            )
        for run_id in ids:
            with contextlib.suppress(Exception):
                client.stop(run_id)


# freshness

TIMING = re.compile(rb"Timing for main: time (\S+) on domain +1:")


def freshness_row(args: argparse.Namespace) -> None:
    with (  # 3 cores: the WRF run's 2 and the Wherobots run's 1 (which mostly sleeps)
        Daemon(cores=3, poll_interval_s=1.0, sim_speed=0.5) as daemon,
        temp_dir("localrun-bench-") as root,
    ):
        daemon.start()
        client = Client(daemon.url, daemon.token, timeout=60)
        run = client.create_run(name="fresh", cores=2)
        client.upload(run["id"], case_dir(root, 600))
        client.start(run["id"], 2)
        daemon.wait_state(run["id"], {"running"}, 60)
        rsl = daemon.work_dir(run["id"]) / "rsl.out.0000"
        written: dict[bytes, float] = {}  # model time -> when its Timing line appeared
        lines_at: dict[bytes, float] = {}  # whole line -> when it appeared
        shown: dict[bytes, float] = {}
        delivered: dict[bytes, float] = {}
        stop = threading.Event()

        def watch_file() -> None:
            offset, rest = 0, b""
            while not stop.is_set():
                with contextlib.suppress(OSError), rsl.open("rb") as handle:
                    handle.seek(offset)
                    data = handle.read()
                    if data:
                        now = time.monotonic()
                        offset += len(data)
                        *whole, rest = (rest + data).split(b"\n")
                        for line in whole:
                            lines_at.setdefault(line, now)
                            if found := TIMING.search(line):
                                written.setdefault(found.group(1), now)
                time.sleep(0.002)

        def poll_api() -> None:
            http = Http(daemon.url, {"Authorization": f"Bearer {daemon.token}"})
            while not stop.is_set():
                body = http.json("GET", f"/localrun/v1/runs/{run['id']}")
                now = time.monotonic()
                for domain in (body.get("progress") or {}).get("domains") or []:
                    if domain.get("domain") == 1 and domain.get("model_time"):
                        shown.setdefault(domain["model_time"].encode(), now)
                time.sleep(0.01)

        def follow_logs() -> None:
            http = Http(daemon.url, {"Authorization": f"Bearer {daemon.token}"})
            offset = 0
            while not stop.is_set():
                chunk = http.json(
                    "GET", f"/localrun/v1/runs/{run['id']}/logs?offset={offset}&follow=2"
                )
                now = time.monotonic()
                for line in chunk["text"].encode().split(b"\n"):
                    delivered.setdefault(line, now)
                offset = chunk["next_offset"]

        wherobots = wherobots_ticker(daemon, args.window + 5)
        cursor_delays: list[float] = []

        def follow_cursor() -> None:
            http = Http(daemon.url, {"X-API-Key": daemon.token})
            cursor = 0
            while not stop.is_set():
                page = http.json("GET", f"/runs/{wherobots}/logs?cursor={cursor}&size=1000")
                now = time.time()
                for item in page["items"]:
                    if item["raw"].startswith("tick "):
                        cursor_delays.append(now - float(item["raw"].split()[1]))
                cursor = page["next_page"]
                time.sleep(0.01)

        threads = [
            threading.Thread(target=t) for t in (watch_file, poll_api, follow_logs, follow_cursor)
        ]
        for thread in threads:
            thread.start()
        time.sleep(args.window)
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        client.stop(run["id"])
    progress = [shown[t] - w for t, w in written.items() if t in shown]
    logs = [delivered[b] - a for b, a in lines_at.items() if b in delivered and b.strip()]
    if len(progress) < 3:
        raise RuntimeError(f"only {len(progress)} Timing lines seen through the API")
    add(
        "freshness",
        Row(
            f"Timing line written -> GET /runs/{{id}} shows it ({len(progress)} lines)",
            f"median {median(progress) * 1000:.0f} ms, p90 {percentile(progress, 90) * 1000:.0f}",
            "API polled every 10 ms",
            "",
            "≤ 0.2 s median",
            median(progress) <= 0.2,
        ),
    )
    add(
        "freshness",
        Row(
            f"log line written -> GET /runs/{{id}}/logs?follow delivers it ({len(logs)} lines)",
            f"median {median(logs) * 1000:.0f} ms, p90 {percentile(logs, 90) * 1000:.0f}",
            "file read every 2 ms",
            "",
            "",
        ),
    )
    if not cursor_delays:
        raise RuntimeError("no line of the Wherobots run came through its log cursor")
    add(
        "freshness",
        Row(
            f"Wherobots run prints a line -> its log cursor gives it ({len(cursor_delays)} lines)",
            f"median {median(cursor_delays) * 1000:.0f} ms, "
            f"p90 {percentile(cursor_delays, 90) * 1000:.0f}",
            "cursor polled every 10 ms",
            "",
            "",
        ),
    )


TICKER = """
import sys, time
end = time.time() + float(sys.argv[1])
while time.time() < end:
    print(f"tick {time.time():.6f}", flush=True)
    time.sleep(0.05)
"""


def wherobots_ticker(daemon: Daemon, seconds: float) -> str:
    """A running Wherobots run of a script that prints its clock every 50 ms (the same clock
    as this process's: one machine)."""
    from localrun.files import safe_filename

    script = daemon.data_dir / "objects" / safe_filename("bench") / "bench" / "ticker.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(TICKER)
    http = Http(daemon.url, {"X-API-Key": daemon.token})
    body = {
        "name": "localrun-freshness",
        "runPython": {"uri": "s3://localrun/bench/bench/ticker.py", "args": [str(seconds)]},
    }
    made = http.json("POST", "/runs?region=aws-us-west-2", body)
    deadline = time.monotonic() + 60
    while http.json("GET", f"/runs/{made['id']}")["status"] != "RUNNING":
        if time.monotonic() > deadline:
            raise RuntimeError("the Wherobots run did not start in 60 s")
        time.sleep(0.05)
    return str(made["id"])


# Galaxy Pulsar


def pulsar_ready() -> Path:
    pulsar = PULSAR_VENV / "bin" / "pulsar"
    if not pulsar.exists():
        print(f"  [pulsar] installing {PULSAR_REQ} into {PULSAR_VENV}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(PULSAR_VENV)], check=True)
        subprocess.run(
            [str(PULSAR_VENV / "bin" / "pip"), "install", "-q", PULSAR_REQ],
            check=True,
            timeout=600,
        )
    return pulsar


@contextlib.contextmanager
def pulsar_server() -> Iterator[str]:
    pulsar = pulsar_ready()
    port = free_port()
    with temp_dir("localrun-bench-pulsar-") as root:
        bindir = str(PULSAR_VENV / "bin")
        env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
        config_argv = [bindir + "/pulsar-config", "--directory", str(root), "--host"]
        config_argv += ["127.0.0.1", "--port", str(port)]
        subprocess.run(
            config_argv,
            cwd=root,
            env=env,
            check=True,
            capture_output=True,
        )
        log = (root / "pulsar.log").open("ab")
        proc = subprocess.Popen(
            [str(pulsar)],
            cwd=root,
            env=env,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    Http(url).raw("GET", "/jobs/none/status")
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        tail = (root / "pulsar.log").read_text()[-300:]
                        raise RuntimeError(f"Pulsar did not start: {tail}") from None
                    time.sleep(0.1)
            yield url
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 15)
            end_process(proc, grace_s=5)


class Pulsar:
    def __init__(self, url: str) -> None:
        self.http = Http(url)
        self.count = 0
        self.last = ""

    def job(self, command: str, poll_s: float = 0.005) -> float:
        self.count += 1
        job_id = f"j{os.getpid()}-{threading.get_ident()}-{self.count}"
        began = time.perf_counter()
        self.http.json("POST", f"/jobs?job_id={job_id}")
        query = urlencode({"command_line": command})
        status, raw = self.http.raw("POST", f"/jobs/{job_id}/submit?{query}")
        if status != 200:
            raise RuntimeError(f"Pulsar submit: {status} {raw[:200]!r}")
        while True:
            body = self.http.json("GET", f"/jobs/{job_id}/status")
            if body.get("complete") == "true":
                took = time.perf_counter() - began
                if body.get("returncode") != 0:
                    raise RuntimeError(f"Pulsar job failed: {body.get('stderr')!r}")
                self.last = job_id
                return took
            time.sleep(poll_s)


class Localrun:
    """Rescale's job API: create a user_included job with the command, submit, poll status."""

    def __init__(self, url: str, token: str) -> None:
        self.http = Http(url, {"Authorization": f"Token {token}"})
        self.last = ""

    def job(self, command: str, cores: int = 1, poll_s: float = 0.005) -> float:
        spec = rescale_job(command, cores)
        began = time.perf_counter()
        job_id = self.http.json("POST", "/api/v2/jobs/", spec)["id"]
        self.http.json("POST", f"/api/v2/jobs/{job_id}/submit/", {})
        while True:
            found = self.http.json("GET", f"/api/v2/jobs/{job_id}/statuses/")["results"]
            if found and found[0]["status"] in {"Completed", "Failed", "Stopped"}:
                took = time.perf_counter() - began
                if found[0]["status"] != "Completed":
                    raise RuntimeError(f"localrun job {job_id}: {found[0]}")
                self.last = job_id
                return took
            time.sleep(poll_s)


def urlencode(query: dict[str, str]) -> str:
    import urllib.parse

    return urllib.parse.urlencode(query)


THROUGHPUT_POLL_S = 0.02  # each of the 8 clients polls its job's status every 20 ms


def throughput(make: Callable[[], Any], jobs: int, parallel: int) -> float:
    """Jobs per second: `jobs` submit->complete cycles, `parallel` at a time, a client each."""
    local = threading.local()

    def one(_: int) -> float:
        if not hasattr(local, "client"):
            local.client = make()
        took: float = local.client.job("true", poll_s=THROUGHPUT_POLL_S)
        return took

    began = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(one, range(jobs)))
    return jobs / (time.perf_counter() - began)


def pulsar_row(args: argparse.Namespace) -> None:
    import status_throughput as st

    try:
        server = pulsar_server()
        url = server.__enter__()
    except Exception as exc:
        failed("pulsar", f"Galaxy Pulsar 0.16 could not be set up here: {exc}")
        return
    try:
        with Daemon(cores=8, poll_interval_s=1.0) as daemon:
            daemon.start()
            ours, theirs = Localrun(daemon.url, daemon.token), Pulsar(url)
            for label, command, cores in (
                ("submit->complete of `true`", "true", 1),
                ("submit->complete of `mpiexec -n 2` mpi4py barrier", MPI_JOB, 2),
            ):
                a: list[float] = []
                b: list[float] = []
                ours.job(command, cores), theirs.job(command)  # warm-up
                for _ in range(args.rounds):
                    a.append(ours.job(command, cores))
                    b.append(theirs.job(command))
                add(
                    "pulsar",
                    Row(
                        f"{label}, median of {args.rounds} alternating",
                        f"{median(a) * 1000:.0f} ms",
                        f"Pulsar {median(b) * 1000:.0f} ms",
                        f"{median(a) / median(b):.2f}× the time",
                        "≤ Pulsar's",
                        median(a) <= median(b),
                    ),
                )
            n = args.jobs
            rounds = max(1, args.rounds)
            spent = {"ours": 0.0, "theirs": 0.0}
            for index in range(rounds):  # alternating: the machine's load moves
                share = n // rounds + (1 if index < n % rounds else 0)
                for side, make in (
                    ("ours", lambda: Localrun(daemon.url, daemon.token)),
                    ("theirs", lambda: Pulsar(url)),
                ):
                    spent[side] += share / throughput(make, share, 8)
            ours_rate, theirs_rate = n / spent["ours"], n / spent["theirs"]
            add(
                "pulsar",
                Row(
                    f"{n} trivial jobs end to end, 8 at once, polled every 20 ms, "
                    f"in {rounds} alternating rounds",
                    f"{ours_rate:.1f} jobs/s",
                    f"Pulsar {theirs_rate:.1f} jobs/s",
                    f"{ours_rate / theirs_rate:.2f}×",
                    "ahead (> 1×)",
                    ours_rate > theirs_rate,
                ),
            )
            rates = {}
            for side, pid, base, path, headers in (
                (
                    "localrun",
                    daemon.pid,
                    daemon.url,
                    f"/api/v2/jobs/{ours.last}/statuses/",
                    {"Authorization": f"Token {daemon.token}"},
                ),
                ("pulsar", None, url, f"/jobs/{theirs.last}/status", {}),
            ):
                spec = {
                    "base": base,
                    "paths": [path],
                    "token": "",
                    "headers": headers or {"X-None": "1"},
                    "concurrency": args.concurrency,
                    "duration": args.duration,
                    "warmup": 1.0,
                }
                result = st.measure(
                    side, pid or os.getpid(), spec, daemon.root / "load.json", args.duration + 60
                )
                if result["errors"]:
                    raise RuntimeError(f"{side} status polls: {result['errors']} errors")
                rates[side] = result["requests"] / result["elapsed_s"]
            add(
                "pulsar",
                Row(
                    f"status polls of a finished job, {args.concurrency} conns (Rescale statuses)",
                    f"{rates['localrun']:,.0f} req/s",
                    f"Pulsar {rates['pulsar']:,.0f} req/s",
                    f"{rates['localrun'] / rates['pulsar']:.2f}×",
                    "ahead (> 1×)",
                    rates["localrun"] > rates["pulsar"],
                ),
            )
    finally:
        server.__exit__(None, None, None)


# the table

ORDER = ["status", "launch", "upload", "tail", "watch", "freshness", "pulsar"]


def print_table() -> None:
    print("\nissue 18: localrun beside its ceilings and peers, measured in this run")
    print(f"{psutil.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f}")
    cols = ["figure", "localrun", "ceiling / peer (same run)", "ratio", "target", "met"]
    table = [
        [r.figure, r.value, r.peer, r.ratio, r.target, {True: "yes", False: "NO", None: ""}[r.met]]
        for _, r in ROWS
    ]
    widths = [max([len(c)] + [len(t[i]) for t in table]) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
    for t in table:
        print("  ".join(c.ljust(w) for c, w in zip(t, widths, strict=True)))
    print("\nre-run one row: python -m benchmarks ROW   (ROW: " + ", ".join(ORDER) + ")")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("rows", nargs="*", help="rows to run: " + ", ".join(ORDER))
    parser.add_argument("--full", action="store_true", help="2 GiB upload, 100,000 runs too")
    parser.add_argument("--runs", type=int, nargs="+", help="runs stored for status (10000)")
    parser.add_argument("--upload-mib", type=int, help="upload size (256; 2048 with --full)")
    parser.add_argument("--duration", type=float, default=4.5, help="load seconds per side")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--alternate", type=int, default=3, help="status: windows per side")
    parser.add_argument("--repeat", type=int, default=5, help="launches per side")
    parser.add_argument("--rounds", type=int, default=3, help="Pulsar latency rounds")
    parser.add_argument("--jobs", type=int, default=200, help="jobs in the throughput row")
    parser.add_argument("--window", type=float, default=8.0, help="CPU / freshness window, s")
    args = parser.parse_args()
    unknown = set(args.rows) - set(ORDER)
    if unknown:
        parser.error(f"no row {sorted(unknown)[0]!r}; rows are {', '.join(ORDER)}")
    args.upload_mib = args.upload_mib or (2048 if args.full else 256)
    args.runs = args.runs or ([10_000, 100_000] if args.full else [10_000])
    chosen = [r for r in ORDER if not args.rows or r in args.rows]
    for name in chosen:
        began = time.perf_counter()
        print(f"[{name}] ...", flush=True)
        try:
            if name == "status":
                for runs in args.runs:
                    status_row(runs, args)
                status_scaling()
            else:
                globals()[f"{name}_row"](args)
        except Exception as exc:
            traceback.print_exc()
            failed(name, f"{type(exc).__name__}: {exc}")
        print(f"[{name}] {time.perf_counter() - began:.0f} s", flush=True)
    print_table()


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "_bare":
        bare_bytes_main(sys.argv[2])
    else:
        run_benchmark(main)
