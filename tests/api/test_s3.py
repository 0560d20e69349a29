"""Real boto3 against the real daemon's S3 endpoint over HTTPS, with credentials from the
Wherobots family's POST /storage/credentials (CLIENTS.md §B4.1)."""

from __future__ import annotations

import base64
import io
import os
import time
import zlib
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.exceptions import ClientError

from localrun import tls
from tests.conftest import Daemon

MiB = 1024 * 1024


@pytest.fixture
def daemon_env(tmp_path: Path) -> dict[str, str]:
    made = tls.init(tmp_path / "tls", ["127.0.0.1", "localhost"])
    return {
        "LOCALRUN_TLS_CERT": str(made.cert),
        "LOCALRUN_TLS_KEY": str(made.key),
        "REQUESTS_CA_BUNDLE": str(made.ca),
    }


def issue(daemon: Daemon, path: str, mode: str = "read_write", token: str = "") -> Any:
    return requests.post(
        f"{daemon.url}/storage/credentials",
        json={"path": path, "access_mode": mode},
        headers={"X-API-Key": token or daemon.token},
        verify=daemon.env["REQUESTS_CA_BUNDLE"],
        timeout=10,
    )


def s3_client(daemon: Daemon, creds: dict[str, str], **config: Any) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=f"{daemon.url}/s3",
        region_name=creds["region"],
        aws_access_key_id=creds["accessKeyId"],
        aws_secret_access_key=creds["secretAccessKey"],
        aws_session_token=creds["sessionToken"],
        verify=daemon.env["REQUESTS_CA_BUNDLE"],
        config=Config(retries={"max_attempts": 1}, **config),
    )


@pytest.fixture
def creds(daemon: Daemon) -> dict[str, str]:
    answer = issue(daemon, "s3://localrun/tester")
    assert answer.status_code == 200, answer.text
    body: dict[str, str] = answer.json()
    return body


@pytest.fixture
def s3(daemon: Daemon, creds: dict[str, str]) -> Any:
    return s3_client(daemon, creds)


def stored(daemon: Daemon, key: str) -> Path:
    return daemon.data_dir / "objects" / "tester" / key


def error_of(call: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_credentials_are_complete_and_expire_in_the_future(
    daemon: Daemon, creds: dict[str, str]
) -> None:
    assert all(creds[k] for k in ("accessKeyId", "secretAccessKey", "sessionToken", "region"))
    assert creds["expiration"].endswith("Z")
    expires = time.mktime(time.strptime(creds["expiration"], "%Y-%m-%dT%H:%M:%SZ"))
    assert expires - time.timezone > time.time() + 3000
    outside = issue(daemon, "s3://localrun/someone-else/x.py")
    assert outside.status_code == 403 and "message" in outside.json()
    assert issue(daemon, "s3://other-bucket/tester").status_code == 403
    assert issue(daemon, "s3://localrun/tester/x", mode="admin").status_code == 422
    assert issue(daemon, "s3://localrun/tester", token="wrong").status_code == 401


def test_put_plain_and_aws_chunked_then_get_head_and_delete(daemon: Daemon, creds: Any) -> None:
    chunked = s3_client(daemon, creds)  # botocore >= 1.36 over HTTPS: aws-chunked + trailer
    seen: list[dict[str, str]] = []

    def record(request: AWSRequest, **_: Any) -> None:
        seen.append(
            {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        )

    chunked.meta.events.register("before-send.s3.PutObject", record)
    chunked.put_object(Bucket="localrun", Key="tester/a/chunked.txt", Body=b"chunked body")
    assert seen[0]["Content-Encoding"] == "aws-chunked"
    assert seen[0]["X-Amz-Content-SHA256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    plain = s3_client(daemon, creds, request_checksum_calculation="when_required")
    plain.put_object(Bucket="localrun", Key="tester/a/plain.txt", Body=b"plain body")
    assert stored(daemon, "a/chunked.txt").read_bytes() == b"chunked body"
    assert stored(daemon, "a/plain.txt").read_bytes() == b"plain body"

    got = plain.get_object(Bucket="localrun", Key="tester/a/chunked.txt")
    assert got["Body"].read() == b"chunked body"
    head = plain.head_object(Bucket="localrun", Key="tester/a/plain.txt")
    assert head["ContentLength"] == len(b"plain body")
    assert head["ETag"] == plain.get_object(Bucket="localrun", Key="tester/a/plain.txt")["ETag"]
    assert error_of(lambda: plain.get_object(Bucket="localrun", Key="tester/nope")) == (
        "NoSuchKey",
        404,
    )
    assert error_of(lambda: plain.head_object(Bucket="localrun", Key="tester/nope"))[1] == 404
    assert error_of(lambda: plain.get_object(Bucket="elsewhere", Key="tester/a")) == (
        "NoSuchBucket",
        404,
    )
    plain.delete_object(Bucket="localrun", Key="tester/a/plain.txt")
    assert not stored(daemon, "a/plain.txt").exists()
    plain.delete_object(Bucket="localrun", Key="tester/a/plain.txt")  # S3: no error


def test_a_checksum_that_does_not_match_stores_nothing(daemon: Daemon, creds: Any) -> None:
    client = s3_client(daemon, creds, request_checksum_calculation="when_required")
    wrong = zlib.crc32(b"something else").to_bytes(4, "big")
    header = base64.b64encode(wrong).decode()
    code = error_of(
        lambda: client.put_object(
            Bucket="localrun", Key="tester/bad.txt", Body=b"the body", ChecksumCRC32=header
        )
    )
    assert code == ("BadDigest", 400)
    assert not stored(daemon, "bad.txt").exists()
    assert list(stored(daemon, "").glob("**/.upload-*")) == []


def test_ranges(s3: Any, daemon: Daemon) -> None:
    data = bytes(range(256)) * 4
    s3.put_object(Bucket="localrun", Key="tester/r.bin", Body=data)

    def get(rng: str) -> Any:
        return s3.get_object(Bucket="localrun", Key="tester/r.bin", Range=rng)

    part = get("bytes=10-19")
    assert part["Body"].read() == data[10:20]
    assert part["ContentRange"] == f"bytes 10-19/{len(data)}"
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert get("bytes=1000-")["Body"].read() == data[1000:]
    assert get("bytes=-5")["Body"].read() == data[-5:]
    assert get("bytes=1020-5000")["Body"].read() == data[1020:]
    assert error_of(lambda: get("bytes=5000-")) == ("InvalidRange", 416)


def test_multipart_upload_file_of_20_mib(s3: Any, daemon: Daemon, tmp_path: Path) -> None:
    local = tmp_path / "big.bin"
    local.write_bytes(os.urandom(20 * MiB))
    calls: list[str] = []
    s3.meta.events.register("before-send.s3.*", lambda request, **_: calls.append(request.method))
    s3.upload_file(str(local), "localrun", "tester/cases/big.bin")
    assert calls.count("PUT") >= 3  # the parts, so it was multipart
    assert stored(daemon, "cases/big.bin").read_bytes() == local.read_bytes()
    assert list((daemon.data_dir / "multipart").iterdir()) == []
    back = tmp_path / "back.bin"
    s3.download_file("localrun", "tester/cases/big.bin", str(back))
    assert back.read_bytes() == local.read_bytes()


def test_an_aborted_multipart_upload_leaves_nothing(s3: Any, daemon: Daemon) -> None:
    started = s3.create_multipart_upload(Bucket="localrun", Key="tester/half.bin")
    upload_id = started["UploadId"]
    s3.upload_part(
        Bucket="localrun", Key="tester/half.bin", UploadId=upload_id, PartNumber=1, Body=b"x" * 100
    )
    assert len(list((daemon.data_dir / "multipart").iterdir())) == 1
    s3.abort_multipart_upload(Bucket="localrun", Key="tester/half.bin", UploadId=upload_id)
    assert list((daemon.data_dir / "multipart").iterdir()) == []
    assert not stored(daemon, "half.bin").exists()
    code = error_of(
        lambda: s3.complete_multipart_upload(
            Bucket="localrun",
            Key="tester/half.bin",
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": "x"}]},
        )
    )
    assert code == ("NoSuchUpload", 404)


def test_list_v2_with_prefix_delimiter_and_pages(s3: Any) -> None:
    keys = [f"tester/l/{name}" for name in ("a.txt", "b/1", "b/2", "c/1", "d.txt", "e f+g.txt")]
    for key in keys:
        s3.put_object(Bucket="localrun", Key=key, Body=b"1")
    flat = s3.list_objects_v2(Bucket="localrun", Prefix="tester/l/")
    assert [o["Key"] for o in flat["Contents"]] == keys
    grouped = s3.list_objects_v2(Bucket="localrun", Prefix="tester/l/", Delimiter="/")
    assert [o["Key"] for o in grouped["Contents"]] == [keys[0], keys[4], keys[5]]
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["tester/l/b/", "tester/l/c/"]
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket="localrun", Prefix="tester/l/", Delimiter="/", PaginationConfig={"PageSize": 2}
    )
    seen = []
    counts = []
    for page in pages:
        counts.append(page["KeyCount"])
        seen += [o["Key"] for o in page.get("Contents", [])]
        seen += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    assert counts == [2, 2, 1]
    assert sorted(seen) == sorted([keys[0], keys[4], keys[5], "tester/l/b/", "tester/l/c/"])
    after = s3.list_objects_v2(Bucket="localrun", Prefix="tester/l/", StartAfter=keys[3])
    assert [o["Key"] for o in after["Contents"]] == keys[4:]
    assert s3.list_objects_v2(Bucket="localrun", Prefix="tester/none/")["KeyCount"] == 0


def test_bad_signatures_and_foreign_keys_are_refused_and_store_nothing(
    daemon: Daemon, creds: dict[str, str], s3: Any
) -> None:
    def put(client: Any, key: str) -> tuple[str, int]:
        return error_of(lambda: client.put_object(Bucket="localrun", Key=key, Body=b"evil"))

    wrong_secret = s3_client(daemon, {**creds, "secretAccessKey": "not-the-secret"})
    assert put(wrong_secret, "tester/w1") == ("SignatureDoesNotMatch", 403)
    unknown = s3_client(daemon, {**creds, "accessKeyId": "ASIANOSUCHKEY0000000"})
    assert put(unknown, "tester/w2") == ("InvalidAccessKeyId", 403)
    wrong_token = s3_client(daemon, {**creds, "sessionToken": "forged"})
    assert put(wrong_token, "tester/w3") == ("InvalidToken", 400)
    assert put(s3, "someone-else/w4") == ("AccessDenied", 403)

    tampered = s3_client(daemon, creds)

    def tamper(request: AWSRequest, **_: Any) -> None:
        request.url = request.url.replace("tester/w5", "tester/w6")

    tampered.meta.events.register("before-send.s3.PutObject", tamper)
    assert put(tampered, "tester/w5") == ("SignatureDoesNotMatch", 403)

    scoped = issue(daemon, "s3://localrun/tester/only/here.py").json()
    narrow = s3_client(daemon, scoped)
    narrow.put_object(Bucket="localrun", Key="tester/only/here.py", Body=b"ok")
    assert put(narrow, "tester/only/there.py") == ("AccessDenied", 403)
    code = error_of(lambda: narrow.list_objects_v2(Bucket="localrun", Prefix="tester/"))
    assert code == ("AccessDenied", 403)

    reader = s3_client(daemon, issue(daemon, "s3://localrun/tester", mode="read").json())
    assert put(reader, "tester/w7") == ("AccessDenied", 403)
    assert reader.get_object(Bucket="localrun", Key="tester/only/here.py")["Body"].read() == b"ok"
    code = error_of(lambda: reader.delete_object(Bucket="localrun", Key="tester/only/here.py"))
    assert code == ("AccessDenied", 403)

    names = sorted(p.name for p in stored(daemon, "").iterdir())
    assert names == ["only"]
    raw = requests.put(
        f"{daemon.url}/s3/localrun/tester/w8",
        data=b"x",
        verify=daemon.env["REQUESTS_CA_BUNDLE"],
        timeout=10,
    )
    assert raw.status_code == 403 and raw.headers["Content-Type"].startswith("application/xml")
    assert b"<Code>AccessDenied</Code>" in raw.content
    assert sorted(p.name for p in stored(daemon, "").iterdir()) == ["only"]
    long_key = "tester/" + "q" * 256  # a name the file system cannot hold
    assert put(s3, long_key) == ("KeyTooLongError", 400)
    code = error_of(lambda: s3.delete_object(Bucket="localrun", Key=long_key))
    assert code == ("KeyTooLongError", 400)
    code = error_of(lambda: s3.create_multipart_upload(Bucket="localrun", Key=long_key))
    assert code == ("KeyTooLongError", 400)
    code = error_of(lambda: s3.list_objects_v2(Bucket="localrun", Prefix=long_key + "/"))
    assert code == ("KeyTooLongError", 400)


def test_a_body_stream_in_memory_is_fine(s3: Any, daemon: Daemon) -> None:
    s3.upload_fileobj(io.BytesIO(b"from memory"), "localrun", "tester/mem.txt")
    assert stored(daemon, "mem.txt").read_bytes() == b"from memory"
