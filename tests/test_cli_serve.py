"""`localrun serve` as an operator meets it: flags, refusals, logs for journald, --detach."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from localrun.cli import build_parser, main
from localrun.cli.logsetup import JournalFormatter, setup
from tests.conftest import Daemon, free_port
from tests.polling import wait_for


def test_allow_remote_is_a_flag_without_a_value() -> None:
    parser = build_parser()
    assert parser.parse_args(["serve", "--allow-remote"]).allow_remote == "true"
    assert parser.parse_args(["serve", "--allow-remote", "false"]).allow_remote == "false"
    assert parser.parse_args(["serve"]).allow_remote is None


def test_a_missing_mpirun_is_refused_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCALRUN_CONFIG", "")
    argv = ["serve", "--data-dir", str(tmp_path), "--mpirun", "/nope/mpiexec"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    expected = "localrun: mpirun /nope/mpiexec is not found: give --mpirun PATH (mpiexec)"
    assert err.strip() == expected


def test_journal_lines_carry_priorities() -> None:
    formatter = JournalFormatter("%(name)s: %(message)s")

    def line(level: int) -> str:
        return formatter.format(logging.LogRecord("localrun", level, "", 0, "m", None, None))

    assert line(logging.ERROR) == "<3>localrun: m"
    assert line(logging.WARNING) == "<4>localrun: m"
    assert line(logging.INFO) == "<6>localrun: m"
    assert line(logging.DEBUG) == "<7>localrun: m"


def test_debug_is_localruns_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    own_level = logging.getLogger("localrun").level
    try:
        setup("debug")
        assert logging.getLogger("localrun.supervisor").isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("aiosqlite").isEnabledFor(logging.DEBUG)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.getLogger("localrun").setLevel(own_level)


@pytest.mark.daemon_not_started
def test_under_journald_a_warning_and_shutdown_line(daemon: Daemon, tmp_path: Path) -> None:
    env = {**daemon.env, "JOURNAL_STREAM": "8:1234", "LOCALRUN_CORES": "64"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "localrun", "serve", "--port", str(free_port())],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    first = proc.stderr.readline()
    assert first.startswith("<4>localrun: cores 64 is more than this machine's")
    wait_for(lambda: "listening on" in proc.stderr.readline(), timeout=30, interval=0)  # type: ignore[union-attr]
    proc.send_signal(signal.SIGTERM)
    rest = proc.stderr.read()
    proc.wait(timeout=30)
    assert "<6>localrun: localrun stopping; runs still alive go on" in rest
    assert rest.strip().splitlines()[-1] == "<6>localrun: localrun stopped"


@pytest.mark.daemon_not_started
def test_detach_with_a_log_file(daemon: Daemon, tmp_path: Path) -> None:
    log_file = tmp_path / "serve.log"
    port = str(free_port())
    done = daemon.localrun("serve", "--detach", "--port", port, "--log-file", str(log_file))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"localrun serving at http://127.0.0.1:{port} (pid ")
    pid = int(done.stdout.split("(pid ")[1].split(")")[0])
    try:
        daemon.port = int(port)
        daemon.env["LOCALRUN_URL"] = daemon.url
        assert daemon.localrun("list").returncode == 0
        assert "listening on" in log_file.read_text()
    finally:
        os.kill(pid, signal.SIGTERM)
    wait_for(lambda: "localrun stopped" in log_file.read_text(), timeout=30)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = str(busy.getsockname()[1])
        again = daemon.localrun("serve", "--detach", "--port", taken, "--log-file", str(log_file))
    assert again.returncode == 1, again.stdout
    assert "exited at start-up" in again.stderr and "address already in use" in again.stderr


def test_a_missing_localrun_config_file_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCALRUN_CONFIG", str(tmp_path / "nope.toml"))
    assert main(["serve", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert (
        err.strip() == f"localrun: bad setting: config file {tmp_path / 'nope.toml'} does not exist"
    )
