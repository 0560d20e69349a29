"""What the web tests share: logging in through the form, and starting the example case."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from tests.conftest import EXAMPLE

Client = TestClient[Any, Any]
TERMINAL = ("succeeded", "failed", "cancelled", "lost", "timed_out")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


async def page_csrf(client: Client, path: str = "/") -> str:
    resp = await client.get(path)
    return csrf_of(await resp.text())


async def log_in(client: Client, token: str) -> None:
    csrf = await page_csrf(client)
    resp = await client.post(
        "/ui/login", data={"token": token, "csrf": csrf}, allow_redirects=False
    )
    assert resp.status == 303, await resp.text()
    assert resp.headers["Location"] == "/"


async def create(client: Client, token: str, name: str) -> str:
    auth = {"Authorization": f"Bearer {token}"}
    resp = await client.post("/localrun/v1/runs", json={"name": name}, headers=auth)
    assert resp.status == 201, await resp.text()
    run_id: str = (await resp.json())["id"]
    return run_id


async def start_example(client: Client, token: str, name: str, namelist_extra: str = "") -> str:
    auth = {"Authorization": f"Bearer {token}"}
    run_id = await create(client, token, name)
    data = aiohttp.FormData()
    namelist = (EXAMPLE / "namelist.input").read_text() + namelist_extra
    data.add_field("file", namelist.encode(), filename="namelist.input")
    data.add_field("file", (EXAMPLE / "wrfinput_d01").read_bytes(), filename="wrfinput_d01")
    url = f"/localrun/v1/runs/{run_id}"
    assert (await client.post(url + "/inputs", data=data, headers=auth)).status == 201
    started = await client.post(url + "/start", json={"cores": 2}, headers=auth)
    assert started.status == 202, await started.text()
    return run_id


async def run_state(client: Client, token: str, run_id: str) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {token}"}
    resp = await client.get(f"/localrun/v1/runs/{run_id}", headers=auth)
    body: dict[str, Any] = await resp.json()
    return body


async def wait_state(
    client: Client, token: str, run_id: str, states: tuple[str, ...] = TERMINAL
) -> dict[str, Any]:
    for _ in range(900):
        run = await run_state(client, token, run_id)
        if run["state"] in states:
            return run
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {run_id} never reached {states}: {run}")
