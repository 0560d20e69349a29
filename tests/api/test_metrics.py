"""GET /metrics: who may read it, and that it parses and moves as runs start and end."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from unittest import mock

import aiohttp
from aiohttp.test_utils import TestClient, make_mocked_request
from prometheus_client.parser import text_string_to_metric_families

from localrun.api.keys import SERVICE
from localrun.api.metrics.views import allowed
from localrun.app import init_app
from tests.conftest import EXAMPLE, make_settings

Client = TestClient[Any, Any]
TERMINAL = ("succeeded", "failed", "cancelled", "lost", "timed_out")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(client: Client) -> dict[Any, float]:
    resp = await client.get("/metrics")
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "text/plain"
    return samples(await resp.text())


async def start_example(
    client: Client, auth: dict[str, str], name: str, namelist_extra: str = ""
) -> str:
    resp = await client.post("/localrun/v1/runs", json={"name": name}, headers=auth)
    run_id: str = (await resp.json())["id"]
    data = aiohttp.FormData()
    namelist = (EXAMPLE / "namelist.input").read_text() + namelist_extra
    data.add_field("file", namelist.encode(), filename="namelist.input")
    data.add_field("file", (EXAMPLE / "wrfinput_d01").read_bytes(), filename="wrfinput_d01")
    url = f"/localrun/v1/runs/{run_id}"
    assert (await client.post(url + "/inputs", data=data, headers=auth)).status == 201
    assert (await client.post(url + "/start", json={"cores": 2}, headers=auth)).status == 202
    return run_id


async def state_of(client: Client, auth: dict[str, str], run_id: str) -> str:
    resp = await client.get(f"/localrun/v1/runs/{run_id}", headers=auth)
    state: str = (await resp.json())["state"]
    return state


async def test_counters_move_as_a_run_starts_and_ends(client: Client, auth: dict[str, str]) -> None:
    before = await scrape(client)
    assert value(before, "localrun_launches_total", family="localrun") == 0
    assert (
        value(
            before,
            "localrun_cores",
        )
        == 2
    )
    assert value(before, "localrun_cores_free") == 2
    run_id = await start_example(client, auth, "metrics")
    for _ in range(300):
        during = await scrape(client)
        if value(during, "localrun_runs_running") == 1:
            break
        await asyncio.sleep(0.1)
    assert value(during, "localrun_runs", state="running", family="localrun") == 1
    assert value(during, "localrun_cores_in_use") == 2
    assert value(during, "localrun_cores_free") == 0
    assert value(during, "localrun_launches_total", family="localrun") == 1
    for _ in range(600):
        if await state_of(client, auth, run_id) in TERMINAL:
            break
        await asyncio.sleep(0.1)
    after = await scrape(client)
    assert value(after, "localrun_runs", state="succeeded", family="localrun") == 1
    assert value(after, "localrun_runs_running") == 0
    assert value(after, "localrun_run_duration_seconds_count", outcome="succeeded") == 1
    assert value(after, "localrun_run_duration_seconds_sum", outcome="succeeded") > 0
    assert value(after, "localrun_store_bytes") > 0
    assert value(after, "localrun_supervisor_tick_seconds_count") > 0
    route = "/localrun/v1/runs/{id}"
    got = value(
        after,
        "localrun_http_requests_total",
        family="native",
        route=route,
        method="GET",
        status="200",
    )
    assert got >= 2
    assert (
        value(after, "localrun_http_request_duration_seconds_count", family="native", route=route)
        == got
    )


async def test_a_failure_is_counted_by_its_diagnosis_code(
    client: Client, auth: dict[str, str]
) -> None:
    resp = await client.post("/localrun/v1/runs", json={"name": "fails"}, headers=auth)
    run_id = (await resp.json())["id"]
    namelist = (EXAMPLE / "namelist.input").read_text()
    namelist += "\n&localrun_simulator\n fail_at_percent = 30,\n/\n"
    data = aiohttp.FormData()
    data.add_field("file", namelist.encode(), filename="namelist.input")
    data.add_field("file", (EXAMPLE / "wrfinput_d01").read_bytes(), filename="wrfinput_d01")
    url = f"/localrun/v1/runs/{run_id}"
    assert (await client.post(url + "/inputs", data=data, headers=auth)).status == 201
    started = await client.post(url + "/start", json={"cores": 2}, headers=auth)
    assert started.status == 202, await started.text()
    for _ in range(600):
        if await state_of(client, auth, run_id) in TERMINAL:
            break
        await asyncio.sleep(0.1)
    run = await (await client.get(url, headers=auth)).json()
    assert run["state"] == "failed", run
    found = await scrape(client)
    assert value(found, "localrun_failures_total", code=run["error"]["code"]) == 1


async def test_a_restart_counts_the_runs_it_adopts(aiohttp_client: Any, tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    first = await aiohttp_client(init_app(settings))
    auth = {"Authorization": f"Bearer {await first.app[SERVICE].create_token('alice')}"}
    assert value(await scrape(first), "localrun_adoptions_total") == 0
    slow = "\n&localrun_simulator\n speed = 0.2,\n/\n"
    run_id = await start_example(first, auth, "adopted", slow)
    for _ in range(300):
        if await state_of(first, auth, run_id) == "running":
            break
        await asyncio.sleep(0.1)
    assert await state_of(first, auth, run_id) == "running"
    await first.close()  # the daemon stops; its run goes on
    second = await aiohttp_client(init_app(settings))
    found = await scrape(second)
    assert value(found, "localrun_adoptions_total") == 1
    assert value(found, "localrun_runs_running") == 1
    url = f"/localrun/v1/runs/{run_id}"
    assert (await second.post(url + "/stop", headers=auth)).status == 202
    for _ in range(300):
        if await state_of(second, auth, run_id) in TERMINAL:
            break
        await asyncio.sleep(0.1)
    assert await state_of(second, auth, run_id) == "cancelled"
    assert value(await scrape(second), "localrun_adoptions_total") == 1


async def test_unknown_paths_are_one_label_not_one_per_path(client: Client) -> None:
    for n in range(3):
        assert (await client.get(f"/no/such/{n}")).status == 404
    found = await scrape(client)
    labels = {k[1] for k in found if k[0] == "localrun_http_requests_total"}
    unmatched = [dict(lab) for lab in labels if dict(lab)["route"] == "unmatched"]
    assert unmatched == [
        {"family": "other", "route": "unmatched", "method": "GET", "status": "404"}
    ]
    assert value(found, "localrun_http_requests_total", **unmatched[0]) == 3


async def test_a_metrics_token_is_required_when_set(aiohttp_client: Any, tmp_path: Path) -> None:
    client = await aiohttp_client(init_app(make_settings(tmp_path, metrics_token="s3cret")))
    assert (await client.get("/metrics")).status == 403
    bad = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert bad.status == 403 and (await bad.json())["error"]["code"] == "forbidden"
    good = await client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert good.status == 200 and "localrun_runs_queued" in await good.text()


def remote_request(address: str, headers: dict[str, str] | None = None) -> Any:
    transport = mock.Mock()
    transport.get_extra_info.return_value = (address, 40000)
    return make_mocked_request("GET", "/metrics", headers=headers, transport=transport)


def test_without_a_token_only_loopback_may_read() -> None:
    assert allowed(remote_request("127.0.0.1"), "")
    assert allowed(remote_request("::1"), "")
    assert not allowed(remote_request("192.168.1.20"), "")
    assert not allowed(remote_request("not an address"), "")
    assert not allowed(remote_request("127.0.0.1"), "tok")
    assert allowed(remote_request("192.168.1.20", {"Authorization": "Bearer tok"}), "tok")
