"""Cloudrun's /v1 answers against fixtures written from seed 000 and CLIENTS.md §A: every
endpoint the official client calls, the Run in each state it passes through, and the errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.api.test_cloudrun import file_form, namelist, option_for
from tests.parity.harness import MODULE, Answers, endpoints, started
from tests.polling import eventually

pytestmark = MODULE
FINAL = ("done", "error", "stopped")
ENDPOINTS = [
    "create",
    "get",
    "upload",
    "select_option",
    "start",
    "stop",
    "delete",
    "read_output",
    "error_403",
    "error_404",
    "error_400",
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def answers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Answers]:
    found = Answers()
    async with started(tmp_path_factory.mktemp("cloudrun")) as (client, service):
        auth = {"Authorization": f"Bearer {await service.create_token('alice')}|alice"}
        other = {"Authorization": f"Bearer {await service.create_token('bob')}"}

        async def get(run_id: str, what: str) -> Any:
            return await found.record(
                "get", what, await client.get(f"/v1/runs/{run_id}", headers=auth)
            )

        async def until(run_id: str, wanted: tuple[str, ...], what: str) -> Any:
            last: list[Any] = []

            async def reached() -> Any:
                run = await (await client.get(f"/v1/runs/{run_id}", headers=auth)).json()
                last[:] = [run["status"], run["error"]]
                assert run["status"] in wanted or run["status"] not in FINAL, (what, last)
                return run if run["status"] in wanted else None

            try:
                await eventually(reached, timeout=60)
            except AssertionError as exc:
                raise AssertionError(f"waiting for {what}: the run stayed {last}") from exc
            return await get(run_id, what)

        async def ready(minutes: int, extra: str = "") -> Any:
            made = await client.post(
                "/v1/runs", data={"model": "wrf", "version": "4.5"}, headers=auth
            )
            run = await found.record("create", "POST /v1/runs", made)
            await get(run["id"], "a created run")
            for name, content in (
                ("namelist.input", namelist(minutes, extra)),
                ("wrfinput_d01", None),
            ):
                sent = await client.post(
                    f"/v1/runs/{run['id']}/input",
                    data=file_form(name, content),
                    headers={**auth, "Origin": "cloudrun.co"},
                )
                await found.record("upload", f"upload {name}", sent)
            return await get(run["id"], "a ready run")

        run = await ready(10)
        patch = [
            {
                "op": "replace",
                "path": "/selected_compute_option",
                "value": {"compute_option_id": option_for(run, 2)},
            }
        ]
        base = f"/v1/runs/{run['id']}"
        await found.record(
            "select_option", "PATCH", await client.patch(base, json=patch, headers=auth)
        )
        await found.record(
            "start", "POST /start, no body", await client.post(base + "/start", headers=auth)
        )
        await until(run["id"], ("active", *FINAL), "a starting or active run")
        await until(run["id"], FINAL, "a done run")
        form = {"time1": "0001-01-01_00:10:00"}
        sliced = await client.get(base + "/output/fields/t2", data=form, headers=auth)
        await found.record("read_output", "GET output/fields/t2", sliced)

        second = await ready(600)
        base2 = f"/v1/runs/{second['id']}"
        started_run = await client.post(base2 + "/start", data={"cores": "1"}, headers=auth)
        await found.record("start", "POST /start cores=1", started_run)
        await until(second["id"], ("active",), "an active run")
        await found.record("stop", "POST /stop", await client.post(base2 + "/stop", headers=auth))
        await until(second["id"], ("stopped",), "a stopped run")
        await found.record("delete", "DELETE a done run", await client.delete(base, headers=auth))
        await found.record(
            "delete", "DELETE a stopped run", await client.delete(base2, headers=auth)
        )

        broken = await ready(10, "&localrun_simulator\n fail_at_percent = 40\n/\n")
        base3 = f"/v1/runs/{broken['id']}"
        await found.record(
            "start",
            "POST /start cores=1",
            await client.post(base3 + "/start", data={"cores": "1"}, headers=auth),
        )
        await until(broken["id"], FINAL, "a run WRF failed in")

        for what, headers in (
            ("no token", {}),
            ("a wrong token", {"Authorization": "Bearer nope"}),
        ):
            await found.record("error_403", what, await client.get(base, headers=headers))
        await found.record(
            "error_404", "an unknown run", await client.get("/v1/runs/nope", headers=auth)
        )
        await found.record(
            "error_404", "another owner's run", await client.get(base2, headers=other)
        )
        bad = await client.post("/v1/runs", data={"model": "mm5", "version": "1"}, headers=auth)
        await found.record("error_400", "an unknown model", bad)
        yield found


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_cloudrun_answer_has_the_documented_shape(answers: Answers, endpoint: str) -> None:
    answers.check("cloudrun", endpoint)


async def test_the_flow_saw_every_state(answers: Answers) -> None:
    """The Run fixture was checked against a run in each state a client can meet."""
    seen = {body["status"] for _, _, body in answers.seen["get"]}
    assert seen == {"created", "ready", "active", "done", "stopped", "error"} or seen == {
        "created",
        "ready",
        "starting",
        "active",
        "done",
        "stopped",
        "error",
    }, seen
    [failed] = [body for _, _, body in answers.seen["get"] if body["status"] == "error"]
    assert failed["error"]["message"]
    [_, deleted] = [body for _, _, body in answers.seen["delete"]]
    assert deleted["output_files"] == []


async def test_every_cloudrun_fixture_is_checked() -> None:
    assert sorted(ENDPOINTS) == endpoints("cloudrun")
