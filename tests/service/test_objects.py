from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from localrun.errors import Invalid, NotFound, TooLarge
from localrun.executor.local import LocalExecutor
from localrun.executor.prepare import launch_request
from localrun.service import Service
from localrun.store import Store
from localrun.supervisor import Supervisor
from tests.conftest import make_settings


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_objects_stay_in_their_owners_store(service: Service) -> None:
    assert service.store_uri("alice") == "s3://localrun/alice"
    assert service.object_key("alice", "s3://localrun/alice/cases/a.py") == "cases/a.py"
    for uri in ("s3://localrun/bob/a.py", "s3://other/alice/a.py", "s3://localrun/alice/"):
        with pytest.raises(Invalid):
            service.object_key("alice", uri)
    with pytest.raises(Invalid):
        service.object_key("alice", "s3://localrun/alice/../bob/a.py")
    assert await service.put_object("alice", "cases/a.py", chunks(b"print(1)")) == 8
    assert (await service.existing_object("alice", "cases/a.py")).read_bytes() == b"print(1)"
    with pytest.raises(NotFound):
        await service.existing_object("bob", "cases/a.py")
    assert [(e.path, e.is_dir) for e in await service.list_objects("alice", "")] == [
        ("cases", True)
    ]
    assert [e.path for e in await service.list_objects("alice", "cases")] == ["a.py"]
    assert service.objects_root("a/b").name.startswith("h-")  # an owner name that is no path


async def test_keys_the_file_system_cannot_hold_are_refused_not_crashed_on(
    service: Service,
) -> None:
    long_name = "q" * 256  # one byte over NAME_MAX
    deep = "/".join(["d" * 200] * 6)  # every segment fits, the key (1205 bytes) does not
    for key in (long_name, f"cases/{long_name}", f"{long_name}/a.py", deep, "é" * 128):
        with pytest.raises(Invalid, match="longer than") as caught:
            service.object_path("alice", key)
        assert caught.value.code == "key_too_long"
        with pytest.raises(Invalid, match="longer than"):
            await service.put_object("alice", key, chunks(b"x"))
        with pytest.raises(Invalid, match="longer than"):
            await service.object_entry("alice", key)
    assert service.object_path("alice", "q" * 255).name == "q" * 255
    assert await service.put_object("alice", "q" * 255, chunks(b"x")) == 1


async def test_objects_count_in_the_owners_quota(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, quota_bytes=100)
    store = await Store.open(settings.data_path / "localrun.db")
    try:
        svc = Service(
            settings, store, Supervisor(settings, store, LocalExecutor("mpiexec"), launch_request)
        )
        assert await svc.put_object("alice", "a.bin", chunks(b"x" * 60)) == 60
        with pytest.raises(TooLarge):
            await svc.put_object("alice", "b.bin", chunks(b"x" * 60))
        assert await svc.put_object("bob", "b.bin", chunks(b"x" * 60)) == 60
        assert await svc.room_for("alice") == 40
    finally:
        await store.close()


async def test_a_restart_removes_unfinished_uploads_and_keeps_objects(service: Service) -> None:
    await service.put_object("alice", "kept/a.txt", chunks(b"kept"))
    upload = await service.start_multipart("alice", "big.bin")
    await service.put_part("alice", "big.bin", upload, 1, chunks(b"part one"))
    stray = service.object_path("alice", "kept/.upload-0123.part")  # a put the crash cut off
    stray.write_bytes(b"half")
    assert service.remove_object_leftovers() == 2
    assert not stray.exists()
    with pytest.raises(NotFound):
        await service.multipart_parts("alice", "big.bin", upload)
    assert (await service.existing_object("alice", "kept/a.txt")).read_bytes() == b"kept"
    assert service.remove_object_leftovers() == 0
