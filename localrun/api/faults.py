"""Faults injected into the families' answers, for testing clients: a status code with the
family's own error body, added latency, a dropped connection or a truncated body, for the next
N matching requests or with a seeded probability. Set through the admin API."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aiohttp import web

from localrun.api.cloudrun.shapes import render_error as cloudrun_error
from localrun.api.common import Handler
from localrun.api.native.shapes import render_error as native_error
from localrun.api.rescale.shapes import render_error as rescale_error
from localrun.api.s3.errors import render_error as s3_error
from localrun.api.s3.errors import render_xml
from localrun.api.sharedcloud.shapes import render_error as sharedcloud_error
from localrun.api.wherobots.shapes import render_error as wherobots_error
from localrun.config import Settings

log = logging.getLogger("localrun.faults")

KINDS = ("status", "latency", "drop", "truncate")
RENDER: dict[str, Callable[[int, str, str], web.Response]] = {
    "native": native_error,
    "cloudrun": cloudrun_error,
    "rescale": rescale_error,
    "wherobots": wherobots_error,
    "sharedcloud": sharedcloud_error,
    "s3": s3_error,
}
ADMIN = "/localrun/admin/"
# S3's own code and message for a status (AWS's error code list), for the s3 family
S3_CODES = {
    400: ("InvalidRequest", "Invalid Request"),
    403: ("AccessDenied", "Access Denied"),
    404: ("NoSuchKey", "The specified key does not exist."),
    409: ("OperationAborted", "A conflicting conditional operation is in progress."),
    500: ("InternalError", "We encountered an internal error. Please try again."),
    501: ("NotImplemented", "A header you provided implies functionality that is not implemented."),
    503: ("SlowDown", "Please reduce your request rate."),
}


class FaultError(ValueError):
    """A fault rule that cannot be used; the message says which field."""


def family_of(path: str, settings: Settings) -> str | None:
    """The family a request path belongs to (CLIENTS.md §0.1), None for the rest."""
    if path.startswith("/localrun/v1/") or path == "/healthz":
        return "native"
    if path.startswith("/v1/"):
        return "cloudrun"
    if path.startswith("/api/v1/"):
        return "sharedcloud"
    if path.startswith("/api/"):
        return "rescale"
    if path.startswith(settings.s3_prefix.rstrip("/") + "/") or path == settings.s3_prefix:
        return "s3"
    rest = path
    prefix = settings.wherobots_prefix.rstrip("/")
    if prefix:
        if not path.startswith(prefix + "/"):
            return None
        rest = path[len(prefix) :]
    if rest.split("/")[1:2] and rest.split("/")[1] in {"runs", "storage", "files"}:
        return "wherobots"
    return None


@dataclass
class Fault:
    id: int
    family: str
    kind: str
    path: str = ""  # a regular expression searched in the request's path; "" = any
    method: str = ""  # "" = any
    status: int = 503
    message: str = ""
    latency_ms: float = 0.0
    count: int | None = None  # requests left to fault; None with a probability
    probability: float | None = None
    seed: int | None = None
    hits: int = 0
    created_at: float = field(default_factory=time.time)
    _random: random.Random = field(default_factory=random.Random, repr=False)
    _pattern: re.Pattern[str] | None = field(default=None, repr=False)

    @classmethod
    def from_json(cls, id: int, body: dict[str, Any]) -> Fault:
        known = {
            "family",
            "kind",
            "path",
            "method",
            "status",
            "message",
            "latency_ms",
            "count",
            "probability",
            "seed",
        }
        unknown = sorted(set(body) - known)
        if unknown:
            raise FaultError(f"unknown fields: {', '.join(unknown)}")
        family = str(body.get("family", ""))
        if family not in RENDER:
            raise FaultError(f"family must be one of {', '.join(RENDER)}, not {family!r}")
        kind = str(body.get("kind", "status"))
        if kind not in KINDS:
            raise FaultError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        try:
            pattern = re.compile(str(body.get("path", "")))
        except re.error as exc:
            raise FaultError(f"path is not a regular expression: {exc}") from None
        count, probability = body.get("count"), body.get("probability")
        if probability is None and count is None:
            count = 1
        if probability is not None and count is not None:
            raise FaultError("give count or probability, not both")
        try:
            fault = cls(
                id=id,
                family=family,
                kind=kind,
                path=pattern.pattern,
                method=str(body.get("method", "")).upper(),
                status=int(body.get("status", 503)),
                message=str(body.get("message", "")),
                latency_ms=float(body.get("latency_ms", 0.0)),
                count=None if count is None else int(count),
                probability=None if probability is None else float(probability),
                seed=None if body.get("seed") is None else int(body["seed"]),
            )
        except (TypeError, ValueError) as exc:
            raise FaultError(f"a field has a bad value: {exc}") from None
        if not 100 <= fault.status <= 599:
            raise FaultError(f"status {fault.status} is not an HTTP status")
        if fault.count is not None and fault.count < 1:
            raise FaultError("count must be 1 or more")
        if fault.probability is not None and not 0.0 <= fault.probability <= 1.0:
            raise FaultError("probability must be between 0 and 1")
        if fault.latency_ms < 0 or (kind == "latency" and fault.latency_ms == 0):
            raise FaultError("latency_ms must be positive for a latency fault")
        fault._pattern = pattern
        fault._random = random.Random(fault.seed)
        return fault

    def matches(self, request: web.Request, family: str | None) -> bool:
        if family != self.family or (self.method and request.method != self.method):
            return False
        return self._pattern is None or bool(self._pattern.search(request.path))

    def fires(self) -> bool:
        """Whether this matching request is faulted (uses up one of count)."""
        if self.count is not None:
            if self.count <= 0:
                return False
            self.count -= 1
            return True
        assert self.probability is not None
        return self._random.random() < self.probability

    @property
    def spent(self) -> bool:
        return self.count is not None and self.count <= 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "family": self.family,
            "kind": self.kind,
            "path": self.path,
            "method": self.method,
            "status": self.status,
            "message": self.message,
            "latency_ms": self.latency_ms,
            "count_left": self.count,
            "probability": self.probability,
            "seed": self.seed,
            "hits": self.hits,
        }


class Faults:
    """The fault rules of a daemon and the record of each one injected."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rules: list[Fault] = []
        self.injected: list[dict[str, Any]] = []  # the newest 1000
        self._next_id = 1

    def add(self, body: dict[str, Any]) -> Fault:
        fault = Fault.from_json(self._next_id, body)
        self._next_id += 1
        self.rules.append(fault)
        log.info("fault %d added: %s", fault.id, fault.to_json())
        return fault

    def clear(self, fault_id: int | None = None) -> int:
        """One rule, or every rule and the record of what they injected."""
        before = len(self.rules)
        if fault_id is None:
            self.injected.clear()
        self.rules = [f for f in self.rules if fault_id is not None and f.id != fault_id]
        return before - len(self.rules)

    def pick(self, request: web.Request) -> Fault | None:
        if request.path.startswith(ADMIN) or not self.rules:
            return None
        family = family_of(request.path, self.settings)
        for fault in self.rules:
            if fault.matches(request, family) and fault.fires():
                fault.hits += 1
                self.injected.append(
                    {
                        "at": time.time(),
                        "fault": fault.id,
                        "kind": fault.kind,
                        "method": request.method,
                        "path": request.path,
                    }
                )
                del self.injected[:-1000]
                log.warning(
                    "fault %d injected: %s on %s %s",
                    fault.id,
                    fault.kind,
                    request.method,
                    request.path,
                )
                return fault
        return None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        fault = self.pick(request)
        if fault is None:
            return await handler(request)
        if fault.latency_ms:
            await asyncio.sleep(fault.latency_ms / 1000.0)
        if fault.kind == "latency":
            return await handler(request)
        if fault.kind == "status" and fault.family == "s3":
            fallback = ("InternalError", "") if fault.status >= 500 else ("InvalidRequest", "")
            code, said = S3_CODES.get(fault.status, fallback)
            message = fault.message or said or HTTPStatus(fault.status).phrase
            return render_xml(fault.status, code, message)
        if fault.kind == "status":
            message = fault.message or HTTPStatus(fault.status).phrase
            code = HTTPStatus(fault.status).phrase.replace(" ", "")
            return RENDER[fault.family](fault.status, code, message)
        if fault.kind == "drop":
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError  # nothing more is written to this connection
        return await truncated(request, await handler(request))


async def truncated(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """The response's headers with its whole Content-Length, then half its body, then the
    connection closed."""
    body = response.body if isinstance(response, web.Response) else None
    data = body if isinstance(body, bytes) else b""
    out = web.StreamResponse(status=response.status, reason=response.reason)
    for name, value in response.headers.items():
        if name.lower() not in {"content-length", "transfer-encoding", "content-encoding"}:
            out.headers[name] = value
    out.content_length = max(len(data), 2)
    await out.prepare(request)
    await out.write(data[: len(data) // 2] if data else b"{")
    if request.transport is not None:
        request.transport.close()
    return out
