"""Use cases through the Service, with the real store and supervisor behind it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from localrun.errors import Conflict, Invalid, NotFound, Unauthorized
from localrun.service import Service, hash_token
from tests.conftest import EXAMPLE


async def data(blob: bytes) -> AsyncIterator[bytes]:
    yield blob


async def upload_example(service: Service, owner: str, run_id: str) -> None:
    for name in ("namelist.input", "wrfinput_d01"):
        await service.upload_input(owner, run_id, name, data((EXAMPLE / name).read_bytes()))


async def test_tokens_are_stored_as_hashes(service: Service) -> None:
    token = await service.create_token("carol")
    assert await service.owner_of(token) == "carol"
    rows = await service.store.tokens()
    assert token not in str(rows)
    assert await service.store.token_owner(hash_token(token)) == "carol"
    with pytest.raises(Unauthorized):
        await service.owner_of(token + "x")
    with pytest.raises(Unauthorized):
        await service.owner_of(None)


async def test_readiness_follows_the_namelist(service: Service) -> None:
    run = await service.create_run("a", "localrun")
    assert service.missing_inputs(run) == ["namelist.input"]
    await upload_example(service, "a", run.id)
    run = await service.get_run("a", run.id)
    assert run.state == "ready"
    restart = (EXAMPLE / "namelist.input").read_text().replace(".false.", ".true.", 1)
    await service.upload_input("a", run.id, "namelist.input", data(restart.encode()))
    run = await service.get_run("a", run.id)
    assert run.state == "created"
    assert service.missing_inputs(run) == ["wrfrst_d01_0001-01-01_00:00:00"]


async def test_start_refuses_what_wrf_would_refuse(service: Service) -> None:
    run = await service.create_run("a", "localrun")
    with pytest.raises(Conflict, match=r"namelist\.input"):
        await service.start("a", run.id)
    await upload_example(service, "a", run.id)
    with pytest.raises(Invalid, match="hands out 2"):
        await service.start("a", run.id, cores=3)
    typo = (EXAMPLE / "namelist.input").read_text().replace("history_interval", "histroy_interval")
    await service.upload_input("a", run.id, "namelist.input", data(typo.encode()))
    with pytest.raises(Invalid, match="history_interval") as caught:
        await service.start("a", run.id, cores=1)
    assert caught.value.code == "namelist"
    assert (await service.get_run("a", run.id)).state == "ready"


async def test_cancel_before_start_and_nothing_to_stop_after(service: Service) -> None:
    run = await service.create_run("a", "localrun")
    run = await service.stop("a", run.id)
    assert run.state == "cancelled"
    with pytest.raises(Conflict, match="nothing to stop"):
        await service.stop("a", run.id)
    with pytest.raises(Conflict):
        await service.upload_input("a", run.id, "x", data(b"1"))


async def test_other_owners_see_nothing(service: Service) -> None:
    run = await service.create_run("a", "localrun")
    with pytest.raises(NotFound):
        await service.get_run("b", run.id)
    assert await service.list_runs("b") == []


async def test_delete_stops_a_live_run_then_removes_outputs(service: Service) -> None:
    run = await service.create_run("a", "localrun")
    await upload_example(service, "a", run.id)
    await service.start("a", run.id, cores=2)
    for _ in range(200):
        run = await service.get_run("a", run.id)
        if run.state == "running" and (run.progress or {}).get("steps"):
            break
        await service.wait_terminal("a", run.id, 0.1)
    run = await service.delete_outputs("a", run.id)
    assert run.state == "cancelled"
    assert run.outputs_deleted_at is not None
    assert service.output_entries(run) == []
    assert list(service.paths(run.id).input.iterdir()) == []
    assert [f.name for f in await service.input_files(run)] == ["namelist.input", "wrfinput_d01"]
    events = await service.events("a", run.id)
    again = await service.delete_outputs("a", run.id)
    assert again.outputs_deleted_at == run.outputs_deleted_at
    assert await service.events("a", run.id) == events


async def test_a_shell_command_counts_the_ranks_its_launcher_asks_for(service: Service) -> None:
    run = await service.create_run(
        "alice", "rescale", kind="shell", command="mpirun -np 2 wrf.exe", cores=1
    )
    assert run.cores == 2
    events = await service.events("alice", run.id)
    assert "starts 2 MPI ranks" in events[0].message
    with pytest.raises(Invalid):
        await service.create_run(
            "alice", "rescale", kind="shell", command="mpirun -np 64 wrf.exe", cores=1
        )
    plain = await service.create_run("alice", "rescale", kind="shell", command="echo hi", cores=1)
    assert plain.cores == 1
