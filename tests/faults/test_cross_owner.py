"""Issue 11: every route of every family, generated from the route table (so a new route is
covered without anyone remembering), tried by another owner and by no owner at all."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from aiohttp.web_urldispatcher import PrefixedSubAppResource

from localrun.api.sharedcloud.shapes import PYTHON_IMAGE
from localrun.service import Service
from tests.api.test_rescale import completed, create, job_body, submit, upload
from tests.conftest import EXAMPLE

Client = TestClient[Any, Any]
PUBLIC = {"/healthz", "/localrun/v1/openapi.json"}
OWN = "/storage/{sid}"  # each owner's own drive: bob sees his, never alice's
S3 = "/s3/"
WEB = ("/ui/",)  # the page: cookies, not these headers, so every answer is the login's
METRICS = "/metrics"  # loopback (as here) or its own token; counts only, no run named
SLEEPER = "import time\n\ndef handler(event):\n    time.sleep(60)\n"


def every_route(app: web.Application) -> list[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for resource in app.router.resources():
        routes = (
            resource._app.router.routes()
            if isinstance(resource, PrefixedSubAppResource)
            else resource
        )
        for route in routes:
            if route.method not in ("HEAD", "OPTIONS"):
                found.add((route.method, route.resource.canonical if route.resource else ""))
    return sorted(found)


def scheme(path: str) -> str:
    return "Token" if path.startswith("/api") else "Bearer"


async def test_no_route_lets_another_owner_see_or_change_a_run(
    client: Client, service: Service
) -> None:
    alice = await service.create_token("alice")
    bob = await service.create_token("bob")
    bearer = {"Authorization": f"Bearer {alice}"}
    native = (await (await client.post("/localrun/v1/runs", json={}, headers=bearer)).json())["id"]
    for name in ("namelist.input", "wrfinput_d01"):
        form = {"file": (EXAMPLE / name).open("rb")}
        assert (
            await client.post(f"/localrun/v1/runs/{native}/inputs", data=form, headers=bearer)
        ).ok
    cloudrun = (await (await client.post("/v1/runs", data={}, headers=bearer)).json())["id"]
    rs = {"Authorization": f"Token {alice}"}
    file_id = await upload(client, rs, "data.txt", b"alice's data")
    job = await create(client, rs, job_body([file_id], "echo secret > out.txt; sleep 60", cores=1))
    await submit(client, rs, job["id"])
    function = await service.create_function(
        "alice", name="alices_fn", image=PYTHON_IMAGE, code=SLEEPER
    )
    handlers, [call] = await service.create_handler_job(
        "alice", "sharedcloud", function_id=function["id"], parameters="((1,),)", spec={}
    )
    secrets = {native, cloudrun, job["id"], "alice's data", "alice", function["id"], call.id}
    secrets.add("alices_fn")
    values = {
        "job": job["id"],
        "run": "1",
        "path": "namelist.input",
        "name": "namelist.input",  # the native API's raw upload of one input
        "field": "T2",
        "sid": "user_files::local",
        "grant": "not-a-grant",
        "bucket": "localrun",
        "key": "alice/secret.txt",
        "run_id": native,  # the admin API's, which no family token opens
        "fault_id": "1",
    }
    routes = every_route(client.app)
    assert len(routes) > 40
    for method, template in routes:
        ids = {"id": native if template.startswith("/localrun") else cloudrun}
        if template.startswith("/api"):
            ids["id"] = file_id
        if "{uuid}" in template:  # Sharedcloud's: a run is a job, a job is a run
            kinds = {"/api/v1/runs": handlers.id, "/api/v1/jobs": call.id}
            ids["uuid"] = kinds.get(template.rsplit("/", 2)[0], function["id"])
        path = template.format(**{**values, **ids}) if "{" in template else template
        for who in (bob, "nobody", None):
            headers = {} if who is None else {"Authorization": f"{scheme(path)} {who}"}
            resp = await client.request(method, path, json={}, headers=headers)
            text = await resp.text()
            assert resp.status < 500, (method, path, text)
            leaked = [s for s in secrets if s in text and s not in path]
            assert not leaked, (method, path, who, text)
            if template == "/" or template.startswith(WEB):
                assert resp.status in (200, 302, 303, 401, 403, 404, 405), (method, path)
                assert "alice" not in text
                continue
            if template == METRICS:
                assert resp.status == 200 and resp.content_type == "text/plain"
                continue
            # S3 answers in its XML and takes SigV4 only: any token here is refused.
            xml = template.startswith(S3)
            wanted = "application/xml" if xml else "application/json"
            assert resp.content_type == wanted, (method, path, text)
            if template in PUBLIC:
                assert resp.status == 200  # open to anyone; names no run, owner or path
            elif ("{" in template and not template.startswith(OWN)) or who != bob:
                assert resp.status in (400, 401, 403, 404, 405), (method, path, who, text)
    assert (await service.get_run("alice", native)).state == "ready"
    assert (await service.get_run("alice", cloudrun)).state == "created"
    first = await service.job_run("alice", job["id"], 1)
    assert first.state == "running" and first.stop_requested_at is None
    assert (await service.get_run("alice", call.id)).stop_requested_at is None
    await service.remove_job("alice", handlers.id)
    await service.stop_job("alice", job["id"])
    await completed(client, rs, job["id"], within=30)
