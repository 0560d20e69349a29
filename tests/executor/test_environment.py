"""A run sees the system's and MPI's variables from the daemon's environment, never its
secrets: through the local executor for real, and the rule itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from localrun.config import default_mpirun
from localrun.executor import LaunchRequest
from localrun.executor.environment import run_environment
from localrun.executor.local import LocalExecutor
from tests.polling import eventually

SECRETS = {
    "LOCALRUN_TOKEN": "lr_secret",
    "LOCALRUN_METRICS_TOKEN": "metrics-secret",
    "AWS_SECRET_ACCESS_KEY": "aws-secret",
    "GITHUB_TOKEN": "gh-secret",
}


def test_the_rule() -> None:
    daemon = {
        **SECRETS,
        "HOME": "/root",
        "LC_ALL": "C.UTF-8",
        "MPICH_ASYNC_PROGRESS": "1",
        "LOCALRUN_SIM_FAIL_AT": "30",
        "PATH": "/daemon/bin",
    }
    env = run_environment({"PATH": "/run/bin", "LOCALRUN_RUN_ID": "r1"}, daemon)
    assert env == {
        "HOME": "/root",
        "LC_ALL": "C.UTF-8",
        "MPICH_ASYNC_PROGRESS": "1",
        "LOCALRUN_SIM_FAIL_AT": "30",
        "PATH": "/run/bin",
        "LOCALRUN_RUN_ID": "r1",
    }


async def test_a_run_cannot_read_the_daemons_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "logs").mkdir()
    request = LaunchRequest(
        run_id="r1",
        work_dir=str(tmp_path),
        log_dir=str(tmp_path / "logs"),
        cores=1,
        walltime_s=60,
        env={"PATH": "/usr/bin:/bin", "LOCALRUN_RUN_ID": "r1"},
        command="env",
    )
    executor = LocalExecutor(default_mpirun())
    try:
        ref = await executor.spawn(request)
        exited = await eventually(lambda: executor.poll(ref))
        assert exited is not None and exited.exit_code == 0
    finally:
        executor.close()
    seen = (tmp_path / "logs" / "mpirun.stdout").read_text()
    assert "LOCALRUN_RUN_ID=r1" in seen
    for value in SECRETS.values():
        assert value not in seen
