"""The real SDK's auto-upload end to end: WherobotsJob(script=<local path>) fetches
credentials from POST /storage/credentials and puts the script with boto3 to the daemon's S3
endpoint (AWS_ENDPOINT_URL_S3), then runs it from the store (CLIENTS.md §B4.1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.test_wherobots_flow import daemon_env, sdk
from tests.conftest import Daemon

__all__ = ["daemon_env", "sdk"]  # the fixtures, shared with the flow test

SCRIPT = """
import sys
for k in range(5):
    print(f"uploaded line {k} {' '.join(sys.argv[1:])}", flush=True)
"""


@pytest.fixture
def boto_env(sdk: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Daemon:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"{sdk.url}/s3")
    monkeypatch.setenv("AWS_CA_BUNDLE", sdk.env["REQUESTS_CA_BUNDLE"])  # botocore's own
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "absent-aws-credentials"))
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return sdk


def test_a_local_script_is_uploaded_and_runs(boto_env: Daemon, tmp_path: Path) -> None:
    from wherobots import JobStatus, WherobotsJob

    local = tmp_path / "auto_case.py"
    local.write_text(SCRIPT)
    job = WherobotsJob(script=str(local), name="localrun-upload-01", args=["x"])
    job.submit()
    stored = boto_env.data_dir / "objects" / "tester" / "scripts" / "auto_case.py"
    assert stored.read_text() == SCRIPT
    status = job.wait_for_completion(poll_interval=0.3, log_interval=0.3)
    assert status == JobStatus.COMPLETED
    lines = [item["raw"] for item in job.iter_logs(size=50)]
    assert lines == [f"uploaded line {k} x" for k in range(5)]
    payload = boto_env.api("GET", f"/localrun/v1/runs/{job.run_id}")
    assert payload["state"] == "succeeded"
