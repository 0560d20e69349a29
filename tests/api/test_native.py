from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
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


# PUT /runs/{id}/inputs/{name}: a file's bytes as the body


def input_names(service: Service, run_id: str) -> list[str]:
    return sorted(p.name for p in service.paths(run_id).input.iterdir())


async def test_put_stores_the_body_as_the_file_and_makes_the_run_ready(
    client: Client, auth: dict[str, str], service: Service
) -> None:
    run = await create(client, auth)
    url = f"/localrun/v1/runs/{run['id']}/inputs"
    namelist = (EXAMPLE / "namelist.input").read_bytes()
    resp = await client.put(f"{url}/namelist.input", data=namelist, headers=auth)
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    md5 = hashlib.md5(namelist).hexdigest()
    assert body["files"] == [{"name": "namelist.input", "size": len(namelist), "md5": md5}]
    assert body["run"]["missing_inputs"] == ["wrfinput_d01"]

    async def pieces() -> AsyncIterator[bytes]:  # chunked: no Content-Length
        data = (EXAMPLE / "wrfinput_d01").read_bytes()
        for start in range(0, len(data), 1000):
            yield data[start : start + 1000]

    resp = await client.put(f"{url}/wrfinput_d01", data=pieces(), headers=auth)
    body = await resp.json()
    assert resp.status == 201 and body["run"]["state"] == "ready"
    stored = service.paths(run["id"]).input / "wrfinput_d01"
    assert stored.read_bytes() == (EXAMPLE / "wrfinput_d01").read_bytes()
    assert body["files"][0]["md5"] == hashlib.md5(stored.read_bytes()).hexdigest()
    assert input_names(service, run["id"]) == ["namelist.input", "wrfinput_d01"]
    again = await client.put(f"{url}/namelist.input", data=namelist + b"\n", headers=auth)
    assert (await again.json())["files"][0]["size"] == len(namelist) + 1  # replaced
    other = {"Authorization": f"Bearer {await service.create_token('bob')}"}
    await assert_error(await client.put(f"{url}/x", data=b"x", headers=other), 404)
    await assert_error(await client.put(f"{url}/x", data=b"x"), 401)


async def test_put_refuses_bad_names_and_started_runs_leaving_nothing(
    client: Client, auth: dict[str, str], service: Service
) -> None:
    run = await create(client, auth)
    url = f"/localrun/v1/runs/{run['id']}/inputs"
    for bad in ("a%5Cb", "x%00y", "n" * 256):
        await assert_error(await client.put(f"{url}/{bad}", data=b"x", headers=auth), 400)
    resp = await client.put(f"{url}/namelist.input", data=b"&time_control\n/\n", headers=auth)
    await assert_error(resp, 400, "namelist")
    assert input_names(service, run["id"]) == []
    for name in ("namelist.input", "wrfinput_d01"):
        data = (EXAMPLE / name).read_bytes()
        assert (await client.put(f"{url}/{name}", data=data, headers=auth)).status == 201
    start = await client.post(f"/localrun/v1/runs/{run['id']}/start", json={}, headers=auth)
    assert start.status == 202
    await assert_error(await client.put(f"{url}/late", data=b"x", headers=auth), 409)
    await assert_error(await client.post(url, data=form("namelist.input"), headers=auth), 409)
    assert input_names(service, run["id"]) == ["namelist.input", "wrfinput_d01"]


async def test_an_upload_never_lands_in_a_run_that_started_meanwhile(
    client: Client, auth: dict[str, str], service: Service
) -> None:
    """The run starts while the body is still coming: the upload is refused at its end (the
    run's lock) and its part file removed."""
    run = await create(client, auth)
    url = f"/localrun/v1/runs/{run['id']}/inputs"
    for name in ("namelist.input", "wrfinput_d01"):
        data = (EXAMPLE / name).read_bytes()
        assert (await client.put(f"{url}/{name}", data=data, headers=auth)).status == 201
    go = asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        yield b"x" * 100_000
        await go.wait()
        yield b"y" * 100_000

    upload = asyncio.create_task(client.put(f"{url}/extra.bin", data=slow(), headers=auth))
    await wait_for(lambda: any(n.startswith(".upload-") for n in input_names(service, run["id"])))
    start = await client.post(f"/localrun/v1/runs/{run['id']}/start", json={}, headers=auth)
    assert start.status == 202
    go.set()
    await assert_error(await upload, 409, "conflict")
    assert input_names(service, run["id"]) == ["namelist.input", "wrfinput_d01"]


async def test_put_too_large_is_413_before_the_body_and_leaves_nothing(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    app = init_app(make_settings(tmp_path / "d", max_upload_bytes=1000))
    client = await aiohttp_client(app)
    auth = {"Authorization": f"Bearer {await app[SERVICE].create_token('a')}"}
    run = await create(client, auth)
    url = f"/localrun/v1/runs/{run['id']}/inputs/big"
    message = await assert_error(await client.put(url, data=b"x" * 5000, headers=auth), 413)
    assert "5000 bytes exceeds the limit of 1000" in message

    async def pieces() -> AsyncIterator[bytes]:  # chunked: found too large on the way
        for _ in range(10):
            yield b"x" * 400

    await assert_error(await client.put(url, data=pieces(), headers=auth), 413, "too_large")
    assert (await client.put(url, data=b"x" * 1000, headers=auth)).status == 201
    assert input_names(app[SERVICE], run["id"]) == ["big"]


async def send_cut_short(client: Client, head: str, body: bytes) -> bytes:
    """A request whose body ends before its Content-Length: the socket's write side closed."""
    assert client.server.host is not None and client.server.port is not None
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(head.encode() + b"\r\n" + body)
    await writer.drain()
    writer.write_eof()
    answer = await reader.read()
    writer.close()
    return answer


async def test_a_body_cut_short_stores_nothing(
    client: Client, auth: dict[str, str], service: Service
) -> None:
    run = await create(client, auth)
    path = f"/localrun/v1/runs/{run['id']}/inputs"
    common = f"Host: x\r\nAuthorization: {auth['Authorization']}\r\nContent-Length: 100000\r\n"
    answer = await send_cut_short(client, f"PUT {path}/f.bin HTTP/1.1\r\n{common}", b"x" * 5000)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 400"), answer[:200]
    multipart = f"POST {path} HTTP/1.1\r\n{common}Content-Type: multipart/form-data; boundary=B\r\n"
    part = b'--B\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n\r\n'
    answer = await send_cut_short(client, multipart, part + b"x" * 5000)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 400"), answer[:200]
    await wait_for(lambda: input_names(service, run["id"]) == [])
    assert (await client.get(f"/localrun/v1/runs/{run['id']}", headers=auth)).status == 200


async def test_malformed_multipart_is_400_and_leaves_nothing(
    client: Client, auth: dict[str, str], service: Service
) -> None:
    run = await create(client, auth)
    url = f"/localrun/v1/runs/{run['id']}/inputs"
    part = b'--B\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n\r\n'
    for body, words in (
        (part + b"x" * 300_000, "the body ends inside a part"),
        (b"x" * 100, "before the first boundary"),
        (b"--B\r\nbroken header\r\n\r\nx\r\n--B--\r\n", "a part's header"),
        (b"--B--\r\n", "the upload holds no file"),
    ):
        headers = {**auth, "Content-Type": "multipart/form-data; boundary=B"}
        message = await assert_error(await client.post(url, data=body, headers=headers), 400)
        assert words in message
    message = await assert_error(await client.post(url, data=b"x", headers=auth), 400)
    assert "PUT each file's bytes" in message
    assert input_names(service, run["id"]) == []


async def wait_for(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
