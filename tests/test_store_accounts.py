"""The store's users, functions and prefix revocation, and migration 0005 applied before 0004."""

from __future__ import annotations

from pathlib import Path

import pytest

import localrun.store as store_module
from localrun.store import Store, StoreError
from localrun.store.migrations import MIGRATIONS


async def test_0005_first_then_0004_later(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "localrun.db"
    without = [m for m in MIGRATIONS if not m[0].startswith("0004")]
    monkeypatch.setattr(store_module, "MIGRATIONS", without)
    early = await Store.open(db)
    assert "0005_accounts" in {name for name, _ in await early.migrations()}
    await early.close()
    monkeypatch.setattr(store_module, "MIGRATIONS", MIGRATIONS)
    later = await Store.open(db)
    assert {name for name, _ in await later.migrations()} == {name for name, _ in MIGRATIONS}
    await later.close()


@pytest.fixture
async def store(tmp_path: Path) -> Store:
    return await Store.open(tmp_path / "localrun.db")


def user_row(username: str, owner: str) -> dict[str, object]:
    return {
        "id": f"id-{username}",
        "username": username,
        "owner": owner,
        "email": "",
        "password_hash": "scrypt$x",
        "created_at": 0.0,
    }


async def test_users(store: Store) -> None:
    await store.add_user(user_row("alice", "alice"))
    with pytest.raises(StoreError):
        await store.add_user(user_row("alice", "other"))
    await store.add_user(user_row("bob", "bob"))
    with pytest.raises(StoreError):
        await store.update_user("id-bob", username="alice")
    found = await store.user(owner="alice")
    assert found is not None and found["username"] == "alice"
    assert await store.user(username="nobody") is None
    assert not await store.owner_exists("carol")
    await store.add_token("carol-1", "carol", "h1")
    assert await store.owner_exists("carol")
    await store.delete_user("id-bob")
    assert await store.user(username="bob") is None
    await store.close()


async def test_revoke_tokens_by_prefix_takes_no_wildcards(store: Store) -> None:
    await store.add_token("login:u1:a", "alice", "h1")
    await store.add_token("login:u1:b", "alice", "h2")
    await store.add_token("loginXu1:c", "alice", "h3")
    await store.add_token("login:u1:d", "bob", "h4")
    assert await store.revoke_tokens("alice", "login:u1:") == 2
    assert await store.revoke_tokens("alice", "login_u1%") == 0
    live = {t["name"] for t in await store.tokens() if t["revoked_at"] is None}
    assert live == {"loginXu1:c", "login:u1:d"}
    await store.close()


async def test_functions_are_their_owners(store: Store) -> None:
    row = {
        "id": "f1",
        "owner": "alice",
        "name": "n",
        "image": "i",
        "code": "c",
        "created_at": 1.0,
        "updated_at": 1.0,
    }
    assert (await store.insert_function(row))["seq"] >= 1
    assert await store.function("f1", "bob") is None
    await store.update_function("f1", name="m")
    found = await store.function("f1", "alice")
    assert found is not None and found["name"] == "m"
    assert [f["id"] for f in await store.functions("alice")] == ["f1"]
    assert not await store.delete_function("f1", "bob")
    assert await store.delete_function("f1", "alice")
    assert await store.count_jobs_by_spec("alice", "function", "f1") == 0
    with pytest.raises(ValueError):
        await store.count_jobs_by_spec("alice", "a') OR 1=1 --", "x")
    await store.close()
