"""An expired credential is refused by the real daemon's S3 endpoint, as S3 refuses one:
400 ExpiredToken, and nothing stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localrun import tls
from tests.api.test_s3 import error_of, issue, s3_client, stored
from tests.conftest import Daemon
from tests.polling import wait_for


@pytest.fixture
def daemon_env(tmp_path: Path) -> dict[str, str]:
    made = tls.init(tmp_path / "tls", ["127.0.0.1", "localhost"])
    return {
        "LOCALRUN_TLS_CERT": str(made.cert),
        "LOCALRUN_TLS_KEY": str(made.key),
        "REQUESTS_CA_BUNDLE": str(made.ca),
        "LOCALRUN_S3_CREDENTIALS_TTL_S": "1",
    }


def test_an_expired_credential_is_refused(daemon: Daemon) -> None:
    creds = issue(daemon, "s3://localrun/tester").json()
    client = s3_client(daemon, creds)

    def expired() -> Any:
        try:
            client.list_objects_v2(Bucket="localrun", Prefix="tester/")
        except ClientError as exc:
            return exc.response["Error"]["Code"]
        return None

    assert wait_for(expired, timeout=30, interval=0.2) == "ExpiredToken"
    put = error_of(lambda: client.put_object(Bucket="localrun", Key="tester/late", Body=b"x"))
    assert put == ("ExpiredToken", 400)
    assert not stored(daemon, "late").exists()
