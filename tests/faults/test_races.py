"""Issue 11 items 8 and 11: an upload racing a start, and what interrupted work leaves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from localrun import files
from localrun.errors import Conflict
from localrun.service import Service
from tests.conftest import EXAMPLE


async def chunks_of(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_an_upload_that_began_before_the_start_does_not_land(service: Service) -> None:
    run = await service.create_run("a", "localrun")
    for name in ("namelist.input", "wrfinput_d01"):
        await service.upload_input("a", run.id, name, chunks_of((EXAMPLE / name).read_bytes()))
    halfway = asyncio.Event()
    go_on = asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        yield b"first half "
        halfway.set()
        await go_on.wait()
        yield b"second half"

    upload = asyncio.create_task(service.upload_input("a", run.id, "late.txt", slow()))
    await halfway.wait()
    await service.start("a", run.id, cores=1)
    go_on.set()
    with pytest.raises(Conflict, match="during the upload"):
        await upload
    inputs = service.paths(run.id).input
    assert sorted(p.name for p in inputs.iterdir()) == ["namelist.input", "wrfinput_d01"]
    assert [f.name for f in await service.input_files(run)] == ["namelist.input", "wrfinput_d01"]
    await service.stop("a", run.id)


def test_part_files_and_staging_folders_are_removed_at_start(tmp_path: Path) -> None:
    inputs = tmp_path / "runs" / "r1" / "input"
    inputs.mkdir(parents=True)
    (inputs / ".upload-1.part").write_bytes(b"x")
    (inputs / "namelist.input").write_text("kept")
    kept = tmp_path / "files" / "k1"
    kept.mkdir(parents=True)
    (kept / ".upload-2.part").write_bytes(b"x")
    (kept / "case.zip").write_bytes(b"kept")
    (tmp_path / "files" / ".staging-abc" / "deep").mkdir(parents=True)
    removed = files.remove_leftovers(tmp_path)
    assert len(removed) == 3
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == ["files/k1/case.zip", "runs/r1/input/namelist.input"]


async def test_a_failed_create_leaves_no_run_directory(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object) -> None:
        raise OSError("the database is gone")

    monkeypatch.setattr(service.store, "insert_run", broken)
    with pytest.raises(OSError):
        await service.create_run("a", "localrun")
    runs = service.settings.data_path / "runs"
    assert not runs.exists() or list(runs.iterdir()) == []
