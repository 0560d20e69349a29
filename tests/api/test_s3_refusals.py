"""A refused request with a large body still gets S3's XML error (the daemon answers before
the client has sent the body, or drains it), and stores nothing."""

from __future__ import annotations

import os
from typing import Any

from tests.api.test_s3 import MiB, creds, daemon_env, error_of, s3, s3_client, stored
from tests.conftest import Daemon

__all__ = ["creds", "daemon_env", "s3"]


def test_a_large_body_with_a_wrong_signature_is_refused_in_xml(
    daemon: Daemon, creds: dict[str, str], s3: Any
) -> None:
    wrong = s3_client(daemon, {**creds, "secretAccessKey": "not-the-secret"})
    body = os.urandom(6 * MiB)
    code = error_of(lambda: wrong.put_object(Bucket="localrun", Key="tester/big", Body=body))
    assert code == ("SignatureDoesNotMatch", 403)
    code = error_of(lambda: s3.put_object(Bucket="localrun", Key="bob/big", Body=body))
    assert code == ("AccessDenied", 403)
    assert not stored(daemon, "big").exists()
    s3.put_object(Bucket="localrun", Key="tester/after", Body=b"still serving")
    assert stored(daemon, "after").read_bytes() == b"still serving"
