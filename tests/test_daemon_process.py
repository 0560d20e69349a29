from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from localrun import __version__, daemon_process


def test_a_daemon_that_exits_at_start_up_is_told_apart_and_its_output_is_in_the_log(
    tmp_path: Path,
) -> None:
    log = tmp_path / "daemon.log"
    proc = daemon_process.spawn(["--version"], log)
    with pytest.raises(daemon_process.NotReady) as raised:
        daemon_process.wait_ready(proc, lambda: False, timeout=60)
    assert raised.value.exited
    assert __version__ in log.read_text()
    assert proc.returncode == 0


def test_one_not_ready_in_time_is_not_exited_and_terminate_ends_it(tmp_path: Path) -> None:
    proc = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        with pytest.raises(daemon_process.NotReady) as raised:
            daemon_process.wait_ready(proc, lambda: False, timeout=0.2)
        assert not raised.value.exited
        daemon_process.wait_ready(proc, lambda: True, timeout=0.2)
    finally:
        daemon_process.terminate(proc, grace_s=10)
    assert proc.returncode == -signal.SIGTERM
    daemon_process.terminate(proc)  # an ended one: nothing to do
