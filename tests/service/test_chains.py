"""Linked runs in the service: what resume refuses, and CFL retries after a daemon restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from localrun.api.keys import SERVICE
from localrun.app import init_app
from localrun.errors import Conflict, Invalid, NotFound
from localrun.runs import State
from localrun.service import Service
from tests.conftest import EXAMPLE, make_settings


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def ready_run(service: Service, **extra: object) -> str:
    run = await service.create_run("alice", "localrun", extra=dict(extra))
    for name in ("namelist.input", "wrfinput_d01"):
        data = (EXAMPLE / name).read_bytes()
        await service.upload_input("alice", run.id, name, chunks(data))
    return run.id


async def test_a_cfl_retry_cut_off_by_a_restart_is_made_at_start(service: Service) -> None:
    run_id = await ready_run(service, cfl_retries=1)
    await service.store.transition(
        run_id, [State.READY], State.FAILED, "cfl", error_code="cfl", error_message="cfl"
    )
    other = await ready_run(service)  # failed with CFL, but asked for no retry
    await service.store.transition(other, [State.READY], State.FAILED, "cfl", error_code="cfl")
    await service.retry_pending()
    first = await service.get_run("alice", run_id)
    retry = first.extra["retried_by"]
    assert (await service.get_run("alice", retry)).extra["retry_of"] == run_id
    assert "retried_by" not in (await service.get_run("alice", other)).extra
    await service.retry_pending()  # once only
    assert len(await service.list_runs("alice")) == 3


async def test_what_resume_refuses(service: Service) -> None:
    with pytest.raises(NotFound):
        await service.resume("alice", "nope")
    run_id = await ready_run(service)
    with pytest.raises(Conflict, match="is ready: only a failed, stopped"):
        await service.resume("alice", run_id)
    with pytest.raises(NotFound):
        await service.resume("bob", run_id)  # another owner's run is not there
    shell = await service.create_run("alice", "localrun", kind="shell", command="true")
    with pytest.raises(Invalid, match="is a command"):
        await service.resume("alice", shell.id)


async def test_the_setting_is_kept_on_the_run_at_create(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    client = await aiohttp_client(init_app(make_settings(tmp_path, cfl_retries=2)))
    service: Service = client.app[SERVICE]
    run = await service.create_run("alice", "localrun")
    assert run.extra["cfl_retries"] == 2
    asked = await service.create_run("alice", "localrun", extra={"cfl_retries": 0})
    assert asked.extra["cfl_retries"] == 0
