"""Sharedcloud's accounts, functions and fixed listings, in-process (runs are in the flow
tests, against the real daemon)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from localrun.api.sharedcloud.shapes import PYTHON_IMAGE
from localrun.config import Settings
from localrun.runs import Run
from localrun.service import Service
from tests.conftest import make_settings
from tests.polling import eventually

DATE = re.compile(r"^\d\d-\d\d-\d{4} \d\d:\d\d:\d\d$")
CODE = "def handler(event):\n    return event\n"
Client = TestClient[Any, Any]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", open_signup=True)


async def signup(client: Client, username: str = "carol") -> str:
    made = await client.post(
        "/api/v1/users/",
        data={"username": username, "password": "long enough pw", "email": "c@example.org"},
    )
    assert made.status == 201, await made.text()
    assert set(await made.json()) >= {"uuid", "username", "email", "balance"}
    login = await client.post(
        "/api/v1/api-token-auth", data={"username": username, "password": "long enough pw"}
    )
    assert login.status == 200
    token: str = (await login.json())["token"]
    return token


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}


async def test_signup_account_update_and_delete(client: Client) -> None:
    token = await signup(client)
    [account] = await (await client.get("/api/v1/users/", headers=auth(token))).json()
    assert account["username"] == "carol" and account["balance"] == 0.0
    assert DATE.match(account["date_joined"]) and DATE.match(account["last_login"])
    assert DATE.match(account["current_server_time"])

    again = await client.post("/api/v1/users", data={"username": "carol", "password": "x" * 9})
    assert (again.status, await again.json()) == (
        400,
        {"username": ["A user with that username already exists."]},
    )
    short = await client.post("/api/v1/users", data={"username": "dan", "password": "short"})
    assert list(await short.json()) == ["password"]

    renamed = await client.patch(
        "/api/v1/users/account/",
        data={"email": "new@example.org", "username": "caroline"},
        headers=auth(token),
    )
    assert renamed.status == 200 and (await renamed.json())["username"] == "caroline"
    old_name = await client.post(
        "/api/v1/api-token-auth/", data={"username": "carol", "password": "long enough pw"}
    )
    assert old_name.status == 400
    taken = await client.post("/api/v1/users/", data={"username": "carol", "password": "x" * 9})
    assert taken.status == 400, "the old name still owns the account's runs"

    changed = await client.patch(
        "/api/v1/users/account", data={"password": "another long one"}, headers=auth(token)
    )
    assert changed.status == 200
    revoked = await client.get("/api/v1/users/", headers=auth(token))
    assert (revoked.status, await revoked.json()) == (401, {"detail": "Invalid token."})
    login = await client.post(
        "/api/v1/api-token-auth/", data={"username": "caroline", "password": "another long one"}
    )
    token = (await login.json())["token"]

    deleted = await client.delete("/api/v1/users/account/", headers=auth(token))
    assert deleted.status == 204
    gone = await client.get("/api/v1/users/", headers=auth(token))
    assert gone.status == 401


async def test_signup_cannot_take_a_name_that_owns_runs(client: Client, token: str) -> None:
    taken = await client.post("/api/v1/users/", data={"username": "alice", "password": "x" * 9})
    assert (taken.status, await taken.json()) == (
        400,
        {"username": ["A user with that username already exists."]},
    )


async def test_a_token_without_an_account_lists_none(client: Client, token: str) -> None:
    listed = await client.get("/api/v1/users/", headers=auth(token))
    assert (listed.status, await listed.json()) == (200, [])
    missing = await client.get("/api/v1/users/account/", headers=auth(token))
    assert (missing.status, await missing.json()) == (404, {"detail": "Not found."})


async def test_functions_crud(client: Client) -> None:
    token = await signup(client)
    made = await client.post(
        "/api/v1/functions/",
        data={"name": "echo", "image": PYTHON_IMAGE, "code": CODE},
        headers=auth(token),
    )
    assert made.status == 201
    function = await made.json()
    assert function["registry_path"] and function["num_runs"] == 0
    assert DATE.match(function["created_at"]) and function["code"] == CODE
    path = f"/api/v1/functions/{function['uuid']}"
    updated = await client.patch(
        path + "/", data={"name": "echo2", "code": CODE + "# more\n"}, headers=auth(token)
    )
    assert updated.status == 200 and (await updated.json())["name"] == "echo2"
    bad = await client.patch(path, data={"code": "def handler(:"}, headers=auth(token))
    assert bad.status == 400 and list(await bad.json()) == ["code"]
    assert (await (await client.get(path, headers=auth(token))).json())["name"] == "echo2"
    listed = await (await client.get("/api/v1/functions", headers=auth(token))).json()
    assert [f["uuid"] for f in listed] == [function["uuid"]]
    assert (await client.delete(path, headers=auth(token))).status == 204
    again = await client.delete(path, headers=auth(token))
    assert (again.status, await again.json()) == (404, {"detail": "Not found."})


async def test_images_gpus_offers(client: Client, token: str) -> None:
    [image] = await (await client.get("/api/v1/images/", headers=auth(token))).json()
    assert image["uuid"] == PYTHON_IMAGE and image["requires_gpu"] is False
    assert DATE.match(image["created_at"]) and DATE.match(image["current_server_time"])
    one = await client.get(f"/api/v1/images/{PYTHON_IMAGE}", headers=auth(token))
    assert one.status == 200
    for path in ("/api/v1/gpus", "/api/v1/gpus/", "/api/v1/offers/"):
        answer = await client.get(path, headers=auth(token))
        assert (answer.status, await answer.json()) == (200, [])


async def test_errors_are_drf_json(client: Client, token: str) -> None:
    put = await client.put("/api/v1/runs/", headers=auth(token))
    assert put.status == 405 and "detail" in await put.json()
    nowhere = await client.get("/api/v1/nothing-here/", headers=auth(token))
    assert (nowhere.status, await nowhere.json()) == (404, {"detail": "Not found."})
    text = await client.post(
        "/api/v1/runs/", data=b"x", headers={**auth(token), "Content-Type": "text/plain"}
    )
    assert text.status == 400 and "detail" in await text.json()


async def test_a_run_being_made_is_not_seen_until_it_is_whole(
    client: Client, service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its job row exists before its runs do; a DELETE that met it then made the POST fail
    with a 500 (its next run's INSERT named a job that was gone). It is 404 until made."""
    token = await signup(client)
    function = await (
        await client.post(
            "/api/v1/functions/",
            data={"name": "echo", "image": PYTHON_IMAGE, "code": CODE},
            headers=auth(token),
        )
    ).json()
    started = service.start
    gate = asyncio.Event()

    async def slow_start(owner: str, run_id: str) -> Run:
        await gate.wait()
        return await started(owner, run_id)

    monkeypatch.setattr(service, "start", slow_start)
    body = {"function": function["uuid"], "parameters": "((1,),(2,))", "bid_price": "1"}
    posting = asyncio.create_task(client.post("/api/v1/runs/", data=body, headers=auth(token)))
    [job] = await eventually(lambda: service.list_jobs("carol", "sharedcloud"), timeout=30)
    for method, path in (
        ("GET", f"/api/v1/runs/{job.id}/"),
        ("DELETE", f"/api/v1/runs/{job.id}/"),
    ):
        answer = await client.request(method, path, headers=auth(token))
        assert (answer.status, await answer.json()) == (404, {"detail": "Not found."})
    assert await (await client.get("/api/v1/runs/", headers=auth(token))).json() == []
    assert await (await client.get("/api/v1/jobs/", headers=auth(token))).json() == []
    gate.set()
    made = await posting
    assert made.status == 201 and (await made.json())["uuid"] == job.id
    [listed] = await (await client.get("/api/v1/runs/", headers=auth(token))).json()
    assert listed["uuid"] == job.id
    deleted = await client.delete(f"/api/v1/runs/{job.id}/", headers=auth(token))
    assert deleted.status == 204
