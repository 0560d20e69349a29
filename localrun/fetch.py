"""Inputs named by URL: fetched over http(s), or read from file:// below allowed directories."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import urllib.parse
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

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


class RefusedAddress(OSError):
    """The host is, or resolves only to, an address fetches may not reach."""


def refused(address: str) -> bool:
    """Loopback, link-local, private, multicast, reserved and unspecified addresses (IPv4
    mapped into IPv6 included): the daemon itself and the networks behind it."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(
        ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


class PublicResolver(AbstractResolver):
    """Resolves a name once and hands the connector only the public addresses among the
    answers, so what is checked is what is connected to (no second lookup to rebind)."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        public = [r for r in found if not refused(r["host"])]
        if not public:
            shown = ", ".join(sorted({r["host"] for r in found}))
            raise RefusedAddress(
                f"{host} resolves to {shown}, which inputs may not be fetched from"
            )
        return public

    async def close(self) -> None:
        await self._inner.close()


async def _check_literal(session: Any, context: SimpleNamespace, params: Any) -> None:
    """The first request of a fetch: an address given as such is checked here, as the
    connector does not resolve it."""
    _refuse_literal(params.url)


async def _check_redirect(session: Any, context: SimpleNamespace, params: Any) -> None:
    """Where a redirect leads, before it is followed."""
    location = params.response.headers.get("Location") or params.response.headers.get("URI")
    if location:
        _refuse_literal(params.url.join(URL(location)))


def _refuse_literal(url: URL) -> None:
    host = url.raw_host or ""
    try:
        literal = refused(host.strip("[]"))
    except ValueError:
        return  # a name: PublicResolver checks what it resolves to
    if literal:
        raise Invalid(
            f"{url}: {host} is a loopback, link-local or private address, which inputs "
            "may not be fetched from (the fetch_private_addresses setting allows it)",
            code="fetch_failed",
        )


def url_chunks(
    url: str, allowed: Sequence[Path], private_addresses: bool = False
) -> AsyncIterator[bytes]:
    """The bytes behind url, streamed. What can be checked at once (scheme, a file:// path) is
    checked here; an http(s) error surfaces when the stream is read. http(s) reaches only
    public addresses, through every redirect, unless private_addresses."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme == "file":
        return _file_chunks(local_file(parts, allowed))
    if parts.scheme in ("http", "https") and parts.netloc:
        return _http_chunks(url.strip(), private_addresses)
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


def _session(private_addresses: bool) -> aiohttp.ClientSession:
    if private_addresses:
        return aiohttp.ClientSession(timeout=TIMEOUT)
    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(_check_literal)
    trace.on_request_redirect.append(_check_redirect)
    connector = aiohttp.TCPConnector(resolver=PublicResolver())
    return aiohttp.ClientSession(timeout=TIMEOUT, connector=connector, trace_configs=[trace])


async def _http_chunks(url: str, private_addresses: bool) -> AsyncIterator[bytes]:
    try:
        async with _session(private_addresses) as session, session.get(url) as resp:
            if resp.status != 200:
                raise Invalid(
                    f"fetching {url} answered HTTP {resp.status} {resp.reason}",
                    code="fetch_failed",
                )
            async for chunk in resp.content.iter_chunked(CHUNK):
                yield chunk
    except (aiohttp.ClientError, TimeoutError) as exc:
        reason = str(exc) or type(exc).__name__
        cause = getattr(exc, "os_error", None)
        if isinstance(cause, RefusedAddress):
            reason = f"{cause} (the fetch_private_addresses setting allows it)"
        raise Invalid(f"cannot fetch {url}: {reason}", code="fetch_failed") from None
