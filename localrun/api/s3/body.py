"""A request body as S3 takes it, streamed: plain or aws-chunked (with its trailer), checked
against the signed payload hash, Content-MD5 and the x-amz-checksum-* value when they are
sent. A check that fails raises S3Error after the last chunk, before the caller commits
anything (files.save_stream then removes its temporary file)."""

from __future__ import annotations

import base64
import hashlib
import re
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from aiohttp import StreamReader, web

from localrun.api.s3.errors import S3Error

UNSIGNED = "UNSIGNED-PAYLOAD"
CHUNKED_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
SIGNED_HASH = re.compile(r"^[0-9a-f]{64}$")
READ = 1 << 20
SMALL_BODY = 1 << 20  # bodies read whole (CompleteMultipartUpload's XML)


class Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def digest(self) -> bytes: ...


class _Crc32:
    def __init__(self) -> None:
        self.value = 0

    def update(self, data: bytes, /) -> None:
        self.value = zlib.crc32(data, self.value)

    def digest(self) -> bytes:
        return self.value.to_bytes(4, "big")


CHECKSUMS: dict[str, Callable[[], Digest]] = {
    "crc32": _Crc32,
    "sha1": lambda: hashlib.sha1(usedforsecurity=False),
    "sha256": hashlib.sha256,
}


def _incomplete(why: str) -> S3Error:
    return S3Error(400, "IncompleteBody", f"the aws-chunked body is malformed: {why}")


async def _line(stream: StreamReader) -> bytes:
    try:
        line = await stream.readuntil(b"\r\n")
    except ValueError:
        raise _incomplete("a line is too long") from None
    if not line.endswith(b"\r\n"):
        raise _incomplete("it ends early")
    return line[:-2]


async def _plain(stream: StreamReader, trailers: dict[str, str]) -> AsyncIterator[bytes]:
    while chunk := await stream.read(READ):
        yield chunk


async def _aws_chunked(stream: StreamReader, trailers: dict[str, str]) -> AsyncIterator[bytes]:
    while True:
        size_text = (await _line(stream)).split(b";")[0]
        try:
            size = int(size_text, 16)
        except ValueError:
            raise _incomplete(f"{size_text[:20]!r} is not a chunk size") from None
        if size == 0:
            break
        left = size
        while left:
            chunk = await stream.read(min(left, READ))
            if not chunk:
                raise _incomplete("a chunk ends early")
            left -= len(chunk)
            yield chunk
        if await _line(stream) != b"":
            raise _incomplete("a chunk is longer than its size")
    while line := await _line(stream):
        name, _, value = line.decode("latin-1").partition(":")
        trailers[name.strip().lower()] = value.strip()


def _checksum_algorithm(request: web.Request) -> tuple[str, str | None]:
    """(algorithm, the value sent as a header; None when it comes in the trailer), or
    ("", None) when no checksum is sent."""
    trailer = request.headers.get("X-Amz-Trailer", "").strip().lower()
    names = [n.lower() for n in request.headers if n.lower().startswith("x-amz-checksum-")]
    names = [n for n in names if n not in ("x-amz-checksum-type", "x-amz-checksum-algorithm")]
    wanted = trailer or (names[0] if names else "")
    if not wanted:
        return "", None
    algorithm = wanted.removeprefix("x-amz-checksum-")
    if algorithm not in CHECKSUMS:
        raise S3Error(400, "InvalidRequest", f"checksum {algorithm} is not supported here")
    return algorithm, None if trailer else request.headers[wanted]


def chunks(request: web.Request) -> AsyncIterator[bytes]:
    """The body's bytes, decoded and checked as the request's headers say."""
    mode = request.headers.get("x-amz-content-sha256", "")
    if mode == CHUNKED_UNSIGNED_TRAILER:
        framing = _aws_chunked
    elif mode == UNSIGNED or SIGNED_HASH.match(mode):
        framing = _plain
    elif mode.startswith("STREAMING-"):
        raise S3Error(501, "NotImplemented", f"{mode} bodies are not served; use {UNSIGNED}")
    else:
        raise S3Error(400, "InvalidArgument", "x-amz-content-sha256 must be a SHA-256 or mode")
    algorithm, sent = _checksum_algorithm(request)
    md5 = request.headers.get("Content-MD5")
    decoded = request.headers.get("X-Amz-Decoded-Content-Length")
    return _checked(request.content, framing, mode, algorithm, sent, md5, decoded)


async def _checked(
    stream: StreamReader,
    framing: object,
    mode: str,
    algorithm: str,
    sent: str | None,
    md5: str | None,
    decoded: str | None,
) -> AsyncIterator[bytes]:
    trailers: dict[str, str] = {}
    sha = hashlib.sha256() if SIGNED_HASH.match(mode) else None
    checksum: Digest | None = CHECKSUMS[algorithm]() if algorithm else None
    content_md5 = hashlib.md5(usedforsecurity=False) if md5 else None
    size = 0
    assert callable(framing)
    async for chunk in framing(stream, trailers):
        size += len(chunk)
        for digest in (sha, checksum, content_md5):
            if digest is not None:
                digest.update(chunk)
        yield chunk
    if decoded is not None and mode == CHUNKED_UNSIGNED_TRAILER and str(size) != decoded.strip():
        raise S3Error(400, "IncompleteBody", "the body is not X-Amz-Decoded-Content-Length long")
    if sha is not None and sha.hexdigest() != mode:
        raise S3Error(400, "XAmzContentSHA256Mismatch", "the body's SHA-256 is not the one signed")
    if content_md5 is not None and base64.b64encode(content_md5.digest()).decode() != md5:
        raise S3Error(400, "BadDigest", "the Content-MD5 you specified did not match the body")
    if checksum is not None:
        expected = sent if sent is not None else trailers.get(f"x-amz-checksum-{algorithm}")
        if base64.b64encode(checksum.digest()).decode() != expected:
            raise S3Error(
                400, "BadDigest", f"the {algorithm.upper()} you specified did not match the body"
            )


async def small(request: web.Request) -> bytes:
    """A body read whole (at most SMALL_BODY bytes), checked like any other."""
    data = bytearray()
    async for chunk in chunks(request):
        data += chunk
        if len(data) > SMALL_BODY:
            raise S3Error(400, "MaxMessageLengthExceeded", "the request body is too long")
    return bytes(data)
