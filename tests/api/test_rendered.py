from __future__ import annotations

import sqlite3
import time
from typing import Any

from aiohttp.test_utils import TestClient

from localrun.api.rendered import Rendered
from localrun.config import Settings
from localrun.runs import Run, State
from localrun.service import Service

Client = TestClient[Any, Any]


def test_rendered_drops_the_oldest_body_first() -> None:
    rendered = Rendered(size=2)
    rendered.put((1, 0), b"a")
    rendered.put((2, 0), b"b")
    rendered.put((1, 0), b"a")  # put again: the newest
    rendered.put((3, 0), b"c")
    assert rendered.get((2, 0)) is None
    assert rendered.get((1, 0)) == b"a"
    assert rendered.get((3, 0)) == b"c"
    assert rendered.get((1, 1)) is None
    assert len(rendered) == 2


async def finished(service: Service, run_id: str, **extra: Any) -> Run:
    run = Run(
        id=run_id,
        owner="alice",
        family="localrun",
        name="case",
        model="wrf",
        version="4.7.1",
        state=State.SUCCEEDED,
        walltime_s=60,
        created_at=time.time(),
        ended_at=time.time(),
        exit_code=0,
        extra={"required_inputs": ["namelist.input"], **extra},
    )
    return await service.store.insert_run(run, "succeeded")


async def get(client: Client, auth: dict[str, str], path: str) -> tuple[bytes, Any]:
    resp = await client.get(path, headers=auth)
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "application/json"
    return await resp.read(), await resp.json()


async def test_a_finished_run_is_shown_as_its_row_says_after_any_writer_changed_it(
    client: Client, auth: dict[str, str], service: Service, settings: Settings
) -> None:
    await finished(service, "r1")
    first, body = await get(client, auth, "/localrun/v1/runs/r1")
    again, _ = await get(client, auth, "/localrun/v1/runs/r1")
    assert again == first
    assert body["name"] == "case" and body["state"] == "succeeded"
    listed, page = await get(client, auth, "/localrun/v1/runs")
    assert listed == b'{"runs":[' + first + b'],"next_cursor":null}'
    with sqlite3.connect(settings.data_path / "localrun.db") as other:
        other.execute("UPDATE runs SET name = 'renamed' WHERE id = 'r1'")
    _, body = await get(client, auth, "/localrun/v1/runs/r1")
    assert body["name"] == "renamed"
    _, page = await get(client, auth, "/localrun/v1/runs")
    assert [run["name"] for run in page["runs"]] == ["renamed"]
    with sqlite3.connect(settings.data_path / "localrun.db") as other:
        other.execute("DELETE FROM runs WHERE id = 'r1'")
    resp = await client.get("/localrun/v1/runs/r1", headers=auth)
    assert resp.status == 404
    _, page = await get(client, auth, "/localrun/v1/runs")
    assert page["runs"] == []


async def test_a_page_mixes_kept_and_fresh_bodies_in_order(
    client: Client, auth: dict[str, str], service: Service
) -> None:
    for index in range(3):
        await finished(service, f"r{index}")
    created = await client.post("/localrun/v1/runs", json={"name": "live"}, headers=auth)
    assert created.status == 201
    live = (await created.json())["id"]
    await get(client, auth, "/localrun/v1/runs/r1")  # kept before the page asks
    _, page = await get(client, auth, "/localrun/v1/runs?limit=3")
    assert [run["id"] for run in page["runs"]] == ["r0", "r1", "r2"]
    _, rest = await get(client, auth, f"/localrun/v1/runs?cursor={page['next_cursor']}")
    assert [run["id"] for run in rest["runs"]] == [live]
    assert rest["runs"][0]["missing_inputs"] == ["namelist.input"]
    assert rest["next_cursor"] is None


async def test_events_and_other_owners_are_never_served_from_kept_bodies(
    client: Client, auth: dict[str, str], service: Service
) -> None:
    await finished(service, "r1")
    await get(client, auth, "/localrun/v1/runs/r1")
    _, body = await get(client, auth, "/localrun/v1/runs/r1?events=1")
    assert [event["state"] for event in body["events"]] == ["succeeded"]
    other = {"Authorization": f"Bearer {await service.create_token('bob')}"}
    resp = await client.get("/localrun/v1/runs/r1", headers=other)
    assert resp.status == 404
    _, page = await get(client, other, "/localrun/v1/runs")
    assert page["runs"] == []
