"""Rescale's answers (/api/v2 for rescalepy, /api for seed 002's runs section) against fixtures
written from seed 002 and CLIENTS.md §D: the job flow, a run's files and tail, the errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from tests.api.test_rescale import LINK_ICS, ics_zip, job_body, namelist
from tests.parity.harness import MODULE, Answers, endpoints, started
from tests.polling import eventually

pytestmark = MODULE
ENDPOINTS = [
    "upload",
    "create_job",
    "job",
    "submit",
    "statuses",
    "analyses",
    "coretypes",
    "job_files",
    "job_runs",
    "run",
    "run_files",
    "directory_contents",
    "tail",
    "snapshot",
    "run_stop",
    "error_401",
    "error_404",
    "error_400",
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def answers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Answers]:
    found = Answers()
    async with started(tmp_path_factory.mktemp("rescale")) as (client, service):
        rs = {"Authorization": f"Token {await service.create_token('alice')}"}
        other = {"Authorization": f"Token {await service.create_token('bob')}"}
        v2 = "/api/v2"

        async def get(endpoint: str, path: str, headers: dict[str, str] = rs) -> Any:
            return await found.record(
                endpoint, f"GET {path}", await client.get(path, headers=headers)
            )

        async def post(endpoint: str, path: str, **kwargs: Any) -> Any:
            headers = {**rs, "Content-Type": "application/json"}
            resp = await client.post(path, headers=headers, **kwargs)
            return await found.record(endpoint, f"POST {path}", resp)

        async def newest(job_id: str, wanted: str) -> None:
            async def reached() -> bool:
                body = await (await client.get(f"{v2}/jobs/{job_id}/statuses/", headers=rs)).json()
                return bool(body["results"]) and body["results"][0]["status"] == wanted

            await eventually(reached, timeout=60)
            await get("statuses", f"{v2}/jobs/{job_id}/statuses/")

        for path in (f"{v2}/analyses/", f"{v2}/coretypes/"):
            await get(path.split("/")[-2], path)
        ids = []
        for name, content in (("namelist.input", namelist(10)), ("ics.zip", ics_zip())):
            form = aiohttp.FormData()
            form.add_field("file", content, filename=name, content_type="{'type_id': 1}")
            sent = await client.post(f"{v2}/files/contents/", data=form, headers=rs)
            ids.append((await found.record("upload", f"POST files/contents/ {name}", sent))["id"])
            await get("upload", f"{v2}/files/{ids[-1]}/")
        body = job_body(ids, f"{LINK_ICS} && mpirun -np 2 wrf.exe")
        job = await found.record(
            "create_job", "POST jobs/", await client.post(f"{v2}/jobs/", json=body, headers=rs)
        )
        await get("job", f"{v2}/jobs/{job['id']}/")
        await post("submit", f"{v2}/jobs/{job['id']}/submit/")
        await get("statuses", f"{v2}/jobs/{job['id']}/statuses/")
        await newest(job["id"], "Completed")
        await get("job_files", f"{v2}/jobs/{job['id']}/files/")
        for root in (v2, "/api"):
            await get("job_runs", f"{root}/jobs/{job['id']}/runs/")
            await get("run", f"{root}/jobs/{job['id']}/runs/1/")
            await get("run_files", f"{root}/jobs/{job['id']}/runs/1/files/")

        shell = job_body(
            [], "printf 'one\\ntwo\\n' > log.txt; sleep 60", cores=1, code="user_included"
        )
        job2 = await (await client.post(f"{v2}/jobs/", json=shell, headers=rs)).json()
        await post("submit", f"{v2}/jobs/{job2['id']}/submit/")
        await newest(job2["id"], "Executing")
        run = f"/api/jobs/{job2['id']}/runs/1"

        async def listed() -> bool:
            entries = await (await client.get(run + "/directory-contents/", headers=rs)).json()
            return any(e["path"] == "log.txt" for e in entries)

        await eventually(listed, timeout=30)
        await get("directory_contents", run + "/directory-contents/")
        await get("tail", run + "/tail/log.txt?lines=2")
        await post("snapshot", run + "/snapshot/")
        await post("run_stop", run + "/stop/")
        await newest(job2["id"], "Completed")

        await get("error_401", f"{v2}/", {"Authorization": "Token nope"})
        await get("error_401", f"{v2}/jobs/", {})
        await get("error_404", f"{v2}/jobs/nope/")
        await get("error_404", f"{v2}/jobs/{job['id']}/", other)
        await get("error_404", f"/api/jobs/{job['id']}/runs/7/")
        bad = await client.post(f"{v2}/jobs/", json={"name": "x"}, headers=rs)
        await found.record("error_400", "POST jobs/ without jobanalyses", bad)
        yield found


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_rescale_answer_has_the_documented_shape(answers: Answers, endpoint: str) -> None:
    answers.check("rescale", endpoint)


async def test_every_rescale_fixture_is_checked() -> None:
    assert sorted(ENDPOINTS) == endpoints("rescale")
