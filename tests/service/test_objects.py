from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from localrun.errors import Invalid, NotFound
from localrun.service import Service


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
