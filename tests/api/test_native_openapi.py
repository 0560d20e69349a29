"""The native API's OpenAPI document: valid (openapi-spec-validator), and every documented
response, status and body, is what the real API answers."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from localrun.api.native.openapi import document
from localrun.config import Settings
from tests.conftest import EXAMPLE

Client = TestClient[Any, Any]
ENDED = ("succeeded", "failed", "cancelled", "lost", "timed_out")


def test_the_document_is_valid_openapi() -> None:
    validate(document())


def check(doc: dict[str, Any], method: str, path: str, status: int, body: Any) -> None:
    """body is what the document says `method path` answers with this status."""
    responses = doc["paths"][path][method]["responses"]
    answer = responses.get(str(status)) or (
        doc["components"]["responses"]["Error"] if 400 <= status < 500 else None
    )
    assert answer is not None, f"{method} {path} answered {status}, which is not documented"
    content = answer.get("content", {})
    if body is None:
        assert "application/json" not in content, f"{method} {path} {status} has no body"
        return
    schema = content["application/json"]["schema"]
    validator = OAS30Validator({**schema, "components": doc["components"]})
    errors = sorted(validator.iter_errors(body), key=str)
    assert not errors, f"{method} {path} {status}: {errors[0].message}"


async def test_every_documented_response_matches_the_real_one(
    client: Client, auth: dict[str, str], settings: Settings
) -> None:
    doc = document()
    seen: set[tuple[str, str, str]] = set()

    async def call(method: str, path: str, url: str, **kw: Any) -> Any:
        headers = {**auth, **kw.pop("headers", {})}
        resp = await client.request(method.upper(), url, headers=headers, **kw)
        body: Any = None
        if resp.content_type == "application/json":
            body = await resp.json()
        elif resp.status < 300:
            await resp.read()
        check(doc, method, path, resp.status, body)
        seen.add((method, path, str(resp.status)))
        return body

    runs = "/localrun/v1/runs"
    made = await call("post", runs, runs, json={"name": "doc"})
    url = f"{runs}/{made['id']}"
    await call("get", runs + "/{id}", url, params={"events": "1"})
    form = aiohttp.FormData()
    for name in ("namelist.input", "wrfinput_d01"):
        form.add_field("file", (EXAMPLE / name).read_bytes(), filename=name)
    await call("post", runs + "/{id}/inputs", url + "/inputs", data=form)
    raw = (EXAMPLE / "wrfinput_d01").read_bytes()
    await call("put", runs + "/{id}/inputs/{name}", url + "/inputs/wrfinput_d01", data=raw)
    await call("post", runs + "/{id}/start", url + "/start", json={"cores": 1})
    for _ in range(600):
        run = await call("get", runs + "/{id}", url)
        if run["state"] in ENDED:
            break
        await asyncio.sleep(0.1)
    assert run["state"] == "succeeded"
    await call("get", runs, runs, params={"limit": "1"})
    await call("get", runs + "/{id}/events", url + "/events")
    await call("get", runs + "/{id}/logs", url + "/logs", params={"name": "rsl.out.0000"})
    files = await call("get", runs + "/{id}/files", url + "/files")
    first = files["files"][0]["path"]
    file_path = runs + "/{id}/files/{path}"
    await call("get", file_path, f"{url}/files/{first}")
    await call("get", file_path, f"{url}/files/{first}", headers={"Range": "bytes=0-3"})
    namelist = (EXAMPLE / "namelist.input").read_text()
    await call("post", "/localrun/v1/estimate", "/localrun/v1/estimate", data=namelist)
    await call("get", "/localrun/v1/health", "/localrun/v1/health")
    await call("get", "/localrun/v1/openapi.json", "/localrun/v1/openapi.json")
    await call("get", "/healthz", "/healthz")
    other = await call("post", runs, runs, json={})
    await call("post", runs + "/{id}/stop", f"{runs}/{other['id']}/stop")
    stopped = await call("post", runs, runs, json={})
    form = aiohttp.FormData()
    for name in ("namelist.input", "wrfinput_d01"):
        form.add_field("file", (EXAMPLE / name).read_bytes(), filename=name)
    await call("post", runs + "/{id}/inputs", f"{runs}/{stopped['id']}/inputs", data=form)
    await call("post", runs + "/{id}/stop", f"{runs}/{stopped['id']}/stop")
    work = settings.data_path / "runs" / stopped["id"] / "work"
    (work / "wrfrst_d01_0001-01-01_00:10:00").write_bytes(b"restart")
    resume = runs + "/{id}/resume"
    await call("post", resume, f"{runs}/{stopped['id']}/resume", json={"start": False})
    await call("delete", runs + "/{id}", url)
    await call("delete", runs + "/{id}", url, params={"record": "true"})
    # an error, for every route: the Error schema
    await call("get", runs + "/{id}", url)
    await call("post", runs, runs, json={"cores": 0})

    documented = {
        (m, p, s)
        for p, ops in doc["paths"].items()
        for m, op in ops.items()
        for s in op["responses"]
        if s != "4XX"
    }
    assert documented <= seen, f"documented but never answered: {sorted(documented - seen)}"
