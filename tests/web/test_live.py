"""The live list: the event stream and the polling JSON."""

from __future__ import annotations

import asyncio
import json

from localrun.web import live
from tests.web.pages import Client, create, log_in, start_example, wait_state


async def first_event(client: Client, query: str = "") -> dict[str, object]:
    async with client.get("/ui/live" + query) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/event-stream"
        while True:
            line = (await resp.content.readline()).decode()
            if line.startswith("data: "):
                found: dict[str, object] = json.loads(line[6:])
                return found


async def test_the_stream_sends_the_rows_and_then_their_changes(client: Client, token: str) -> None:
    run_id = await start_example(client, token, "streamed")
    await log_in(client, token)
    async with client.get("/ui/live") as resp:
        seen: list[dict[str, object]] = []
        while not seen or seen[-1]["state"] != "succeeded":
            line = (await resp.content.readline()).decode()
            if line.startswith("data: "):
                rows = json.loads(line[6:])["runs"]
                assert [r["id"] for r in rows] == [run_id]
                seen.append(rows[0])
    percents = [float(str(r["percent"])) for r in seen]
    assert len(seen) >= 3 and percents == sorted(percents) and percents[-1] == 100.0
    assert (await wait_state(client, token, run_id))["state"] == "succeeded"


async def test_polling_and_the_stream_filter_like_the_page(client: Client, token: str) -> None:
    await create(client, token, "kept")
    await create(client, token, "dropped")
    await log_in(client, token)
    rows = (await (await client.get("/ui/runs.json?name=kep")).json())["runs"]
    assert [r["name"] for r in rows] == ["kept"]
    assert [r["name"] for r in (await first_event(client, "?name=kep"))["runs"]] == ["kept"]  # type: ignore[attr-defined]
    assert (await first_event(client, "?state=running"))["runs"] == []


async def test_shutdown_ends_every_open_stream(client: Client, token: str) -> None:
    await log_in(client, token)
    (streams,) = [
        h.__self__
        for h in client.app.on_shutdown
        if isinstance(getattr(h, "__self__", None), live.Streams)
    ]
    async with client.get("/ui/live") as resp:
        assert (await resp.content.readline()).startswith(b"retry:")
        await streams.close(client.app)
        rest = await asyncio.wait_for(resp.content.read(), 10)
    assert rest.count(b"data: ") <= 1
