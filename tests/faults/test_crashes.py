"""Issue 11: the daemon killed with -9 at seeded random moments over a mix of queued, running,
stopping, uploading and shell runs. Afterwards every run has exactly one terminal event and the
outcome it would have had without the crashes; no process, no part file is left; the database
is intact. LOCALRUN_CRASH_ROUNDS makes it longer (scripts/soak)."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import requests

from localrun.client import Client
from tests.conftest import Daemon
from tests.e2e.test_lifecycle import long_case
from tests.faults.test_restarts import shell_run
from tests.polling import wait_for

TERMINAL = {"succeeded", "failed", "cancelled", "timed_out", "lost"}
ROUNDS = int(os.environ.get("LOCALRUN_CRASH_ROUNDS", "3"))
SEED = int(os.environ.get("LOCALRUN_CRASH_SEED", "20261202"))


@dataclass
class Expected:
    run_id: str
    state: str
    exit_code: int | None = None
    marker: str | None = None  # a word in its processes' command lines


def slow_upload(daemon: Daemon, run_id: str, stop: threading.Event) -> None:
    """An upload that is still streaming when the daemon is killed."""

    def body() -> Iterator[bytes]:
        for _ in range(200):
            if stop.is_set():
                return
            yield b"x" * 65536
            time.sleep(0.02)

    headers = {
        "Authorization": f"Bearer {daemon.token}",
        "Content-Type": "multipart/form-data; boundary=b",
    }
    parts = [b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n']

    def stream() -> Iterator[bytes]:
        yield from parts
        yield from body()
        yield b"\r\n--b--\r\n"

    try:
        url = f"{daemon.url}/localrun/v1/runs/{run_id}/inputs"
        requests.post(url, data=stream(), headers=headers, timeout=30)
    except requests.RequestException:
        pass  # the daemon died under it, as intended


def submit_mix(daemon: Daemon, tmp: Path, rng: random.Random, k: int) -> list[Expected]:
    client = Client(daemon.url, daemon.token)
    made: list[Expected] = []
    for _ in range(2):  # two WRF runs: with 2 cores, the second waits queued
        run = client.create_run(name=f"wrf-{k}")
        client.upload(run["id"], long_case(tmp, rng.choice([6, 8, 10])))
        client.start(run["id"], 2)
        made.append(Expected(run["id"], "succeeded"))
    code = rng.choice([0, 3])
    marker = f"{k + 1}.{rng.randint(100, 999)}"
    made.append(
        Expected(
            shell_run(daemon, f"sleep 1.{marker[-3:]}; exit {code}"),
            "succeeded" if code == 0 else "failed",
            code,
        )
    )
    stubborn = shell_run(daemon, f"trap '' TERM; sleep 40{marker} & wait; sleep 40{marker}")
    made.append(Expected(stubborn, "cancelled", marker=f"40{marker}"))
    return made


def state(daemon: Daemon, run_id: str) -> dict[str, Any]:
    found: dict[str, Any] = daemon.api("GET", f"/localrun/v1/runs/{run_id}?events=1")
    return found


def test_kill_9_at_random_moments_changes_no_outcome(daemon: Daemon, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    expected: list[Expected] = []
    for k in range(ROUNDS):
        mix = submit_mix(daemon, tmp_path, rng, k)
        expected += mix
        stopping = mix[-1]
        wait_for(lambda s=stopping: state(daemon, s.run_id)["state"] == "running", 30)  # type: ignore[misc]
        daemon.api("POST", f"/localrun/v1/runs/{stopping.run_id}/stop", {})
        uploading = Client(daemon.url, daemon.token).create_run(name=f"upload-{k}")
        expected.append(Expected(uploading["id"], "created"))
        stop = threading.Event()
        thread = threading.Thread(target=slow_upload, args=(daemon, uploading["id"], stop))
        thread.start()
        time.sleep(rng.uniform(0.3, 2.5))
        daemon.kill(signal.SIGKILL)
        stop.set()
        thread.join(30)
        daemon.start()
    for item in expected:
        if item.state == "created":
            continue

        def ended(item: Expected = item) -> dict[str, Any] | None:
            found = state(daemon, item.run_id)
            return found if found["state"] in TERMINAL else None

        final = wait_for(ended, timeout=240)
        assert final["state"] == item.state, (item, final["error"], final["events"])
        if item.exit_code is not None:
            assert final["exit_code"] == item.exit_code, final
    for item in expected:
        events = state(daemon, item.run_id)["events"]
        terminal = [e for e in events if e["state"] in TERMINAL]
        assert len(terminal) == (0 if item.state == "created" else 1), (item, events)
        if item.marker:
            left = [
                p.info["cmdline"]
                for p in psutil.process_iter(["cmdline"])
                if item.marker in " ".join(p.info["cmdline"] or [])
            ]
            assert left == [], (item, left)
    data = daemon.data_dir
    assert list(data.glob("runs/*/input/.upload-*")) == []
    assert list(data.glob("files/*/.upload-*")) == []
    with sqlite3.connect(data / "localrun.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
