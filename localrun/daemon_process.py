"""The daemon's own process, started from outside it (`localrun serve --detach`, the test
double's LocalrunServer): `python -m localrun ...` in a session of its own, its output to a log,
and a wait until it is ready or has died. The runs' processes are the executor's business."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


class NotReady(RuntimeError):
    """The daemon exited at start-up (exited is True), or was not ready in time."""

    def __init__(self, message: str, exited: bool) -> None:
        super().__init__(message)
        self.exited = exited


def spawn(
    argv: Sequence[str], log_file: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`python -m localrun ARGV` in its own session (a Ctrl-C or the end of the caller's
    session does not reach it), stdin from /dev/null, stdout and stderr appended to log_file:
    what it says before its logging starts goes there too."""
    with open(os.devnull, "rb") as null_in, open(log_file, "ab") as log_out:
        return subprocess.Popen(
            [sys.executable, "-m", "localrun", *argv],
            env=None if env is None else dict(env),
            stdin=null_in,
            stdout=log_out,
            stderr=log_out,
            start_new_session=True,
        )


def wait_ready(
    proc: subprocess.Popen[bytes], ready: Callable[[], bool], timeout: float, pause: float = 0.05
) -> None:
    """Until ready() is true while the process lives; NotReady when it exits or time is up."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise NotReady(f"exited with status {proc.returncode}", exited=True)
        if ready():
            return
        if time.monotonic() > deadline:
            raise NotReady(f"not ready within {timeout:g} s", exited=False)
        time.sleep(pause)


def terminate(proc: subprocess.Popen[bytes], grace_s: float = 15) -> None:
    """SIGTERM, then SIGKILL after grace_s; returns once it has exited."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace_s)
