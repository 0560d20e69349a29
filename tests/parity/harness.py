"""What the parity tests share: one in-process daemon per module, and the answers it gave."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from localrun.api.keys import SERVICE
from localrun.app import init_app
from localrun.service import Service
from localrun.tls import init as tls_init
from tests.conftest import make_settings
from tests.parity.shape import FIXTURES, compare


@dataclass
class Answers:
    """Each endpoint's answers, as (what was asked, status, decoded body)."""

    seen: dict[str, list[tuple[str, int, Any]]] = field(default_factory=dict)

    async def record(self, endpoint: str, what: str, resp: aiohttp.ClientResponse) -> Any:
        text = await resp.text()
        body = None  # no body at all (a 204) is recorded as null
        if text or resp.status != 204:
            assert resp.content_type == "application/json", f"{what}: {resp.status} {text[:300]}"
            body = await resp.json()
        self.seen.setdefault(endpoint, []).append((what, resp.status, body))
        return body

    def check(self, family: str, endpoint: str) -> None:
        assert endpoint in self.seen, f"the flow never called {endpoint}"
        found = []
        for what, status, body in self.seen[endpoint]:
            found += [f"{what}: {line}" for line in compare(family, endpoint, status, body)]
        assert not found, f"{family}/{endpoint} departs from its fixture:\n" + "\n".join(found)


@contextlib.asynccontextmanager
async def started(
    tmp: Path, tls: bool = False, **overrides: Any
) -> AsyncIterator[tuple[TestClient[Any, Any], Service]]:
    """A daemon of its own (real store, supervisor and simulator) and a client of it, over
    HTTPS with a private CA when tls is set (the Wherobots clients speak nothing else)."""
    app = init_app(make_settings(tmp / "data", **overrides))
    server = TestServer(app, host="127.0.0.1")
    client_kwargs: dict[str, Any] = {}
    served: ssl.SSLContext | None = None
    if tls:
        files = tls_init(tmp / "tls", ["127.0.0.1", "localhost"])
        served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        served.load_cert_chain(files.cert, files.key)
        trusted = ssl.create_default_context(cafile=str(files.ca))
        client_kwargs["connector"] = aiohttp.TCPConnector(ssl=trusted)
    await server.start_server(ssl=served)  # before the client, which would start it plain
    client: TestClient[Any, Any] = TestClient(server, **client_kwargs)
    await client.start_server()
    try:
        yield client, client.app[SERVICE]
    finally:
        await client.close()


MODULE = pytest.mark.asyncio(loop_scope="module")


def endpoints(family: str) -> list[str]:
    """The family's endpoint fixtures (those named _x are shapes they share)."""
    return sorted(p.stem for p in (FIXTURES / family).glob("*.json") if not p.stem.startswith("_"))
