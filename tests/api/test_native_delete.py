"""DELETE /localrun/v1/runs/{id}: files only by default, the record too with record=true."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from localrun.service import Service

Client = TestClient[Any, Any]


async def test_delete_with_record_removes_the_run_and_its_folder(
    client: Client, auth: dict[str, str], service: Service
) -> None:
    made = await (await client.post("/localrun/v1/runs", json={"name": "x"}, headers=auth)).json()
    root = service.paths(made["id"]).root
    assert root.exists()
    kept = await client.delete(f"/localrun/v1/runs/{made['id']}", headers=auth)
    assert kept.status == 200
    assert (await client.get(f"/localrun/v1/runs/{made['id']}", headers=auth)).status == 200
    gone = await client.delete(f"/localrun/v1/runs/{made['id']}?record=true", headers=auth)
    assert gone.status == 204
    missing = await client.get(f"/localrun/v1/runs/{made['id']}", headers=auth)
    assert missing.status == 404
    assert not root.exists()
    again = await client.delete(f"/localrun/v1/runs/{made['id']}?record=true", headers=auth)
    assert again.status == 404 and (await again.json())["error"]["message"]


async def test_delete_refuses_a_bad_record_flag(client: Client, auth: dict[str, str]) -> None:
    made = await (await client.post("/localrun/v1/runs", json={}, headers=auth)).json()
    bad = await client.delete(f"/localrun/v1/runs/{made['id']}?record=maybe", headers=auth)
    assert bad.status == 400
    assert (await client.get(f"/localrun/v1/runs/{made['id']}", headers=auth)).status == 200
