"""Issue 11 item 1 and 4: a run cannot reach what is not its own, and nothing it starts
outlives it. Needs bubblewrap (scripts/system-packages installs it): without it these fail."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import psutil
import pytest
from aiohttp.test_utils import TestClient

from localrun.api.keys import SERVICE
from localrun.app import init_app
from localrun.service import Service
from tests.api.test_rescale import completed, create, job_body, shell_job, submit, upload
from tests.conftest import EXAMPLE, make_settings

Client = TestClient[Any, Any]
MakeClient = Callable[..., Coroutine[Any, Any, tuple[Client, Service]]]


@pytest.fixture
def make_client(aiohttp_client: Any, tmp_path: Path) -> MakeClient:
    async def make(**overrides: Any) -> tuple[Client, Service]:
        settings = make_settings(tmp_path / "data", **overrides)
        client: Client = await aiohttp_client(init_app(settings))
        return client, client.app[SERVICE]

    return make


async def tokens(service: Service) -> tuple[dict[str, str], dict[str, str]]:
    alice = {"Authorization": "Token " + await service.create_token("alice")}
    bob = {"Authorization": "Token " + await service.create_token("bob")}
    return alice, bob


def processes_with(text: str) -> list[str]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        line = " ".join(proc.info["cmdline"] or [])
        if text in line:
            found.append(line)
    return found


async def test_a_job_cannot_read_another_run_or_write_the_database(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client, service = await make_client(sandbox="bubblewrap")
    assert service.isolation == "bubblewrap"
    alice, bob = await tokens(service)
    secret = (EXAMPLE / "namelist.input").read_bytes()
    file_id = await upload(client, alice, "namelist.input", secret)
    job = await create(client, alice, job_body([file_id], "sleep 30", cores=1))
    alice_run = (await service.job_run("alice", job["id"], 1)).id
    db = tmp_path / "data" / "localrun.db"
    steal = (
        f"head -c 200 ../../{alice_run}/input/namelist.input > stolen.txt || true; "
        "python3 -c \"import sqlite3; c = sqlite3.connect('../../../localrun.db'); "
        'c.execute(\\"UPDATE runs SET owner=\'bob\'\\"); c.commit()" || true; '
        "ls -a ../.. > runs.txt || true; ls / > root.txt; echo done > done.txt"
    )
    stealing = await shell_job(client, bob, steal)
    await completed(client, bob, stealing, within=60)
    bob_run = await service.job_run("bob", stealing, 1)
    work = service.paths(bob_run.id).work
    assert (work / "done.txt").exists()
    assert (work / "stolen.txt").read_bytes() == b""
    assert sorted((work / "runs.txt").read_text().split()) == [".", "..", bob_run.id]
    assert "localrun.db" not in (work / "root.txt").read_text()
    owners = sqlite3.connect(db).execute("SELECT DISTINCT owner FROM runs").fetchall()
    assert sorted(o for (o,) in owners) == ["alice", "bob"]
    resp = await client.get(
        f"/api/v2/jobs/{job['id']}/runs/1/tail/namelist.input?lines=1", headers=bob
    )
    assert resp.status == 404
    health = await (await client.get("/healthz")).json()
    assert health["sandbox"] == "bubblewrap"


async def test_mpi_ranks_and_the_model_run_inside_the_sandbox(make_client: MakeClient) -> None:
    client, service = await make_client(sandbox="bubblewrap")
    alice, _ = await tokens(service)
    files = [
        await upload(client, alice, "namelist.input", (EXAMPLE / "namelist.input").read_bytes()),
        await upload(client, alice, "wrfinput_d01", (EXAMPLE / "wrfinput_d01").read_bytes()),
    ]
    job = await create(client, alice, job_body(files, "mpirun -np 2 wrf.exe; ls /tmp"))
    await submit(client, alice, job["id"])
    found = await completed(client, alice, job["id"], within=120)
    assert found[0]["statusReason"] == "Completed successfully", found[0]
    run = await service.job_run("alice", job["id"], 1)
    assert "SUCCESS COMPLETE WRF" in (service.paths(run.id).work / "rsl.out.0000").read_text()


@pytest.mark.parametrize("sandbox", ["bubblewrap", "none"])
async def test_what_a_run_leaves_behind_dies_with_it(make_client: MakeClient, sandbox: str) -> None:
    client, service = await make_client(sandbox=sandbox, single_user=True)
    alice, _ = await tokens(service)
    marker = f"30{len(sandbox)}.5"  # a distinct sleep per case
    command = f"setsid sleep {marker} & ( ( sleep {marker}1 & ) & ); echo started"
    job_id = await shell_job(client, alice, command)
    found = await completed(client, alice, job_id, within=60)
    assert found[0]["statusReason"] == "Completed successfully"
    assert processes_with(f"sleep {marker}") == []


async def test_without_a_sandbox_shell_jobs_come_from_one_owner(make_client: MakeClient) -> None:
    client, service = await make_client(sandbox="none")
    alice, bob = await tokens(service)
    await shell_job(client, alice, "true")
    resp = await client.post("/api/v2/jobs/", json=job_body([], "true", cores=1), headers=bob)
    assert resp.status == 403
    assert "without a sandbox" in (await resp.json())["detail"]
    health = await (await client.get("/healthz")).json()
    assert (health["sandbox"], health["single_user"]) == ("none", False)
