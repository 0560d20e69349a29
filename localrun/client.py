"""A small synchronous client of localrun's own API, used by the CLI."""

from __future__ import annotations

import http.client
import json
import os
import ssl
import tomllib
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

DEFAULT_URL = "http://127.0.0.1:8080"


class ClientError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def client_config_path() -> Path:
    return Path(platformdirs.user_config_dir("localrun", appauthor=False)) / "client.toml"


def save_client_config(url: str, token: str, path: Path | None = None) -> Path:
    path = path or client_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"url = {json.dumps(url)}\ntoken = {json.dumps(token)}\n")
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def resolve(url: str | None, token: str | None) -> tuple[str, str]:
    """Flags, then LOCALRUN_URL/LOCALRUN_TOKEN, then the client config file."""
    saved: dict[str, Any] = {}
    path = client_config_path()
    if path.exists():
        saved = tomllib.loads(path.read_text())
    url = url or os.environ.get("LOCALRUN_URL") or saved.get("url") or DEFAULT_URL
    token = token or os.environ.get("LOCALRUN_TOKEN") or saved.get("token") or ""
    return url.rstrip("/"), token


@dataclass
class Client:
    url: str
    token: str
    timeout: float = 70.0
    context: ssl.SSLContext | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.url.startswith("https:"):
            self.context = ssl.create_default_context(cafile=os.environ.get("REQUESTS_CA_BUNDLE"))

    def _prepare(
        self,
        method: str,
        path: str,
        body: bytes | Iterator[bytes] | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, Any] | None = None,
    ) -> urllib.request.Request:
        target = self.url + path
        if query:
            target += "?" + urllib.parse.urlencode(
                {k: v for k, v in query.items() if v is not None}
            )
        request = urllib.request.Request(target, data=body, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        return request

    def _open(self, request: urllib.request.Request) -> Any:
        try:
            return urllib.request.urlopen(request, timeout=self.timeout, context=self.context)
        except urllib.error.HTTPError as exc:
            raise ClientError(exc.code, _error_message(exc.read())) from None
        except urllib.error.URLError as exc:
            raise ClientError(0, f"cannot reach localrun at {self.url}: {exc.reason}") from None
        except (ConnectionError, TimeoutError) as exc:
            raise ClientError(0, f"cannot reach localrun at {self.url}: {exc}") from None

    def _request(
        self,
        method: str,
        path: str,
        body: bytes | Iterator[bytes] | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, Any] | None = None,
    ) -> bytes:
        request = self._prepare(method, path, body, headers, query)
        with self._open(request) as resp:
            data: bytes = resp.read()
            return data

    def call(self, method: str, path: str, payload: Any = None, **kw: Any) -> Any:
        """Any JSON call of the API: payload as the JSON body, the decoded answer back."""
        body = None if payload is None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        return json.loads(self._request(method, path, body, headers, **kw) or b"null")

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", "/healthz")
        return result

    def create_run(self, **fields: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.call("POST", "/localrun/v1/runs", fields)
        return result

    def run(self, run_id: str, events: bool = False) -> dict[str, Any]:
        query = {"events": "1"} if events else None
        result: dict[str, Any] = self.call("GET", f"/localrun/v1/runs/{run_id}", query=query)
        return result

    def runs(self, limit: int = 50, cursor: str | None = None, **filters: Any) -> dict[str, Any]:
        query = {"limit": limit, "cursor": cursor, **filters}
        result: dict[str, Any] = self.call("GET", "/localrun/v1/runs", query=query)
        return result

    def upload(self, run_id: str, paths: list[Path]) -> dict[str, Any]:
        """Each file as the body of PUT .../inputs/{name}, sent from the file by sendfile (no
        multipart framing for the daemon to parse); {"files": every file stored, "run": the
        run after the last}."""
        if not paths:
            raise ClientError(400, "the upload holds no file")
        stored: list[dict[str, Any]] = []
        answer: dict[str, Any] = {}
        for path in paths:
            name = urllib.parse.quote(path.name, safe="")
            answer = json.loads(self._put_file(f"/localrun/v1/runs/{run_id}/inputs/{name}", path))
            stored += answer["files"]
        return {"files": stored, "run": answer["run"]}

    def upload_multipart(self, run_id: str, paths: list[Path]) -> dict[str, Any]:
        """The files in one multipart/form-data POST, as curl -F sends them."""
        boundary = uuid.uuid4().hex
        length = sum(len(_part_head(boundary, p)) + p.stat().st_size + 2 for p in paths)
        length += len(f"--{boundary}--\r\n")
        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(length),
        }
        body = _multipart(boundary, paths)
        raw = self._request("POST", f"/localrun/v1/runs/{run_id}/inputs", body, headers)
        result: dict[str, Any] = json.loads(raw)
        return result

    def _put_file(self, path: str, source: Path) -> bytes:
        """PUT the file's bytes; the answer's body. Plain HTTP sends with sendfile (no copy
        through this process), TLS in 1 MiB pieces."""
        base = urllib.parse.urlsplit(self.url)
        conn: http.client.HTTPConnection
        if base.scheme == "https":
            conn = http.client.HTTPSConnection(
                base.hostname or "", base.port, timeout=self.timeout, context=self.context
            )
        else:
            conn = http.client.HTTPConnection(base.hostname or "", base.port, timeout=self.timeout)
        with open(source, "rb") as handle:
            try:
                conn.putrequest("PUT", base.path.rstrip("/") + path, skip_accept_encoding=True)
                conn.putheader("Authorization", f"Bearer {self.token}")
                conn.putheader("Content-Type", "application/octet-stream")
                conn.putheader("Content-Length", str(os.fstat(handle.fileno()).st_size))
                conn.endheaders()
                try:
                    if isinstance(conn.sock, ssl.SSLSocket):
                        while chunk := handle.read(1 << 20):
                            conn.sock.sendall(chunk)
                    else:
                        conn.sock.sendfile(handle)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the daemon answered before the end (a 413, a 409): read it
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                raise ClientError(0, f"cannot reach localrun at {self.url}: {exc}") from None
            finally:
                conn.close()
        if resp.status >= 400:
            raise ClientError(resp.status, _error_message(data))
        return data

    def start(self, run_id: str, cores: int | None = None) -> dict[str, Any]:
        payload = {} if cores is None else {"cores": cores}
        result: dict[str, Any] = self.call("POST", f"/localrun/v1/runs/{run_id}/start", payload)
        return result

    def stop(self, run_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call("POST", f"/localrun/v1/runs/{run_id}/stop", {})
        return result

    def logs(self, run_id: str, name: str, offset: int, follow: int = 0) -> dict[str, Any]:
        query = {"name": name, "offset": offset, "follow": follow}
        result: dict[str, Any] = self.call("GET", f"/localrun/v1/runs/{run_id}/logs", query=query)
        return result

    def delete(self, run_id: str, record: bool = False) -> None:
        """The run's files; with record, the run itself (its record and events) too."""
        query = {"record": "true"} if record else None
        self._request("DELETE", f"/localrun/v1/runs/{run_id}", query=query)

    def download(self, run_id: str, path: str, dest: Path) -> int:
        """One output file to dest, streamed; its size."""
        quoted = urllib.parse.quote(path)
        request = self._prepare("GET", f"/localrun/v1/runs/{run_id}/files/{quoted}")
        size = 0
        tmp = dest.with_name(dest.name + ".part")
        try:
            with self._open(request) as resp, open(tmp, "wb") as handle:
                while chunk := resp.read(1 << 20):
                    handle.write(chunk)
                    size += len(chunk)
            tmp.replace(dest)
        finally:
            tmp.unlink(missing_ok=True)
        return size

    def files(self, run_id: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.call("GET", f"/localrun/v1/runs/{run_id}/files")[
            "files"
        ]
        return result


def _part_head(boundary: str, path: Path) -> bytes:
    name = path.name.replace('"', "")
    return (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()


def _multipart(boundary: str, paths: list[Path]) -> Iterator[bytes]:
    for path in paths:
        yield _part_head(boundary, path)
        with open(path, "rb") as handle:
            while chunk := handle.read(1024 * 1024):
                yield chunk
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()


def _error_message(raw: bytes) -> str:
    try:
        body = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")[:500]
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message"))
    return json.dumps(body)[:500]
