"""What the daemon benchmarks share: a real daemon in a temp data dir, cleanup, statistics.

Not a benchmark itself. Every process a benchmark starts goes through here (or is killed by the
script that started it), and `Daemon.close()` ends the daemon and every process left in its data
directory (runs outlive the daemon by design), also after Ctrl-C or an exception.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import psutil

from localrun.client import Client

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "localrun" / "example_case"
BINDIR = Path(sys.executable).parent
MPIEXEC = str(BINDIR / "mpiexec")
SIMULATOR = str(BINDIR / "localrun-wrf-sim")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run_benchmark(main: Callable[[], None]) -> None:
    """main() where Ctrl-C, SIGTERM and SIGHUP unwind (every `finally` cleans up) and exit 130."""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with it ignored
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    try:
        main()
    except KeyboardInterrupt:
        print("\ninterrupted; every process it started is stopped", file=sys.stderr)
        sys.exit(130)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (OSError, urllib.error.URLError):
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args!r} exited at start-up") from None
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")


def end_process(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """SIGTERM, a grace period, then SIGKILL to the process's session (its own group)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def kill_below(directory: Path) -> int:
    """SIGKILL every process whose working directory is inside directory; returns the count."""
    root = str(directory.resolve())
    killed = 0
    for proc in psutil.process_iter(["cwd"]):
        cwd = proc.info.get("cwd") or ""
        if cwd == root or cwd.startswith(root + os.sep):
            with contextlib.suppress(psutil.Error):
                proc.kill()
                killed += 1
    return killed


def sim_ranks(cwd: str) -> list[psutil.Process]:
    """Live simulator processes (MPI ranks) running in cwd."""
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        cmdline = proc.info.get("cmdline") or []
        if proc.info.get("cwd") == cwd and any(a.endswith("localrun-wrf-sim") for a in cmdline[:2]):
            found.append(proc)
    return found


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


class Daemon:
    """`python -m localrun serve` on a free loopback port, with its own temp data directory."""

    def __init__(self, **settings: Any) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="localrun-bench-"))
        self.data_dir = self.root / "data"
        self.data_dir.mkdir()
        self.port = free_port()
        self.env = {
            **os.environ,
            "LOCALRUN_DATA_DIR": str(self.data_dir),
            "LOCALRUN_CONFIG": "",
            "XDG_CONFIG_HOME": str(self.root / "config"),
            "LOCALRUN_LOG_LEVEL": "warning",
        }
        for name, value in settings.items():
            self.env["LOCALRUN_" + name.upper()] = str(value)
        self.proc: subprocess.Popen[bytes] | None = None
        self.token = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def create_token(self, name: str = "bench") -> str:
        done = subprocess.run(
            [sys.executable, "-m", "localrun", "token", "create", name],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        self.token = done.stdout.strip()
        return self.token

    def start(self) -> None:
        if not self.token:
            self.create_token()
        log = (self.root / "daemon.log").open("ab")
        self.proc = subprocess.Popen(
            self.command(),
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        wait_http(self.url + "/healthz", self.proc)

    def command(self) -> list[str]:
        return [sys.executable, "-m", "localrun", "serve", "--port", str(self.port)]

    def api(self, method: str, path: str, body: Any = None) -> Any:
        return Client(self.url, self.token, timeout=60).call(method, path, body)

    def work_dir(self, run_id: str) -> Path:
        return self.data_dir / "runs" / run_id / "work"

    def wait_state(self, run_id: str, states: set[str], timeout_s: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            run: dict[str, Any] = self.api("GET", f"/localrun/v1/runs/{run_id}")
            if run["state"] in states:
                return run
            if time.monotonic() > deadline:
                raise RuntimeError(f"run {run_id} stayed {run['state']} for {timeout_s:.0f} s")
            time.sleep(0.05)

    def close(self) -> None:
        """End the daemon, then every process left in the data directory, then the files."""
        try:
            if self.proc is not None:
                end_process(self.proc)
        finally:
            kill_below(self.root)
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    """A temp directory removed afterwards, with every process still running inside it."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        kill_below(path)
        shutil.rmtree(path, ignore_errors=True)


def stage_example(work: Path, inputs: Path, run_minutes: int | None = None) -> None:
    """The example case in inputs/, linked into work/ as the daemon does (launch.stage_inputs)."""
    inputs.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    for item in EXAMPLE.iterdir():
        shutil.copy(item, inputs / item.name)
    if run_minutes is not None:
        write_namelist(inputs / "namelist.input", run_minutes)
    for item in sorted(inputs.iterdir()):
        (work / item.name).symlink_to(item.resolve())


def write_namelist(path: Path, run_minutes: int) -> Path:
    """The example namelist with run_minutes and end times moved to run that long."""
    hours, minutes = divmod(run_minutes, 60)
    days, hours = divmod(hours, 24)
    lines = []
    for line in (EXAMPLE / "namelist.input").read_text().splitlines():
        key = line.split("=")[0].strip()
        values = {
            "run_minutes": f"{run_minutes},",
            "end_day": ", ".join([f"{1 + days:02d}"] * 3) + ",",
            "end_hour": ", ".join([f"{hours:02d}"] * 3) + ",",
            "end_minute": ", ".join([f"{minutes:02d}"] * 3) + ",",
        }
        if key in values:
            line = f" {key:<35} = {values[key]}"
        lines.append(line)
    path.write_text("\n".join(lines) + "\n")
    return path


def rescale_job(command: str, cores: int = 1, name: str = "bench") -> dict[str, Any]:
    """A Rescale job body: one user_included analysis running `command` on `cores` cores."""
    return {
        "name": name,
        "jobanalyses": [
            {
                "analysis": {"code": "user_included", "version": "1"},
                "command": command,
                "hardware": {"coreType": "onyx", "coresPerSlot": cores, "cores": cores},
                "inputFiles": [],
            }
        ],
    }
