"""Inputs named by URL: fetched over http(s), or read from file:// below allowed directories."""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import aiohttp

from localrun.errors import Invalid

CHUNK = 1024 * 1024
TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=120)


def allowed_dirs(setting: str) -> list[Path]:
    """The input_url_dirs setting (comma-separated) as resolved directories."""
    return [Path(d.strip()).expanduser().resolve() for d in setting.split(",") if d.strip()]


def file_name(url: str) -> str:
    name = Path(urllib.parse.unquote(urllib.parse.urlsplit(url.strip()).path)).name
    if not name:
        raise Invalid(f"{url!r} names no file; give the file's name in the name field")
    return name


def url_chunks(url: str, allowed: Sequence[Path]) -> AsyncIterator[bytes]:
    """The bytes behind url, streamed. What can be checked at once (scheme, a file:// path) is
    checked here; an http(s) error surfaces when the stream is read."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme == "file":
        return _file_chunks(local_file(parts, allowed))
    if parts.scheme in ("http", "https") and parts.netloc:
        return _http_chunks(url.strip())
    raise Invalid(f"{url!r}: the url must be http://, https:// or file://", code="fetch_failed")


def local_file(parts: urllib.parse.SplitResult, allowed: Sequence[Path]) -> Path:
    if not allowed:
        raise Invalid(
            "file:// URLs are turned off; the input_url_dirs setting names the directories "
            "they may read from",
            code="fetch_failed",
        )
    if parts.netloc not in ("", "localhost"):
        raise Invalid(f"file://{parts.netloc}/...: only local files can be read")
    path = Path(urllib.parse.unquote(parts.path)).resolve()
    if not any(path.is_relative_to(base) for base in allowed):
        raise Invalid(
            f"{path} is outside the directories file:// URLs may read from: "
            + ", ".join(str(base) for base in allowed),
            code="fetch_failed",
        )
    if not path.is_file():
        raise Invalid(f"{path} is not a file that can be read", code="fetch_failed")
    return path


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    handle = await asyncio.to_thread(path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(handle.read, CHUNK):
            yield chunk
    finally:
        handle.close()


async def _http_chunks(url: str) -> AsyncIterator[bytes]:
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session, session.get(url) as resp:
            if resp.status != 200:
                raise Invalid(
                    f"fetching {url} answered HTTP {resp.status} {resp.reason}",
                    code="fetch_failed",
                )
            async for chunk in resp.content.iter_chunked(CHUNK):
                yield chunk
    except (aiohttp.ClientError, TimeoutError) as exc:
        reason = str(exc) or type(exc).__name__
        raise Invalid(f"cannot fetch {url}: {reason}", code="fetch_failed") from None
