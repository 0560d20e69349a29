"""GET /metrics in the Prometheus text format: runs, cores, launches, failures, adoptions,
requests, the supervisor's ticks and the store's size. Loopback clients only, or any client
with the metrics_token."""

from __future__ import annotations

from aiohttp import web

from localrun.api.metrics.requests import RequestMetrics
from localrun.api.metrics.views import Adoptions, metrics_view


def mount(app: web.Application) -> None:
    requests = RequestMetrics()
    adoptions = Adoptions()
    app.middlewares.insert(0, requests.middleware)
    app.on_startup.append(requests.time_ticks)
    app.on_startup.append(adoptions.count)
    app.router.add_get("/metrics", metrics_view(requests, adoptions))
