"""Cloudrun's /v1 API in-loop: the Run object's formats, auth, errors and every endpoint."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from yarl import URL

from localrun.api.cloudrun.shapes import STATUS
from localrun.config import Settings
from localrun.runs import State
from localrun.service import Service
from tests.api.cloudrun_client import check_run
from tests.conftest import EXAMPLE, free_port, make_settings
from tests.polling import eventually

Client = TestClient[Any, Any]
FINAL = ("done", "error", "stopped")


async def assert_error(resp: aiohttp.ClientResponse, status: int) -> str:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert set(body) == {"status", "message"}
    assert body["status"] == status
    assert body["message"]
    message: str = body["message"]
    return message


async def create(client: Client, auth: dict[str, str], **fields: str) -> dict[str, Any]:
    resp = await client.post(
        "/v1/runs", data={"model": "wrf", "version": "4.5", **fields}, headers=auth
    )
    assert resp.status == 201, await resp.text()
    return check_run(await resp.json())


async def get(client: Client, auth: dict[str, str], run_id: str) -> dict[str, Any]:
    resp = await client.get(f"/v1/runs/{run_id}", headers=auth)
    assert resp.status == 200, await resp.text()
    return check_run(await resp.json())


def file_form(name: str, content: bytes | None = None) -> aiohttp.FormData:
    data = aiohttp.FormData()
    body = (EXAMPLE / name).read_bytes() if content is None else content
    data.add_field("file", body, filename=name, content_type="application/octet-stream")
    return data


async def upload(
    client: Client, auth: dict[str, str], run_id: str, name: str, content: bytes | None = None
) -> aiohttp.ClientResponse:
    headers = {**auth, "Origin": "cloudrun.co"}
    return await client.post(
        f"/v1/runs/{run_id}/input", data=file_form(name, content), headers=headers
    )


def namelist(minutes: int = 30, extra: str = "") -> bytes:
    """The example case, run for `minutes` of model time, with extra groups appended."""
    lines = []
    for line in (EXAMPLE / "namelist.input").read_text().splitlines():
        if line.strip().split("=")[0].strip().lower() == "run_minutes":
            line = f" run_minutes = {minutes},"
        lines.append(line)
    return ("\n".join(lines) + "\n" + extra).encode()


async def ready_run(
    client: Client, auth: dict[str, str], namelist_text: bytes | None = None
) -> dict[str, Any]:
    run = await create(client, auth)
    assert (await upload(client, auth, run["id"], "namelist.input", namelist_text)).status == 200
    assert (await upload(client, auth, run["id"], "wrfinput_d01")).status == 200
    run = await get(client, auth, run["id"])
    assert run["status"] == "ready"
    return run


async def wait_status(
    client: Client, auth: dict[str, str], run_id: str, wanted: tuple[str, ...], within: float = 60
) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        run = await get(client, auth, run_id)
        return run if run["status"] in wanted else None

    found: dict[str, Any] = await eventually(reached, timeout=within)
    return found


def patch(option_id: str) -> list[dict[str, Any]]:
    value = {"compute_option_id": option_id}
    return [{"op": "replace", "path": "/selected_compute_option", "value": value}]


def option_for(run: dict[str, Any], cores: int) -> str:
    found: str = next(o for o in run["compute_options"] if o["cores"] == cores)["compute_option_id"]
    return found


async def finished_run(client: Client, auth: dict[str, str]) -> dict[str, Any]:
    run = await ready_run(client, auth)
    resp = await client.post(f"/v1/runs/{run['id']}/start", data={"cores": "2"}, headers=auth)
    assert resp.status == 200, await resp.text()
    run = await wait_status(client, auth, run["id"], FINAL)
    assert run["status"] == "done", run
    return run


# the Run object


async def test_create_answers_a_full_run_in_the_client_formats(
    client: Client, auth: dict[str, str]
) -> None:
    run = await create(client, auth)
    assert run["status"] == "created"
    assert run["model"] == "wrf" and run["version"] == "4.5"
    assert run["compute_options"] == [] and run["selected_compute_option"] == {}
    assert run["compute_config"] == {}
    assert run["required_input_files"] == ["namelist.input"]
    assert run["input_files"] == [] and run["output_files"] == []
    assert run["percent_complete"] == 0.0 and run["remaining_time"] is None
    assert run["time_started"] is None and run["time_stopped"] is None
    assert run["run_name"] is None and run["error"] is None
    assert run["time_created"].endswith("Z") and len(run["time_created"]) == 27
    assert await get(client, auth, run["id"]) == run
    named = await create(client, auth, run_name="storm")
    assert named["run_name"] == "storm"


async def test_create_takes_a_multipart_form_and_refuses_other_models(
    client: Client, auth: dict[str, str]
) -> None:
    data = aiohttp.FormData()
    data.add_field("model", "WRF")
    data.add_field("version", "3.9.1")
    resp = await client.post("/v1/runs", data=data(), headers=auth)
    assert resp.status == 201
    assert check_run(await resp.json())["version"] == "3.9.1"
    resp = await client.post("/v1/runs", data={"model": "mpas"}, headers=auth)
    assert "wrf" in await assert_error(resp, 400)


async def test_create_refuses_what_is_not_a_run_form_and_stores_nothing(
    client: Client, auth: dict[str, str], service: Service
) -> None:
    resp = await client.post("/v1/runs", data={"modle": "wrf"}, headers=auth)
    assert "unknown form field 'modle'" in await assert_error(resp, 400)
    resp = await client.post("/v1/runs", data=b"a" * 100, headers=auth)
    assert "application/octet-stream body is not a form" in await assert_error(resp, 400)
    form_type = {**auth, "Content-Type": "application/x-www-form-urlencoded"}
    resp = await client.post("/v1/runs", data=b"a" * (2 << 20), headers=form_type)
    await assert_error(resp, 413)
    assert await service.count_runs("alice") == 0


def test_every_internal_state_has_a_cloudrun_status() -> None:
    assert set(STATUS) == set(list(State))
    assert STATUS[State.QUEUED] == STATUS[State.STARTING] == "starting"
    assert STATUS[State.RUNNING] == "active"
    assert {STATUS[s] for s in (State.FAILED, State.TIMED_OUT, State.LOST)} == {"error"}


async def test_a_failed_run_carries_an_error_object_with_its_diagnosis(
    client: Client, auth: dict[str, str], service: Service
) -> None:
    run = await create(client, auth)
    await service.store.transition(
        run["id"],
        [State.CREATED],
        State.FAILED,
        "failed",
        error_code="cfl",
        error_message="WRF stopped: 7 points exceeded the CFL limit",
        error_hint="reduce time_step",
    )
    failed = await get(client, auth, run["id"])
    assert failed["status"] == "error"
    assert failed["error"] == {
        "status": "cfl",
        "message": "WRF stopped: 7 points exceeded the CFL limit (reduce time_step)",
    }
    assert failed["time_stopped"] is not None and failed["remaining_time"] is None


async def test_a_simulated_wrf_failure_is_status_error_with_the_logs_message(
    client: Client, auth: dict[str, str]
) -> None:
    text = namelist(30, "&localrun_simulator\n fail_at_percent = 40\n/\n")
    run = await ready_run(client, auth, text)
    resp = await client.post(f"/v1/runs/{run['id']}/start", data={"cores": "1"}, headers=auth)
    assert resp.status == 200, await resp.text()
    run = await wait_status(client, auth, run["id"], FINAL)
    assert run["status"] == "error"
    assert run["error"]["message"] and run["error"]["status"]
    assert 0 < run["percent_complete"] < 100


# auth and errors


async def test_bad_or_missing_token_is_403_json(client: Client, token: str) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": f"Token {token}"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer nope|" + token},
    ):
        await assert_error(await client.get("/v1/runs", headers=headers), 403)
        await assert_error(await client.post("/v1/runs", data={}, headers=headers), 403)


async def test_a_token_may_carry_a_user_id_after_a_bar(client: Client, token: str) -> None:
    run = await create(client, {"Authorization": f"Bearer {token}|user-42"})
    assert (await get(client, {"Authorization": f"Bearer {token}"}, run["id"]))["id"] == run["id"]


async def test_another_owners_run_is_404_everywhere(
    client: Client, auth: dict[str, str], service: Service
) -> None:
    run = await ready_run(client, auth)
    other = {"Authorization": f"Bearer {await service.create_token('bob')}"}
    base = f"/v1/runs/{run['id']}"
    await assert_error(await client.get(base, headers=other), 404)
    await assert_error(await client.delete(base, headers=other), 404)
    await assert_error(await client.patch(base, json=[], headers=other), 404)
    await assert_error(await client.post(base + "/start", headers=other), 404)
    await assert_error(await client.post(base + "/stop", headers=other), 404)
    resp = await client.post(base + "/input", data=file_form("namelist.input"), headers=other)
    await assert_error(resp, 404)
    await assert_error(await client.get(base + "/output/fields/t2", headers=other), 404)
    body = await (await client.get("/v1/runs", headers=other)).json()
    assert body["runs"] == [] and body["count"] == 0


async def test_unknown_paths_methods_and_bodies_answer_in_cloudrun_shape(
    client: Client, auth: dict[str, str]
) -> None:
    await assert_error(await client.get("/v1/runs/nope", headers=auth), 404)
    await assert_error(await client.get("/v1/nothing", headers=auth), 404)
    await assert_error(await client.put("/v1/runs", headers=auth), 405)
    run = await create(client, auth)
    resp = await client.patch(
        f"/v1/runs/{run['id']}",
        data=b"[{not json",
        headers={**auth, "Content-Type": "application/json"},
    )
    await assert_error(resp, 400)


async def test_every_path_answers_with_and_without_a_trailing_slash(
    client: Client, auth: dict[str, str]
) -> None:
    resp = await client.post(
        "/v1/runs/", data={"model": "wrf"}, headers=auth, allow_redirects=False
    )
    assert resp.status == 201
    run = check_run(await resp.json())
    for path in ("/v1/runs/", f"/v1/runs/{run['id']}/", f"/v1/runs/{run['id']}"):
        resp = await client.get(path, headers=auth, allow_redirects=False)
        assert resp.status == 200, path
    resp = await client.post(
        f"/v1/runs/{run['id']}/input/", data=file_form("namelist.input"), headers=auth
    )
    assert resp.status == 200
    routes = {
        r.resource.canonical
        for r in client.app.router.routes()
        if r.resource is not None and r.resource.canonical.startswith("/v1/")
    }
    assert routes, "no Cloudrun routes"
    for path in routes:
        twin = path[:-1] if path.endswith("/") else path + "/"
        assert twin in routes, f"{path} has no twin {twin}"


# uploads


async def test_upload_answers_exactly_200_with_the_file_and_fills_the_run(
    client: Client, auth: dict[str, str]
) -> None:
    run = await create(client, auth)
    resp = await upload(client, auth, run["id"], "namelist.input")
    assert resp.status == 200
    body = await resp.json()
    size = (EXAMPLE / "namelist.input").stat().st_size
    assert body == {"file": {"id": body["file"]["id"], "name": "namelist.input", "size": size}}
    assert isinstance(body["file"]["id"], str)
    run = await get(client, auth, run["id"])
    assert run["status"] == "created"
    assert run["input_files"] == [
        {"fileid": body["file"]["id"], "filename": "namelist.input", "size": size}
    ]
    assert run["required_input_files"] == ["namelist.input", "wrfinput_d01"]
    assert [o["cores"] for o in run["compute_options"]] == [1, 2]
    assert len({o["compute_option_id"] for o in run["compute_options"]}) == 2
    assert all(o["time"] > 0 for o in run["compute_options"])
    assert run["disk_usage"] >= size
    assert (await upload(client, auth, run["id"], "wrfinput_d01")).status == 200
    run = await get(client, auth, run["id"])
    assert run["status"] == "ready"
    assert [f["filename"] for f in run["input_files"]] == ["namelist.input", "wrfinput_d01"]
    assert run["disk_usage"] >= size + (EXAMPLE / "wrfinput_d01").stat().st_size


async def test_compute_options_follow_a_replaced_namelist(
    client: Client, auth: dict[str, str]
) -> None:
    run = await ready_run(client, auth)
    first = run["compute_options"]
    assert (await upload(client, auth, run["id"], "namelist.input", namelist(240))).status == 200
    run = await get(client, auth, run["id"])
    assert [o["compute_option_id"] for o in run["compute_options"]] == [
        o["compute_option_id"] for o in first
    ]
    assert run["compute_options"][0]["time"] > first[0]["time"]


async def test_upload_errors_are_clear_4xx(client: Client, auth: dict[str, str]) -> None:
    run = await create(client, auth)
    url = f"/v1/runs/{run['id']}/input"
    await assert_error(await client.post(url, headers=auth), 400)
    await assert_error(await client.post(url, data={"other": "x"}, headers=auth), 400)
    resp = await upload(client, auth, run["id"], "namelist.input", b"&time_control\n/\n")
    assert "namelist" in await assert_error(resp, 400)
    raw = (
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="../evil"\r\n\r\n'
        b"x\r\n--B--\r\n"
    )
    headers = {**auth, "Content-Type": "multipart/form-data; boundary=B"}
    await assert_error(await client.post(url, data=raw, headers=headers), 400)
    data = aiohttp.FormData()
    data.add_field("surprise", "x")
    data.add_field("file", b"x", filename="a.txt")
    await assert_error(await client.post(url, data=data, headers=auth), 400)


async def test_upload_after_start_is_409(client: Client, auth: dict[str, str]) -> None:
    run = await finished_run(client, auth)
    await assert_error(await upload(client, auth, run["id"], "namelist.input"), 409)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The module's inputs by URL come from a server on loopback."""
    return make_settings(tmp_path / "data", fetch_private_addresses=True)


@pytest.fixture
async def web_files(aiohttp_server: Any) -> str:
    async def namelist_file(request: web.Request) -> web.Response:
        return web.Response(body=(EXAMPLE / "namelist.input").read_bytes())

    app = web.Application()
    app.router.add_get("/cases/namelist.input", namelist_file)
    server = await aiohttp_server(app)
    return f"http://127.0.0.1:{server.port}"


async def test_upload_by_http_url_streams_the_file_in(
    client: Client, auth: dict[str, str], web_files: str, service: Service
) -> None:
    run = await create(client, auth)
    url = f"/v1/runs/{run['id']}/input"
    resp = await client.post(url, data={"url": web_files + "/cases/namelist.input"}, headers=auth)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["file"]["name"] == "namelist.input"
    stored = service.paths(run["id"]).input / "namelist.input"
    assert stored.read_bytes() == (EXAMPLE / "namelist.input").read_bytes()
    data = aiohttp.FormData()
    data.add_field("url", web_files + "/cases/namelist.input")
    data.add_field("name", "copy.input")
    resp = await client.post(url, data=data, headers=auth)
    assert resp.status == 200 and (await resp.json())["file"]["name"] == "copy.input"
    run = await get(client, auth, run["id"])
    assert [o["cores"] for o in run["compute_options"]] == [1, 2]


async def test_upload_by_url_that_cannot_be_fetched_is_400(
    client: Client, auth: dict[str, str], web_files: str, service: Service
) -> None:
    run = await create(client, auth)
    url = f"/v1/runs/{run['id']}/input"
    for source, words in (
        (web_files + "/cases/absent.input", "HTTP 404"),
        (f"http://127.0.0.1:{free_port()}/namelist.input", "cannot fetch"),
        ("ftp://example.org/namelist.input", "http"),
        ("file:///etc/passwd", "turned off"),
    ):
        resp = await client.post(url, data={"url": source}, headers=auth)
        assert words in await assert_error(resp, 400), source
    assert list(service.paths(run["id"]).input.iterdir()) == []


async def test_upload_by_file_url_only_under_an_allowed_directory(
    client: Client, auth: dict[str, str], service: Service, tmp_path: Path
) -> None:
    allowed = tmp_path / "cases"
    allowed.mkdir()
    (allowed / "namelist.input").write_bytes((EXAMPLE / "namelist.input").read_bytes())
    (allowed / "escape").symlink_to("/etc/passwd")
    (tmp_path / "secret").write_text("no")
    service.settings = replace(service.settings, input_url_dirs=f"/nonexistent, {allowed}")
    run = await create(client, auth)
    url = f"/v1/runs/{run['id']}/input"
    resp = await client.post(url, data={"url": (allowed / "namelist.input").as_uri()}, headers=auth)
    assert resp.status == 200, await resp.text()
    for source in (
        (allowed / "escape").as_uri(),
        (tmp_path / "secret").as_uri(),
        f"file://{allowed}/../secret",
        (allowed / "absent").as_uri(),
    ):
        resp = await client.post(url, data={"url": source}, headers=auth)
        await assert_error(resp, 400)


# select, start, stop, delete


async def test_patch_selects_an_option_and_an_empty_start_uses_it(
    client: Client, auth: dict[str, str]
) -> None:
    run = await ready_run(client, auth)
    chosen = option_for(run, 1)
    resp = await client.patch(f"/v1/runs/{run['id']}", json=patch(chosen), headers=auth)
    assert resp.status == 200
    body = check_run(await resp.json())
    assert body["selected_compute_option"]["compute_option_id"] == chosen
    assert body["selected_compute_option"]["cores"] == 1
    resp = await client.post(f"/v1/runs/{run['id']}/start", headers=auth)
    assert resp.status == 200
    started = check_run(await resp.json())
    assert started["status"] in ("starting", "active")
    assert started["time_started"] is not None
    resp = await client.patch(f"/v1/runs/{run['id']}", json=patch(option_for(run, 2)), headers=auth)
    await assert_error(resp, 409)
    done = await wait_status(client, auth, run["id"], FINAL)
    assert done["status"] == "done"
    assert done["percent_complete"] == 100.0 and done["remaining_time"] == 0
    assert done["selected_compute_option"]["cores"] == 1


async def test_patch_errors(client: Client, auth: dict[str, str]) -> None:
    run = await create(client, auth)
    url = f"/v1/runs/{run['id']}"
    await assert_error(await client.patch(url, json=patch("x"), headers=auth), 409)
    assert (await upload(client, auth, run["id"], "namelist.input")).status == 200
    assert "not available" in await assert_error(
        await client.patch(url, json=patch("nope"), headers=auth), 400
    )
    bad_ops: list[Any] = [
        [{"op": "move", "path": "/selected_compute_option", "from": "/x"}],
        [{"op": "replace", "path": "/status", "value": "done"}],
        [{"path": "/run_name"}],
        "text",
    ]
    for ops in bad_ops:
        await assert_error(await client.patch(url, json=ops, headers=auth), 400)


async def test_patch_by_cores_renames_and_clears(client: Client, auth: dict[str, str]) -> None:
    run = await ready_run(client, auth)
    url = f"/v1/runs/{run['id']}"
    ops = [
        {"op": "replace", "path": "/selected_compute_option", "value": {"cores": 2}},
        {"op": "replace", "path": "/run_name", "value": "storm"},
    ]
    body = check_run(await (await client.patch(url, json=ops, headers=auth)).json())
    assert body["selected_compute_option"]["cores"] == 2 and body["run_name"] == "storm"
    ops = [{"op": "remove", "path": "/selected_compute_option"}]
    body = check_run(await (await client.patch(url, json=ops, headers=auth)).json())
    assert body["selected_compute_option"] == {}
    await assert_error(await client.post(url + "/start", headers=auth), 400)


async def test_start_by_form_option_through_the_wrf_alias(
    client: Client, auth: dict[str, str]
) -> None:
    run = await ready_run(client, auth)
    chosen = option_for(run, 2)
    resp = await client.post(
        f"/v1/wrf/{run['id']}/start", data={"selected_compute_option": chosen}, headers=auth
    )
    assert resp.status == 200, await resp.text()
    body = check_run(await resp.json())
    assert body["status"] in ("starting", "active")
    assert body["selected_compute_option"]["compute_option_id"] == chosen
    await wait_status(client, auth, run["id"], FINAL)


async def test_start_errors_are_clear_4xx(client: Client, auth: dict[str, str]) -> None:
    run = await create(client, auth)
    url = f"/v1/runs/{run['id']}/start"
    assert "namelist" in await assert_error(
        await client.post(url, data={"cores": "1"}, headers=auth), 409
    )
    assert (await upload(client, auth, run["id"], "namelist.input")).status == 200
    message = await assert_error(await client.post(url, data={"cores": "1"}, headers=auth), 409)
    assert "wrfinput_d01" in message
    assert (await upload(client, auth, run["id"], "wrfinput_d01")).status == 200
    message = await assert_error(await client.post(url, data={"cores": "7"}, headers=auth), 400)
    assert "7 cores" in message and "(2 cores)" in message
    await assert_error(await client.post(url, data={"cores": "two"}, headers=auth), 400)
    await assert_error(await client.post(url, headers=auth), 400)
    resp = await client.post(url, data={"selected_compute_option": "nope"}, headers=auth)
    await assert_error(resp, 400)
    assert (await get(client, auth, run["id"]))["status"] == "ready"


async def test_stop_an_active_run_and_refuse_one_never_started(
    client: Client, auth: dict[str, str]
) -> None:
    run = await ready_run(client, auth, namelist(600))
    url = f"/v1/runs/{run['id']}"
    await assert_error(await client.post(url + "/stop", headers=auth), 409)
    resp = await client.post(url + "/start", data={"cores": "2"}, headers=auth)
    assert resp.status == 200

    async def stepping() -> dict[str, Any] | None:
        run_now = await get(client, auth, run["id"])
        return run_now if run_now["percent_complete"] > 0 else None

    active = await eventually(stepping, timeout=60)
    assert active["status"] == "active"
    assert active["remaining_time"] is not None and active["remaining_time"] > 0
    resp = await client.post(url + "/stop", headers=auth)
    assert resp.status == 200
    check_run(await resp.json())
    stopped = await wait_status(client, auth, run["id"], FINAL)
    assert stopped["status"] == "stopped", stopped
    assert stopped["error"] is None and stopped["time_stopped"] is not None
    assert 0 < stopped["percent_complete"] < 100
    await assert_error(await client.post(url + "/stop", headers=auth), 409)


async def test_delete_removes_outputs_and_answers_the_full_run(
    client: Client, auth: dict[str, str]
) -> None:
    run = await finished_run(client, auth)
    assert any(f["filename"].startswith("wrfout_d01_") for f in run["output_files"])
    resp = await client.delete(f"/v1/runs/{run['id']}", headers=auth)
    assert resp.status == 200
    deleted = check_run(await resp.json())
    assert deleted["output_files"] == []
    assert deleted["status"] == "done"
    assert [f["filename"] for f in deleted["input_files"]] == ["namelist.input", "wrfinput_d01"]
    assert deleted["disk_usage"] < run["disk_usage"]
    assert (await get(client, auth, run["id"]))["output_files"] == []


# list


async def test_list_is_newest_first_and_paginated(client: Client, auth: dict[str, str]) -> None:
    ids = [(await create(client, auth))["id"] for _ in range(5)]
    seen: list[str] = []
    url: str | None = "/v1/runs?limit=2"
    while url:
        resp = await client.get(URL(url).path_qs, headers=auth)
        body = await resp.json()
        assert body["count"] == 5
        seen += [check_run(r)["id"] for r in body["runs"]]
        url = body["next"]
        assert url is None or URL(url).host == "127.0.0.1"
    assert seen == ids[::-1]
    await assert_error(await client.get("/v1/runs?limit=0", headers=auth), 400)
    await assert_error(await client.get("/v1/runs?cursor=x", headers=auth), 400)


# read_output


async def test_read_output_takes_a_form_body_on_a_get(client: Client, auth: dict[str, str]) -> None:
    run = await finished_run(client, auth)
    url = f"/v1/runs/{run['id']}/output/fields/t2"
    # what the client's strftime makes of year 1: no zero padding
    resp = await client.get(url, data={"time1": "1-01-01_00:10:00"}, headers=auth)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert set(body) == {"T2", "times", "data"}
    assert body["T2"]["units"] == "K"
    assert [datetime.strptime(t, "%Y-%m-%d_%H:%M:%S") for t in body["times"]] == [
        datetime(1, 1, 1, 0, 10)
    ]
    assert len(body["data"]) == 1 and len(body["data"][0]) == 61 and len(body["data"][0][0]) == 61
    both = {"time1": "0001-01-01_00:10:00", "time2": "0001-01-01_00:30:00"}
    body = await (await client.get(url, data=both, headers=auth)).json()
    assert body["times"] == [f"0001-01-01_00:{m}:00" for m in ("10", "20", "30")]
    body = await (await client.get(url, headers=auth)).json()
    assert len(body["times"]) == 4 and len(body["data"]) == 4


async def test_read_output_cuts_a_lon_lat_box(client: Client, auth: dict[str, str]) -> None:
    run = await finished_run(client, auth)
    url = f"/v1/runs/{run['id']}/output/fields/T2"
    lon = await (await client.get(f"/v1/runs/{run['id']}/output/fields/xlong", headers=auth)).json()
    lat = await (await client.get(f"/v1/runs/{run['id']}/output/fields/xlat", headers=auth)).json()
    lons, lats = lon["data"][0], lat["data"][0]
    lon1, lon2 = lons[20][10], lons[20][30]
    lat1, lat2 = lats[15][20], lats[40][20]
    box = {"time1": "0001-01-01_00:00:00", "lon1": lon1, "lon2": lon2, "lat1": lat1, "lat2": lat2}
    resp = await client.get(url, data={k: str(v) for k, v in box.items()}, headers=auth)
    assert resp.status == 200, await resp.text()
    data = (await resp.json())["data"][0]
    assert 20 <= len(data) <= 30 and 15 <= len(data[0]) <= 25
    resp = await client.get(url, data={"lon1": "170", "lon2": "171"}, headers=auth)
    assert "no grid point" in await assert_error(resp, 400)


async def test_read_output_errors(client: Client, auth: dict[str, str]) -> None:
    run = await ready_run(client, auth)
    url = f"/v1/runs/{run['id']}/output/fields/t2"
    await assert_error(await client.get(url, headers=auth), 404)
    run = await finished_run(client, auth)
    url = f"/v1/runs/{run['id']}/output/fields/"
    await assert_error(await client.get(url + "nope", headers=auth), 404)
    resp = await client.get(url + "t2", data={"time1": "2018-01-01_00:00:00"}, headers=auth)
    assert "0001-01-01_00:00:00" in await assert_error(resp, 404)
    await assert_error(await client.get(url + "t2", data={"time1": "soon"}, headers=auth), 400)
    await assert_error(await client.get(url + "t2", data={"lon1": "west"}, headers=auth), 400)
    times = {"time1": "0001-01-01_00:20:00", "time2": "0001-01-01_00:10:00"}
    await assert_error(await client.get(url + "t2", data=times, headers=auth), 400)


def test_a_box_with_one_bound_on_an_axis_reads_the_other_as_zero() -> None:
    from localrun.api.cloudrun.views import cloudrun_box

    box = cloudrun_box(-105.0, None, None, 30.0)
    assert box.ranges() == ((-105.0, 0.0), (0.0, 30.0))
    assert cloudrun_box(None, None, None, None).ranges() == (None, None)
    assert cloudrun_box(1.0, 2.0, 3.0, 4.0).ranges() == ((1.0, 3.0), (2.0, 4.0))
