"""`submit --watch` and `watch`: one line redrawn in place on an 80-column terminal, plain lines
into a file, and Ctrl-C leaving the run running with a word on how to follow it."""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Daemon, running_daemon
from tests.polling import wait_for

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One daemon for the module: each test watches a run of its own, one after the other."""
    # the example case then runs for about 7 s
    with running_daemon(tmp_path_factory.mktemp("watch"), {"LOCALRUN_SIM_SPEED": "4"}) as d:
        yield d


def example(daemon: Daemon, tmp_path: Path) -> Path:
    case = tmp_path / "case"
    assert daemon.localrun("example", str(case)).returncode == 0
    return case


def run_in_pty(daemon: Daemon, *args: str, columns: int = 80) -> tuple[int, str]:
    """The CLI with stdout and stderr on a terminal `columns` wide; its exit code and output."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {k: v for k, v in daemon.env.items() if k not in {"COLUMNS", "LINES", "NO_COLOR"}}
    env["TERM"] = "xterm-256color"
    proc = subprocess.Popen(
        [sys.executable, "-m", "localrun", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            proc.kill()
            raise AssertionError("no output for 120 s")
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def test_watch_on_an_80_column_terminal_redraws_one_line(daemon: Daemon, tmp_path: Path) -> None:
    code, output = run_in_pty(daemon, "submit", str(example(daemon, tmp_path)), "--watch")
    assert code == 0, output
    text = ANSI.sub("", output).replace("\r\n", "\n")
    lines = text.split("\n")
    # a header, the one progress line (its frames separated by carriage returns), the ending
    progress = [line for line in lines if "%" in line]
    assert len(progress) == 1, lines
    frames = [f for f in progress[0].split("\r") if f.strip()]
    assert len(frames) > 3, frames  # redrawn in place, many times
    assert all(len(f) <= 80 for f in frames), [len(f) for f in frames]
    assert "100%" in frames[-1] and "succeeded" in frames[-1]
    assert "left" not in frames[-1]  # an ended run has no time left
    assert lines[-2].strip() == "succeeded" or "succeeded" in text.splitlines()[-1]


def test_watch_into_a_file_writes_plain_lines(daemon: Daemon, tmp_path: Path) -> None:
    out = tmp_path / "watch.txt"
    with out.open("w") as handle:
        done = subprocess.run(
            [sys.executable, "-m", "localrun", "submit", str(example(daemon, tmp_path)), "--watch"],
            stdout=handle,
            stderr=subprocess.PIPE,
            env=daemon.env,
            timeout=300,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert lines[0].startswith("run ") and lines[-1] == "succeeded"
    progress = [line for line in lines if re.match(r"\d\d:\d\d:\d\d \[", line)]
    assert len(progress) >= 3, lines  # queued, running (more than once), succeeded
    assert len(progress) < 15, lines  # every few seconds, not every poll
    assert "left" not in progress[-1]  # an ended run has no time left


def test_ctrl_c_leaves_the_run_going_and_says_how_to_follow_it(
    daemon: Daemon, tmp_path: Path
) -> None:
    case = example(daemon, tmp_path)
    with (case / "namelist.input").open("a") as handle:  # slow: it still runs after the Ctrl-C
        handle.write("\n&localrun_simulator\n speed = 0.2,\n/\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "localrun", "submit", str(case), "--watch"],
        # as from a terminal: a shell's background job (a CI runner's, say) ignores SIGINT,
        # and what it starts inherits that
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=daemon.env,
        text=True,
    )
    assert proc.stdout is not None
    header = proc.stdout.readline()
    run_id = header.split()[1]
    wait_for(lambda: daemon.api("GET", f"/localrun/v1/runs/{run_id}")["state"] == "running")
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert f"localrun watch {run_id}" in stderr and "goes on" in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert daemon.api("GET", f"/localrun/v1/runs/{run_id}")["state"] == "running"
    assert daemon.localrun("stop", run_id).returncode == 0
    followed = daemon.localrun("watch", run_id[:8])
    assert followed.stdout.splitlines()[-1].startswith("cancelled"), followed.stderr
