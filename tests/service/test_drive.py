from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from localrun.errors import Conflict, Invalid, NotFound
from localrun.service import Service


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def listing(service: Service, owner: str, path: str) -> list[tuple[str, bool]]:
    return [(e.path, e.is_dir) for e in await service.drive_list(owner, path)]


async def test_the_drive_changes_only_its_owners_files(service: Service) -> None:
    assert await listing(service, "alice", "") == [("runs", True)]
    await service.put_object("alice", "a/one.txt", chunks(b"1"))
    await service.drive_mkdir("alice", "a/b/c")
    assert await listing(service, "alice", "a") == [("b", True), ("one.txt", False)]
    with pytest.raises(Conflict):
        await service.drive_mkdir("alice", "a/one.txt/x")
    assert await service.drive_rename("alice", "a/one.txt", "two.txt") == "a/two.txt"
    await service.put_object("alice", "a/one.txt", chunks(b"1"))
    with pytest.raises(Conflict):
        await service.drive_rename("alice", "a/one.txt", "two.txt")
    for bad in ("..", "x/y", ""):
        with pytest.raises(Invalid):
            await service.drive_rename("alice", "a/one.txt", bad)
    with pytest.raises(NotFound):
        await service.drive_delete("bob", "a/one.txt", folder=False)
    with pytest.raises(NotFound):
        await service.drive_delete("alice", "a/one.txt", folder=True)  # a file, not a folder
    await service.drive_delete("alice", "a", folder=True)
    assert await listing(service, "alice", "") == [("runs", True)]
    with pytest.raises(NotFound):
        await service.drive_list("alice", "a")
    for path in ("runs", "runs/x/y", "../bob"):
        with pytest.raises(Invalid):
            await service.drive_delete("alice", path, folder=True)


async def test_runs_lists_the_owners_runs_only(service: Service) -> None:
    assert await listing(service, "alice", "runs") == []
    with pytest.raises(NotFound):
        await service.drive_list("alice", "runs/no-such-run")


async def test_a_file_is_a_stored_object_or_one_a_run_wrote(service: Service) -> None:
    await service.put_object("alice", "a/one.txt", chunks(b"1"))
    assert (await service.drive_file("alice", "a/one.txt")).read_bytes() == b"1"
    run = await service.create_run("alice", "native", name="writer")
    (service.paths(run.id).work / "out").mkdir()
    (service.paths(run.id).work / "out" / "result.txt").write_text("42")
    found = await service.drive_file("alice", f"runs/{run.id}/out/result.txt")
    assert found.read_text() == "42"
    for owner, path in (
        ("bob", f"runs/{run.id}/out/result.txt"),  # another owner's run
        ("alice", f"runs/{run.id}/out"),  # a folder
        ("alice", f"runs/{run.id}/none.txt"),
        ("alice", "runs/no-such-run/x"),
        ("alice", "a/none.txt"),
    ):
        with pytest.raises(NotFound):
            await service.drive_file(owner, path)
    with pytest.raises(Invalid):
        await service.drive_file("alice", f"runs/{run.id}/../../x")
