"""A keep-alive HTTP client for the benchmarks: one connection, JSON in and out, no TLS."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from typing import Any


class Http:
    """Requests on one persistent loopback connection (reopened after an error)."""

    def __init__(self, base: str, headers: dict[str, str] | None = None, timeout: float = 60):
        parts = urllib.parse.urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.headers = headers or {}
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def raw(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(
                    method, self.prefix + path, body, {**self.headers, **(headers or {})}
                )
                resp = self.conn.getresponse()
                return resp.status, resp.read()
            except (ConnectionError, http.client.HTTPException):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, body: Any = None, expect: int | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {} if body is None else {"Content-Type": "application/json"}
        status, raw = self.raw(method, path, data, headers)
        if (expect is not None and status != expect) or status >= 400:
            raise RuntimeError(f"{method} {path}: {status} {raw[:300]!r}")
        return json.loads(raw) if raw.strip() else None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
