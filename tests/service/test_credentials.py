"""Temporary object-store credentials: scoped to an owner and a prefix, read or read-write,
kept in SQLite (the secret, and the session token only as a hash), and expiring."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator

import pytest

from localrun.errors import Forbidden, Invalid, Unauthorized
from localrun.service import Service
from localrun.service.credentials import check_key


async def test_issued_credentials_are_stored_and_found_again(service: Service) -> None:
    made = await service.issue_credentials(
        "alice", "s3://localrun/alice/scripts/a.py", "read_write"
    )
    assert made.access_key_id.startswith("ASIA") and len(made.access_key_id) == 20
    assert made.secret_access_key and made.session_token and made.region == "local"
    assert made.expires_at > time.time() + service.settings.s3_credentials_ttl_s - 60
    found = await service.find_credential(made.access_key_id)
    assert found.secret_access_key == made.secret_access_key
    assert found.session_token == "" and found.token_hash == made.token_hash
    assert (found.owner, found.prefix, found.writable) == ("alice", "scripts/a.py", True)
    service.check_session(found, made.session_token)
    row = await service.store.s3_credential(made.access_key_id)
    assert row is not None and made.session_token not in row.values()


async def test_unknown_keys_wrong_tokens_and_expiry_are_told_apart(service: Service) -> None:
    made = await service.issue_credentials("alice", "s3://localrun/alice", "read")
    with pytest.raises(Unauthorized) as unknown:
        await service.find_credential("ASIANOSUCHKEY0000000")
    assert unknown.value.code == "unknown_key"
    for token in ("", "forged"):
        with pytest.raises(Unauthorized) as bad:
            service.check_session(made, token)
        assert bad.value.code == "bad_token"
    expired = dataclasses.replace(made, expires_at=time.time() - 1)
    with pytest.raises(Unauthorized) as late:
        service.check_session(expired, made.session_token)
    assert late.value.code == "expired"


async def test_the_scope_is_the_owner_the_prefix_and_the_mode(service: Service) -> None:
    folder = await service.issue_credentials("alice", "s3://localrun/alice/cases", "read_write")
    service.authorize(folder, "alice", "cases/a/namelist.input", write=True)
    service.authorize(folder, "alice", "cases", write=True)
    for owner, key in (("alice", "casesX/a"), ("alice", "other"), ("bob", "cases/a")):
        with pytest.raises(Forbidden):
            service.authorize(folder, owner, key, write=False)
    whole = await service.issue_credentials("alice", "s3://localrun/alice", "read_only")
    service.authorize(whole, "alice", "anything/at/all", write=False)
    with pytest.raises(Forbidden):
        service.authorize(whole, "alice", "anything", write=True)


async def test_a_path_outside_the_store_or_a_bad_mode_is_refused(service: Service) -> None:
    for path in ("s3://localrun/bob/x", "s3://other/alice", "s3://localrun/alicex", "/tmp"):
        with pytest.raises(Forbidden):
            await service.issue_credentials("alice", path, "read")
    for path in ("s3://localrun/alice/a//b", "s3://localrun/alice/../bob", "s3://localrun/alice/."):
        with pytest.raises(Invalid):
            await service.issue_credentials("alice", path, "read")
    with pytest.raises(Invalid):
        await service.issue_credentials("alice", "s3://localrun/alice", "admin")


def test_keys_that_would_name_another_file_are_refused() -> None:
    check_key("a/b.txt")
    check_key("a/", prefix=True)
    check_key("", prefix=True)
    for key in ("a//b", "a/./b", "../b", "a/"):
        with pytest.raises(Invalid):
            check_key(key)


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_multipart_parts_are_staged_outside_the_store_and_joined(service: Service) -> None:
    upload = await service.start_multipart("alice", "big.bin")
    await service.put_part("alice", "big.bin", upload, 2, _chunks(b"world"))
    await service.put_part("alice", "big.bin", upload, 1, _chunks(b"hello ", b""))
    assert sorted(await service.multipart_parts("alice", "big.bin", upload)) == [1, 2]
    assert await service.object_entries("alice") == []
    assert await service.complete_multipart("alice", "big.bin", upload, [1, 2]) == 11
    assert (await service.existing_object("alice", "big.bin")).read_bytes() == b"hello world"
    assert list((service.settings.data_path / "multipart").iterdir()) == []
    left = await service.start_multipart("alice", "left.bin")
    assert service.remove_object_leftovers() == 1
    with pytest.raises(Exception, match="no upload"):
        await service.multipart_parts("alice", "left.bin", left)
