"""The /metrics view: who may read it, and the scrape."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
from pathlib import Path

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from localrun.api.common import Handler, header_token, service
from localrun.api.metrics.collect import Snapshot, StoreCollector
from localrun.api.metrics.requests import RequestMetrics
from localrun.runs import State
from localrun.service import Service


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


async def snapshot(svc: Service) -> Snapshot:
    settings = svc.settings
    return Snapshot(
        runs=await svc.store.runs_in(list(State)),
        cores_total=settings.total_cores,
        cores_in_use=svc.supervisor.cores_in_use,
        cores_free=svc.cores_free(),
        store_bytes=await asyncio.to_thread(store_bytes, settings.data_path / "localrun.db"),
    )


def metrics_view(requests: RequestMetrics) -> Handler:
    collector = StoreCollector()
    requests.registry.register(collector)

    async def metrics(request: web.Request) -> web.Response:
        svc = service(request)
        if not allowed(request, svc.settings.metrics_token):
            body = {"error": {"status": 403, "code": "forbidden", "message": _REFUSED}}
            return web.json_response(body, status=403)
        collector.snapshot = await snapshot(svc)
        text = generate_latest(requests.registry)
        return web.Response(body=text, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return metrics


_REFUSED = (
    "/metrics answers loopback clients only; set metrics_token to let others in with "
    "Authorization: Bearer <metrics_token>"
)
