"""Where a launch's time goes: a timeline of the daemon's start path, and optionally cProfile.

Starts the daemon as launch_overhead does, but through this file (`_serve`), which wraps the
functions on the start path so that each entry and exit is stamped with time.perf_counter (the
same CLOCK_MONOTONIC in every process). Each launch's clock starts at the POST of
`/localrun/v1/runs/{id}/start`, as in launch_overhead.py; the stamps of the daemon are shown
relative to it, median over the launches, in time order, with when the ranks were alive.
--cprofile FILE also writes cProfile's statistics of the daemon's whole life to FILE (and prints
the top of them).

python benchmarks/profile_launch.py [--repeat 10] [--cores 2] [--cprofile FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import inspect
import os
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import psutil
from _harness import Daemon, median, run_benchmark
from launch_overhead import TERMINAL, wait_ranks

from localrun.client import Client

TRACE_ENV = "LOCALRUN_BENCH_TRACE"
CPROFILE_ENV = "LOCALRUN_BENCH_CPROFILE"

# (module, attribute path) of what is stamped in the daemon; missing ones are skipped
TRACED = (
    ("localrun.service.runs", "Runs._start"),
    ("localrun.service.runs", "Runs._check_launchable"),
    ("localrun.store", "Store.transition"),
    ("localrun.store", "Store.get_run"),
    ("localrun.supervisor", "Supervisor.kick"),
    ("localrun.supervisor", "Supervisor.tick"),
    ("localrun.supervisor", "Supervisor._schedule"),
    ("localrun.supervisor", "Supervisor._launch"),
    ("localrun.supervisor", "Supervisor._write_record"),
    ("localrun.supervisor", "Supervisor._watch_run"),
    ("localrun.executor.prepare", "launch_request"),
    ("localrun.executor.prepare", "stage_inputs"),
    ("localrun.executor.local.processes", "LocalExecutor.spawn"),
    ("localrun.executor.local.processes", "LocalExecutor._spawn"),
    ("localrun.executor.local.processes", "LocalExecutor.poll"),
    ("localrun.executor.local.processes", "LocalExecutor.sample"),
    ("subprocess", "Popen.__init__"),
)


# in the daemon


def _stamp(out: Any, name: str, what: str) -> None:
    out.write(f"{time.perf_counter():.6f} {what} {name}\n")


def _wrap(out: Any, name: str, fn: Any) -> Any:
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def traced_async(*args: Any, **kwargs: Any) -> Any:
            _stamp(out, name, ">")
            try:
                return await fn(*args, **kwargs)
            finally:
                _stamp(out, name, "<")

        return traced_async

    @functools.wraps(fn)
    def traced(*args: Any, **kwargs: Any) -> Any:
        _stamp(out, name, ">")
        try:
            return fn(*args, **kwargs)
        finally:
            _stamp(out, name, "<")

    return traced


def serve(argv: list[str]) -> int:
    import importlib

    out = open(os.environ[TRACE_ENV], "a", buffering=1)  # noqa: SIM115 - open for the process
    for module_name, path in TRACED:
        try:
            owner: Any = importlib.import_module(module_name)
            *parents, attr = path.split(".")
            for part in parents:
                owner = getattr(owner, part)
            original = getattr(owner, attr)
        except (ImportError, AttributeError):
            continue
        setattr(owner, attr, _wrap(out, path, original))
        if module_name == "localrun.executor.prepare" and attr == "launch_request":
            import localrun.app

            localrun.app.launch_request = getattr(owner, attr)  # type: ignore[attr-defined]
    from localrun.cli import main

    profile_to = os.environ.get(CPROFILE_ENV)
    if not profile_to:
        return int(main(argv) or 0)
    import cProfile

    profile = cProfile.Profile()
    profile.enable()
    try:
        return int(main(argv) or 0)
    finally:
        profile.disable()
        profile.dump_stats(profile_to)


# in the benchmark


class TracedDaemon(Daemon):
    def __init__(self, trace: Path, cprofile: str | None, **settings: Any) -> None:
        super().__init__(**settings)
        self.env[TRACE_ENV] = str(trace)
        if cprofile:
            self.env[CPROFILE_ENV] = cprofile

    def command(self) -> list[str]:
        here = str(Path(__file__).resolve())
        return [sys.executable, here, "_serve", "serve", "--port", str(self.port)]


def one_launch(daemon: Daemon, client: Client, cores: int, index: int) -> tuple[float, float]:
    """(t0, ranks alive) in perf_counter seconds."""
    run = client.create_run(name=f"profile-{index}", cores=cores)
    run = client.upload(
        run["id"], sorted(Path(__file__).parents[1].joinpath("localrun", "example_case").iterdir())
    )["run"]
    work = daemon.work_dir(run["id"]).resolve()
    before = set(psutil.pids())
    t0 = time.perf_counter()
    started = daemon.api("POST", f"/localrun/v1/runs/{run['id']}/start", {"cores": cores})
    try:
        alive = wait_ranks(str(work), cores, before, t0, 30.0)
    finally:
        client.stop(started["id"])
        daemon.wait_state(started["id"], TERMINAL, 30.0)
    return t0, t0 + alive


def timeline(trace: Path, windows: list[tuple[float, float]]) -> None:
    stamps: list[tuple[float, str, str]] = []
    for line in trace.read_text().splitlines():
        clock, what, name = line.split(" ", 2)
        stamps.append((float(clock), what, name))
    offsets: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    for t0, alive in windows:
        seen: dict[tuple[str, str], int] = defaultdict(int)
        for at, what, name in stamps:
            if t0 <= at <= alive + 0.05:
                key = (name, what)
                offsets[(name, what, seen[key])].append((at - t0) * 1000)
                seen[key] += 1
    alive_ms = [(a - t) * 1000 for t, a in windows]
    rows = [(median(v), len(v), k) for k, v in offsets.items() if len(v) * 2 >= len(windows)]
    rows.append((median(alive_ms), len(windows), ("RANKS ALIVE (benchmark)", "*", 0)))
    print(f"\nthe start path, ms from the POST (median of {len(windows)}; #n = nth call):")
    for ms, count, (name, what, nth) in sorted(rows):
        print(f"  {ms:8.2f}  {what} {name}{f' #{nth + 1}' if nth else ''}  ({count})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--sandbox", default=None, help="the daemon's sandbox setting")
    parser.add_argument("--cprofile", help="write the daemon's cProfile statistics here")
    args = parser.parse_args()
    settings: dict[str, Any] = {"cores": args.cores, "poll_interval_s": 1.0, "stop_grace_s": 3}
    if args.sandbox:
        settings["sandbox"] = args.sandbox
    cprofile = str(Path(args.cprofile).resolve()) if args.cprofile else None
    windows: list[tuple[float, float]] = []
    with contextlib.ExitStack() as stack:
        trace = Path(tempfile.gettempdir()) / f"localrun-launch-trace-{os.getpid()}.txt"
        stack.callback(trace.unlink, missing_ok=True)
        daemon = stack.enter_context(TracedDaemon(trace, cprofile, **settings))
        daemon.start()
        client = Client(daemon.url, daemon.token, timeout=60)
        for i in range(args.repeat):
            windows.append(one_launch(daemon, client, args.cores, i))
            print(f"  launch {i + 1}: {(windows[-1][1] - windows[-1][0]) * 1000:.1f} ms")
        daemon.close()  # SIGTERM: the daemon writes its profile as it ends
        timeline(trace, windows)
    if cprofile:
        stats = pstats.Stats(cprofile)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        sys.exit(serve(sys.argv[2:]))
    run_benchmark(main)
