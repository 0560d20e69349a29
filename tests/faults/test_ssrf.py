"""Issue 11 item 5: upload by URL reaches neither the daemon nor the networks behind it."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from localrun.service import Service


async def test_cloudrun_cannot_fetch_the_daemon_itself(
    client: TestClient[Any, Any], auth: dict[str, str], service: Service
) -> None:
    created = await client.post("/v1/runs", data={"model": "wrf"}, headers=auth)
    run = (await created.json())["id"]
    own = f"http://127.0.0.1:{client.server.port}/localrun/v1/runs"
    for source in (
        own,
        f"http://localhost:{client.server.port}/healthz",
        "http://169.254.169.254/latest/meta-data",
    ):
        resp = await client.post(f"/v1/runs/{run}/input", data={"url": source}, headers=auth)
        assert resp.status == 400, source
        body = await resp.json()
        assert set(body) == {"status", "message"} and "may not" in body["message"], body
    assert list(service.paths(run).input.iterdir()) == []
