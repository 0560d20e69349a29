"""Live updates of the runs list: a server-sent event stream, and the same rows as JSON for
the browsers (or proxies) where EventSource does not get through."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

from aiohttp import web

from localrun.api.common import service
from localrun.web import auth
from localrun.web.listing import filters, find

STREAM_S = 300.0  # then the browser's EventSource reconnects by itself
HEARTBEAT_S = 15.0


def _refused() -> web.Response:
    body = {"error": {"status": 401, "code": "unauthorized", "message": "log in first"}}
    return web.json_response(body, status=401)


async def runs_json(request: web.Request) -> web.Response:
    who = await auth.owner(request)
    if who is None:
        return _refused()
    rows = await find(request, who, filters(request))
    return web.json_response({"runs": rows}, headers={"Cache-Control": "no-store"})


class Streams:
    """The open event streams; closed at shutdown, so that none holds the daemon up."""

    def __init__(self) -> None:
        self.stopping = asyncio.Event()

    async def close(self, app: web.Application) -> None:
        self.stopping.set()

    async def handler(self, request: web.Request) -> web.StreamResponse:
        who = await auth.owner(request)
        if who is None:
            return _refused()
        wanted = filters(request)
        interval = max(service(request).settings.poll_interval_s, 0.5)
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        sent, beat = "", time.monotonic()
        ends = time.monotonic() + STREAM_S
        with contextlib.suppress(ConnectionError):
            await response.write(b"retry: 2000\n\n")
            while not self.stopping.is_set() and time.monotonic() < ends:
                rows = json.dumps({"runs": await find(request, who, wanted)})
                if rows != sent:
                    await response.write(f"data: {rows}\n\n".encode())
                    sent, beat = rows, time.monotonic()
                elif time.monotonic() - beat > HEARTBEAT_S:
                    await response.write(b": still here\n\n")
                    beat = time.monotonic()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), interval)
        return response
