"""serve --demo: the demo run belongs to the first token's owner, so its CLI lists it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Daemon
from tests.polling import wait_for


@pytest.mark.daemon_not_started
def test_the_first_tokens_cli_sees_the_demo_run(daemon: Daemon, tmp_path: Path) -> None:
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "localrun", "serve", "--demo", "--port", str(daemon.port)],
            env=daemon.env,
            stdout=out,
            stderr=out,
        )
    try:
        daemon.env["LOCALRUN_URL"] = daemon.url
        wait_for(lambda: "ended" in log.read_text(), 120, 0.5)
        assert "of tester submitted" in log.read_text()
        listed = daemon.localrun("list")
        assert listed.returncode == 0, listed.stderr
        assert "example" in listed.stdout and "succeeded" in listed.stdout
        assert "localrun status" in log.read_text()
    finally:
        proc.terminate()
        proc.wait(10)
