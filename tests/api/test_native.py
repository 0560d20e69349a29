from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from localrun.api.keys import SERVICE
from localrun.api.native.openapi import document
from localrun.app import init_app
from localrun.service import Service
from tests.api.raw import raw_get
from tests.conftest import EXAMPLE, make_settings

Client = TestClient[Any, Any]


def form(*names: str, content: dict[str, bytes] | None = None) -> aiohttp.FormData:
    data = aiohttp.FormData()
    for name in names:
        body = (content or {}).get(name) or (EXAMPLE / name).read_bytes()
        data.add_field("file", body, filename=name, content_type="application/octet-stream")
    return data


async def create(client: Client, auth: dict[str, str], **body: Any) -> dict[str, Any]:
    resp = await client.post("/localrun/v1/runs", json=body, headers=auth)
    assert resp.status == 201, await resp.text()
    result: dict[str, Any] = await resp.json()
    return result


async def assert_error(resp: aiohttp.ClientResponse, status: int, code: str | None = None) -> str:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert set(body) == {"error"}
    assert body["error"]["status"] == status
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    message: str = body["error"]["message"]
    return message


async def test_healthz_needs_no_token_and_reports(client: Client) -> None:
    resp = await client.get("/healthz")
    body = await resp.json()
    assert resp.status == 200
    assert body["status"] == "ok"
    assert body["cores"] == {"total": 2, "free": 2}
    assert body["mpi"]["found"] is True
    assert body["mpi"]["version"]
    assert body["mpi"]["library"].startswith("MPICH ")
    assert body["disk_free_bytes"] > 0
    assert body["models"] == [
        {"model": "wrf", "version": "*", "mpi": {"library": "libmpi.so.12", "family": "MPICH"}}
    ]
    assert "/" not in str(body).replace("/localrun", ""), body  # no path for the anonymous
    await assert_error(await client.get("/localrun/v1/health"), 401, "unauthorized")


async def test_health_with_a_token_says_where_things_are(
    client: Client, auth: dict[str, str]
) -> None:
    body = await (await client.get("/localrun/v1/health", headers=auth)).json()
    assert body["mpi"]["launcher"].startswith("/")
    assert body["models"][-1]["executable"] == "simulator"


async def test_health_says_which_mpi_each_model_links(aiohttp_client: Any, tmp_path: Path) -> None:
    """A model built against another MPI than the launcher's is flagged (ldd of wrf.exe)."""
    import mpi4py

    other = next(Path(mpi4py.__file__).parent.glob("MPI.openmpi*.so"))
    settings = make_settings(tmp_path, models=f"wrf:4.7.1={other}")
    client: Client = await aiohttp_client(init_app(settings))
    body = await (await client.get("/healthz")).json()
    model = body["models"][0]
    assert (model["model"], model["version"]) == ("wrf", "4.7.1")
    assert model["mpi"]["library"] == "libmpi.so.40" and model["mpi"]["family"] == "Open MPI"
    assert model["mpi"]["warning"].startswith(
        "links Open MPI (libmpi.so.40) but the launcher is MPICH"
    )
    token = await client.app[SERVICE].create_token("alice")
    auth = {"Authorization": f"Bearer {token}"}
    body = await (await client.get("/localrun/v1/health", headers=auth)).json()
    assert body["models"][0]["mpi"]["path"] == "not found"
    assert body["models"][0]["executable"] == str(other)


async def test_every_call_needs_a_valid_token(client: Client) -> None:
    await assert_error(await client.get("/localrun/v1/runs"), 401, "unauthorized")
    bad = {"Authorization": "Bearer nope"}
    await assert_error(await client.get("/localrun/v1/runs", headers=bad), 401)


async def test_create_upload_ready_and_owner_isolation(
    client: Client, auth: dict[str, str], service: Service
) -> None:
    run = await create(client, auth, name="t1")
    assert run["state"] == "created"
    assert run["missing_inputs"] == ["namelist.input"]
    resp = await client.post(
        f"/localrun/v1/runs/{run['id']}/inputs", data=form("namelist.input"), headers=auth
    )
    assert resp.status == 201
    body = await resp.json()
    assert body["run"]["missing_inputs"] == ["wrfinput_d01"]
    resp = await client.post(
        f"/localrun/v1/runs/{run['id']}/inputs", data=form("wrfinput_d01"), headers=auth
    )
    assert (await resp.json())["run"]["state"] == "ready"
    other = {"Authorization": f"Bearer {await service.create_token('bob')}"}
    await assert_error(await client.get(f"/localrun/v1/runs/{run['id']}", headers=other), 404)


async def test_bad_input_is_a_json_4xx_and_stores_nothing(
    client: Client, auth: dict[str, str], service: Service
) -> None:
    await assert_error(await client.get("/localrun/v1/runs/nope", headers=auth), 404, "not_found")
    resp = await client.post(
        "/localrun/v1/runs", data=b"{not json", headers={**auth, "Content-Type": "application/json"}
    )
    await assert_error(resp, 400)
    await assert_error(await client.post("/localrun/v1/runs", json={"cores": 0}, headers=auth), 400)
    await assert_error(
        await client.post("/localrun/v1/runs", json={"cores": "many"}, headers=auth), 400
    )
    resp = await client.post("/localrun/v1/runs", json={"cors": 2}, headers=auth)
    assert "unknown field 'cors'" in await assert_error(resp, 400)
    huge = {"name": "x" * (2 << 20)}
    await assert_error(await client.post("/localrun/v1/runs", json=huge, headers=auth), 413)
    assert await service.store.count_runs(None) == 0
    run = await create(client, auth)
    for bad in ("../evil", "a/b", ".."):
        body = (
            f'--B\r\nContent-Disposition: form-data; name="file"; filename="{bad}"\r\n\r\n'
            "x\r\n--B--\r\n"
        ).encode()
        headers = {**auth, "Content-Type": "multipart/form-data; boundary=B"}
        url = f"/localrun/v1/runs/{run['id']}/inputs"
        resp = await client.post(url, data=body, headers=headers)
        await assert_error(resp, 400)
    assert [p.name for p in service.paths(run["id"]).input.iterdir()] == []
    await assert_error(await client.post(f"/localrun/v1/runs/{run['id']}/start", headers=auth), 409)
    start = f"/localrun/v1/runs/{run['id']}/start"
    resp = await client.post(start, json={"core": 1}, headers=auth)
    assert "unknown field 'core'" in await assert_error(resp, 400)


async def test_bad_namelist_is_refused_and_keeps_the_old_one(
    client: Client, auth: dict[str, str], service: Service
) -> None:
    run = await create(client, auth)
    url = f"/localrun/v1/runs/{run['id']}/inputs"
    assert (await client.post(url, data=form("namelist.input"), headers=auth)).status == 201
    bad = form("namelist.input", content={"namelist.input": b"&time_control\n run_hours = 1\n/\n"})
    message = await assert_error(await client.post(url, data=bad, headers=auth), 400, "namelist")
    assert "domains" in message
    kept = (service.paths(run["id"]).input / "namelist.input").read_bytes()
    assert kept == (EXAMPLE / "namelist.input").read_bytes()


async def test_oversize_upload_is_413_and_leaves_nothing(
    aiohttp_client: Any, tmp_path: Any
) -> None:
    from localrun.app import init_app
    from tests.conftest import make_settings

    app = init_app(make_settings(tmp_path / "d", max_upload_bytes=1000))
    client = await aiohttp_client(app)
    from localrun.api.keys import SERVICE

    token = await app[SERVICE].create_token("a")
    auth = {"Authorization": f"Bearer {token}"}
    run = await create(client, auth)
    data = aiohttp.FormData()
    data.add_field("file", b"x" * 5000, filename="wrfinput_d01")
    resp = await client.post(f"/localrun/v1/runs/{run['id']}/inputs", data=data, headers=auth)
    await assert_error(resp, 413, "too_large")
    assert list(app[SERVICE].paths(run["id"]).input.iterdir()) == []


async def test_list_paginates_with_a_cursor_and_filters(
    client: Client, auth: dict[str, str]
) -> None:
    ids = [(await create(client, auth, name=f"n{i}"))["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        body = await (await client.get("/localrun/v1/runs", params=params, headers=auth)).json()
        seen += [r["id"] for r in body["runs"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == ids
    body = await (await client.get("/localrun/v1/runs", params={"name": "n3"}, headers=auth)).json()
    assert [r["name"] for r in body["runs"]] == ["n3"]
    resp = await client.get("/localrun/v1/runs", params={"state": "bogus"}, headers=auth)
    await assert_error(resp, 400)
    resp = await client.get("/localrun/v1/runs", params={"cursor": "!!"}, headers=auth)
    await assert_error(resp, 400)


async def test_unknown_route_and_method_are_json(client: Client, auth: dict[str, str]) -> None:
    await assert_error(await client.get("/localrun/v1/nothing", headers=auth), 404)
    await assert_error(await client.put("/localrun/v1/runs", headers=auth), 405)


async def test_openapi_lists_every_native_route(client: Client) -> None:
    doc = await (await client.get("/localrun/v1/openapi.json")).json()
    assert doc == document()
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    for resource in client.app.router.resources():
        info = resource.get_info()
        path = info.get("path") or info.get("formatter", "")
        path = path.replace("{path:.+}", "{path}")
        if not (path.startswith("/localrun/") or path == "/healthz"):
            continue
        for route in resource:
            if route.method == "HEAD":
                continue
            assert (route.method, path) in documented, f"{route.method} {path} not in OpenAPI"


async def test_run_to_success_with_events_logs_and_files(
    client: Client, auth: dict[str, str]
) -> None:
    run = await create(client, auth, name="short")
    url = f"/localrun/v1/runs/{run['id']}"
    resp = await client.post(
        url + "/inputs", data=form("namelist.input", "wrfinput_d01"), headers=auth
    )
    assert resp.status == 201
    resp = await client.post(url + "/start", json={"cores": 2}, headers=auth)
    assert resp.status == 202
    for _ in range(600):
        run = await (await client.get(url, headers=auth)).json()
        if run["state"] in ("succeeded", "failed", "cancelled", "lost", "timed_out"):
            break
        await asyncio.sleep(0.1)
    assert run["state"] == "succeeded", run
    assert run["progress"]["percent"] == 100
    events = (await (await client.get(url + "/events", headers=auth)).json())["events"]
    states = [e["state"] for e in events]
    assert states[:3] == ["created", "ready", "queued"]
    assert states[-1] == "succeeded" and states.count("succeeded") == 1
    logs = await (
        await client.get(url + "/logs", params={"name": "rsl.out.0000"}, headers=auth)
    ).json()
    assert "SUCCESS COMPLETE WRF" in logs["text"] and logs["eof"]
    files = (await (await client.get(url + "/files", headers=auth)).json())["files"]
    names = [f["path"] for f in files]
    wrfout = [n for n in names if n.startswith("wrfout_d01_")]
    assert wrfout and "namelist.input" not in names
    resp = await client.get(url + "/files/" + wrfout[0], headers={**auth, "Range": "bytes=0-3"})
    assert resp.status == 206
    assert await resp.read() == b"\x89HDF"
    staged = await client.get(url + "/files/namelist.input", headers=auth)
    assert staged.status == 200 and b"&time_control" in await staged.read()
    for escape in ("../../localrun.db", "%2E%2E/%2E%2E/localrun.db", "..%2F..%2Flocalrun.db"):
        status, body = await raw_get(client, f"{url}/files/{escape}", auth)
        assert status == 400 and body["error"]["code"] == "invalid", (escape, body)
        assert "must stay inside the run directory" in body["error"]["message"]
    await assert_error(await client.post(url + "/stop", headers=auth), 409)
    deleted = await (await client.delete(url, headers=auth)).json()
    assert deleted["state"] == "succeeded"
    assert (await (await client.get(url + "/files", headers=auth)).json())["files"] == []


async def test_a_schedulers_queue_reason_shows_while_queued(
    client: Client, auth: dict[str, str], service: Service
) -> None:
    from localrun.api.rescale.shapes import run_timeline
    from localrun.runs import State

    run = await create(client, auth, name="waits")
    owner = await service.owner_of(auth["Authorization"].split()[1])
    reason = "waiting in the queue of Slurm job 7: Resources"
    await service.store.transition(
        run["id"], [State.CREATED], State.QUEUED, "queued", executor_ref="7"
    )
    await service.store.add_event(run["id"], State.QUEUED, reason)
    await service.store.merge_extra(run["id"], {"queue_reason": reason})
    body = await (await client.get(f"/localrun/v1/runs/{run['id']}", headers=auth)).json()
    assert body["queue_reason"] == reason
    stored = await service.get_run(owner, run["id"])
    timeline = run_timeline(stored, await service.store.events(run["id"]))
    assert [r for _, r in timeline.values() if r] == [reason]
    await service.store.merge_extra(run["id"], {"queue_reason": None})
    body = await (await client.get(f"/localrun/v1/runs/{run['id']}", headers=auth)).json()
    assert body["queue_reason"] is None
