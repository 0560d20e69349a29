"""Sharedcloud's /api/v1 answers against fixtures written from seed 004 and CLIENTS.md §E: login,
functions, images, the account, runs that fan out into jobs, delete, and the DRF errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from localrun.api.sharedcloud.shapes import PYTHON_IMAGE
from tests.parity.harness import MODULE, Answers, endpoints, started
from tests.parity.shape import compare
from tests.polling import eventually

pytestmark = MODULE
API = "/api/v1"
ENDPOINTS = [
    "login",
    "function_create",
    "functions",
    "function",
    "function_update",
    "function_delete",
    "gpus",
    "offers",
    "images",
    "users",
    "run_create",
    "runs",
    "run",
    "jobs",
    "job",
    "run_delete",
    "error_401",
    "error_401_no_token",
    "error_404",
    "error_400",
]
CODE = (
    "def handler(event):\n"
    "    print('Hello World {}'.format(event[0]))\n"
    "    if event[0] == 3:\n"
    "        raise ValueError('three')\n"
    "    return 42 + int(event[0])\n"
)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def answers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Answers]:
    found = Answers()
    tmp = tmp_path_factory.mktemp("sharedcloud")
    async with started(tmp, open_signup=True) as (client, _service):
        tokens = []
        for name in ("carol", "dave"):
            account = {"username": name, "password": "long enough pw", "email": f"{name}@x.org"}
            made = await client.post(f"{API}/users/", data=account)
            assert made.status == 201, await made.text()
            login = await client.post(f"{API}/api-token-auth/", data=account)
            tokens.append((await found.record("login", "POST api-token-auth/", login))["token"])
        auth = {"Authorization": f"Token {tokens[0]}"}
        other = {"Authorization": f"Token {tokens[1]}"}

        async def call(endpoint: str, method: str, path: str, **kwargs: Any) -> Any:
            kwargs.setdefault("headers", auth)
            resp = await client.request(method, API + path, **kwargs)
            return await found.record(endpoint, f"{method} {path}", resp)

        form = {"name": "parity", "image": PYTHON_IMAGE, "code": CODE}
        function = await call("function_create", "POST", "/functions/", data=form)
        await call("functions", "GET", "/functions/")
        await call("function", "GET", f"/functions/{function['uuid']}/")
        renamed = {"name": "parity-renamed"}
        await call("function_update", "PATCH", f"/functions/{function['uuid']}/", data=renamed)
        spare = await call("function_create", "POST", "/functions/", data={**form, "name": "spare"})
        await call("function_delete", "DELETE", f"/functions/{spare['uuid']}/")
        await call("images", "GET", "/images/")
        await call("gpus", "GET", "/gpus/")
        await call("offers", "GET", "/offers/")
        await call("users", "GET", "/users/")
        sweep = {"function": function["uuid"], "parameters": "((1,),(3,))", "bid_price": "2.0"}
        run = await call("run_create", "POST", "/runs/", data=sweep)
        await call("runs", "GET", "/runs/")
        await call("run", "GET", f"/runs/{run['uuid']}/")
        await call("jobs", "GET", "/jobs/")

        async def ended() -> Any:
            jobs = await (await client.get(f"{API}/jobs/", headers=auth)).json()
            return jobs if jobs and all(job["status"] in (3, 4, 5) for job in jobs) else None

        jobs = await eventually(ended, timeout=60)
        await call("jobs", "GET", "/jobs/")
        for job in jobs:
            await call("job", "GET", f"/jobs/{job['uuid']}/")
        await call("run", "GET", f"/runs/{run['uuid']}/")

        await call("error_401", "GET", "/runs/", headers={"Authorization": "Token nope"})
        await call("error_401_no_token", "GET", "/jobs/", headers={})
        await call("error_404", "GET", f"/runs/{run['uuid']}/", headers=other)
        await call("error_404", "GET", f"/jobs/{jobs[0]['uuid']}/", headers=other)
        await call("error_404", "GET", "/functions/00000000-0000-0000-0000-000000000000/")
        bad = {**sweep, "parameters": "((1,"}
        await call("error_400", "POST", "/runs/", data=bad)
        await call("run_delete", "DELETE", f"/runs/{run['uuid']}/")
        await call("error_404", "DELETE", f"/runs/{run['uuid']}/")
        yield found


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_sharedcloud_answer_has_the_documented_shape(answers: Answers, endpoint: str) -> None:
    answers.check("sharedcloud", endpoint)


async def test_the_sweep_ran_its_jobs(answers: Answers) -> None:
    """The job shapes above were taken from jobs that ended, one succeeded and one failed."""
    [*_, (_, _, jobs)] = answers.seen["jobs"]
    assert sorted(job["status"] for job in jobs) == [3, 4]
    details = {job["status"]: job for _, _, job in answers.seen["job"]}
    assert "Hello World 1" in details[3]["stdout"] and details[3]["result"] == "43"
    assert "ValueError: three" in details[4]["stderr"]


async def test_a_changed_field_of_a_real_answer_is_named(answers: Answers) -> None:
    """What a regression looks like: a DRF-style money string, a lost key, a null id."""
    [(_, status, run)] = answers.seen["run_create"]
    changed = {**run, "bid_price": "2.000", "function": None}
    del changed["current_server_time"]
    assert compare("sharedcloud", "run_create", status, changed) == [
        "run: missing key current_server_time",
        "run.bid_price: type number -> str",
        "run.function: type str -> null",
    ]


async def test_every_sharedcloud_fixture_is_checked() -> None:
    assert sorted(ENDPOINTS) == endpoints("sharedcloud")
