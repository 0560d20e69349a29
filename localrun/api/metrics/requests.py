"""What the daemon itself measures as it serves: requests by family and route, and the time
of each supervisor tick."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram

from localrun.api.common import Handler
from localrun.api.keys import SERVICE

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
MAX_SERIES = 4096  # remembered label sets; methods and statuses are few, routes are fixed
TICK_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def family_of(handler: Callable[..., object]) -> str:
    """The family that serves a route, from its handler's module: localrun.api.<family>...,
    localrun.web for the page, "other" for aiohttp's own (404, 405)."""
    parts = getattr(handler, "__module__", "").split(".")
    if parts[:2] == ["localrun", "api"] and len(parts) > 2:
        return parts[2]
    if parts[:2] == ["localrun", "web"]:
        return "web"
    return "other"


def route_of(request: web.Request) -> str:
    """The route's pattern (/localrun/v1/runs/{id}), never the path itself: a label with a
    value per run would grow without end."""
    resource = request.match_info.route.resource
    return "unmatched" if resource is None else resource.canonical


class RequestMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "localrun_http_requests",
            "HTTP requests answered, by family, route, method and status.",
            ["family", "route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "localrun_http_request_duration_seconds",
            "Time to answer an HTTP request, by family and route.",
            ["family", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._children: dict[tuple[Any, ...], tuple[Any, Any]] = {}
        self.ticks = Histogram(
            "localrun_supervisor_tick_seconds",
            "Time of one supervisor tick (sampling, log reading, scheduling).",
            buckets=TICK_BUCKETS,
            registry=self.registry,
        )

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            count, latency = self._series(request, status)
            count.inc()
            latency.observe(time.perf_counter() - started)

    def _series(self, request: web.Request, status: int) -> tuple[Any, Any]:
        """The request's counter and histogram, looked up once per handler, route, method and
        status (labels() validated and locked at every request: a tenth of a status poll)."""
        match = request.match_info
        key = (match.handler, match.route.resource, request.method, status)
        found = self._children.get(key)
        if found is None:
            family, route = family_of(match.handler), route_of(request)
            found = (
                self.requests.labels(family, route, request.method, str(status)),
                self.latency.labels(family, route),
            )
            if len(self._children) < MAX_SERIES:
                self._children[key] = found
        return found

    async def time_ticks(self, app: web.Application) -> None:
        """Times every tick of the supervisor the runtime context started, by wrapping its
        tick method on the instance (supervisor.py stays unaware of metrics)."""
        supervisor = app[SERVICE].supervisor
        tick: Callable[[], Awaitable[None]] = supervisor.tick

        async def timed() -> None:
            started = time.perf_counter()
            try:
                await tick()
            finally:
                self.ticks.observe(time.perf_counter() - started)

        setattr(supervisor, "tick", timed)  # noqa: B010 - an instance attribute, on purpose
