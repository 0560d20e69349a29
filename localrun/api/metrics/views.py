"""The /metrics view: who may read it, and the scrape."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import time
from pathlib import Path

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from localrun.api.common import Handler, header_token, service
from localrun.api.keys import SERVICE
from localrun.api.metrics.collect import Snapshot, StoreCollector
from localrun.api.metrics.requests import RequestMetrics
from localrun.runs import ADOPTED, State
from localrun.service import Service
from localrun.store import Store


class Adoptions:
    """The runs adopted at this daemon's start, counted once from their events: adoption
    happens only at start, before the first request."""

    def __init__(self) -> None:
        self.since = time.time()  # the application is made before the supervisor starts
        self.total = 0

    async def count(self, app: web.Application) -> None:
        self.total = await adopted_since(app[SERVICE].store, self.since)


async def adopted_since(store: Store, since: float) -> int:
    """Adoption events at or after `since`, of the runs started before it and not ended by
    then (only those can have been adopted)."""
    total = 0
    for run in await store.runs_in(list(State)):
        begun = run.started_at or run.queued_at
        if begun is None or begun >= since:
            continue
        if run.ended_at is not None and run.ended_at < since:
            continue
        events = await store.events(run.id)
        total += sum(1 for e in events if e.at >= since and e.message == ADOPTED)
    return total


def allowed(request: web.Request, token: str) -> bool:
    """With a metrics_token, whoever sends it as a Bearer token; without, loopback only."""
    if token:
        given = header_token(request, "Bearer")
        return hmac.compare_digest(given.encode(), token.encode())
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


def store_bytes(db: Path) -> int:
    total = 0
    for suffix in ("", "-wal", "-journal"):
        path = db.with_name(db.name + suffix)
        if path.exists():
            total += path.stat().st_size
    return total


async def snapshot(svc: Service, adoptions: int = 0) -> Snapshot:
    settings = svc.settings
    return Snapshot(
        runs=await svc.store.runs_in(list(State)),
        cores_total=settings.total_cores,
        cores_in_use=svc.supervisor.cores_in_use,
        cores_free=svc.cores_free(),
        store_bytes=await asyncio.to_thread(store_bytes, settings.data_path / "localrun.db"),
        adoptions=adoptions,
    )


def metrics_view(requests: RequestMetrics, adoptions: Adoptions) -> Handler:
    collector = StoreCollector()
    requests.registry.register(collector)

    async def metrics(request: web.Request) -> web.Response:
        svc = service(request)
        if not allowed(request, svc.settings.metrics_token):
            body = {"error": {"status": 403, "code": "forbidden", "message": _REFUSED}}
            return web.json_response(body, status=403)
        collector.snapshot = await snapshot(svc, adoptions.total)
        text = generate_latest(requests.registry)
        return web.Response(body=text, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return metrics


_REFUSED = (
    "/metrics answers loopback clients only; set metrics_token to let others in with "
    "Authorization: Bearer <metrics_token>"
)
