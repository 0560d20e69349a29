"""Accounts: scrypt hashes, logins that hand out ordinary tokens, the login throttle."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from localrun.errors import NotFound, Unauthorized
from localrun.service.accounts import (
    LOGIN_FAILURES,
    LOGIN_WINDOW_S,
    Accounts,
    FieldInvalid,
    LoginThrottle,
    Throttled,
    accounts_at,
    hash_password,
    verify_password,
)

PW = "a long password"


def test_hashes_are_salted_scrypt_and_verify() -> None:
    first, second = hash_password(PW), hash_password(PW)
    assert first != second and first.startswith("scrypt$16384$8$1$")
    assert PW not in first
    assert verify_password(PW, first) and verify_password(PW, second)
    assert not verify_password(PW + "x", first)
    assert not verify_password(PW, "plain")
    assert not verify_password(PW, "md5$1$2$3$4$5")


def test_the_throttle_refuses_after_five_failures_in_a_minute() -> None:
    now = [1000.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    for _ in range(LOGIN_FAILURES):
        throttle.check("10.0.0.1")
        throttle.failed("10.0.0.1")
        now[0] += 1
    with pytest.raises(Throttled) as refused:
        throttle.check("10.0.0.1")
    assert 1 <= refused.value.retry_after_s <= LOGIN_WINDOW_S
    throttle.check("10.0.0.2")  # another address is not slowed down
    now[0] += LOGIN_WINDOW_S
    throttle.check("10.0.0.1")


@pytest.fixture
async def accounts(tmp_path: Path) -> AsyncIterator[Accounts]:
    async with accounts_at(tmp_path / "localrun.db") as found:
        yield found


async def test_a_login_hands_out_a_token_of_the_accounts_owner(accounts: Accounts) -> None:
    user = await accounts.create("alice", PW, "a@example.org")
    assert user["owner"] == "alice" and user["password_hash"].startswith("scrypt$")
    token = await accounts.login("alice", PW, "127.0.0.1")
    assert await accounts.tokens.owner_of(token) == "alice"
    assert (await accounts.of_owner("alice"))["last_login"] is not None
    for name, password in (("alice", "wrong password"), ("nobody", PW)):
        with pytest.raises(FieldInvalid) as refused:
            await accounts.login(name, password, "127.0.0.1")
        assert refused.value.field == "non_field_errors"


async def test_a_new_password_ends_the_logins_tokens_only(accounts: Accounts) -> None:
    await accounts.create("alice", PW)
    login = await accounts.login("alice", PW, "127.0.0.1")
    admin = await accounts.tokens.create("alice-admin", "alice")
    await accounts.set_password("alice", "another long one")
    with pytest.raises(Unauthorized):
        await accounts.tokens.owner_of(login)
    assert await accounts.tokens.owner_of(admin) == "alice"
    await accounts.login("alice", "another long one", "127.0.0.1")
    with pytest.raises(NotFound):
        await accounts.set_password("nobody", PW)


async def test_names_passwords_and_claims(accounts: Accounts) -> None:
    for name, password, field in (
        ("bad name!", PW, "username"),
        ("", PW, "username"),
        ("bob", "short", "password"),
    ):
        with pytest.raises(FieldInvalid) as refused:
            await accounts.create(name, password)
        assert refused.value.field == field
    with pytest.raises(FieldInvalid):
        await accounts.create("bob", PW, "not an email")
    await accounts.tokens.create("carol", "carol")
    with pytest.raises(FieldInvalid):
        await accounts.create("carol", PW, claim=False)  # a sign-up cannot take carol's runs
    await accounts.create("carol", PW)  # the administrator can give carol an account
    with pytest.raises(FieldInvalid):
        await accounts.create("carol", PW)


async def test_rename_keeps_the_owner_and_delete_ends_logins(accounts: Accounts) -> None:
    await accounts.create("alice", PW)
    token = await accounts.login("alice", PW, "127.0.0.1")
    renamed = await accounts.update("alice", username="alicia", email="x@example.org")
    assert (renamed["username"], renamed["owner"]) == ("alicia", "alice")
    await accounts.login("alicia", PW, "127.0.0.1")
    await accounts.delete("alice")
    with pytest.raises(Unauthorized):
        await accounts.tokens.owner_of(token)
    with pytest.raises(NotFound):
        await accounts.of_owner("alice")


async def test_guesses_sent_at_once_are_throttled_too(accounts: Accounts) -> None:
    """Each login counts against its address from its start, not once its hash is done: 20
    wrong passwords sent together were all checked (20 guesses, none throttled)."""
    await accounts.create("alice", PW)
    answers = await asyncio.gather(
        *(accounts.login("alice", f"guess {n}", "10.0.0.9") for n in range(20)),
        return_exceptions=True,
    )
    assert sum(isinstance(a, FieldInvalid) for a in answers) == LOGIN_FAILURES
    assert sum(isinstance(a, Throttled) for a in answers) == 20 - LOGIN_FAILURES


async def test_a_good_login_does_not_count_as_a_failure(accounts: Accounts) -> None:
    await accounts.create("alice", PW)
    for _ in range(LOGIN_FAILURES * 2):
        await accounts.login("alice", PW, "10.0.0.8")
    for _ in range(LOGIN_FAILURES - 1):
        with pytest.raises(FieldInvalid):
            await accounts.login("alice", "wrong password", "10.0.0.8")
    assert await accounts.login("alice", PW, "10.0.0.8")
    with pytest.raises(FieldInvalid):
        await accounts.login("alice", "wrong password", "10.0.0.8")
    with pytest.raises(Throttled):
        await accounts.login("alice", PW, "10.0.0.8")
