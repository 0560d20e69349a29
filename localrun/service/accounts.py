"""Accounts: a username and a password kept only as a salted scrypt hash; a login hands out a
token like every other (it names the account's owner). Failed logins are throttled per
address."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import secrets
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from localrun.errors import Conflict, Invalid, NotFound, ServiceError
from localrun.service.auth import Tokens
from localrun.store import Store, StoreError

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
USERNAME = re.compile(r"^[\w.@+-]{1,150}$", re.ASCII)
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
LOGIN_FAILURES = 5  # failures from one address within LOGIN_WINDOW_S before it is slowed down
LOGIN_WINDOW_S = 60.0
BAD_LOGIN = "Unable to log in with provided credentials."


class Throttled(ServiceError):
    code = "throttled"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"Request was throttled. Expected available in {retry_after_s} seconds.")
        self.retry_after_s = retry_after_s


class FieldInvalid(Invalid):
    """A value of one named field is refused (a form's field, or "non_field_errors")."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, code=f"field:{field}")
        self.field = field


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    encoded = [base64.b64encode(part).decode() for part in (salt, digest)]
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encoded[0]}${encoded[1]}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        found = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(found, base64.b64decode(digest))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8", "surrogatepass"), salt=salt, n=n, r=r, p=p, dklen=32
    )


_DUMMY = hash_password(secrets.token_urlsafe(16))  # so that an unknown name costs a hash too


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise FieldInvalid(
            "password",
            f"This password is too short. It must contain at least {MIN_PASSWORD} characters.",
        )
    if len(password) > MAX_PASSWORD:
        raise FieldInvalid(
            "password", f"Ensure this field has no more than {MAX_PASSWORD} characters."
        )


def check_username(username: str) -> None:
    if not USERNAME.match(username):
        raise FieldInvalid(
            "username",
            "Enter a valid username. This value may contain only letters, numbers, and "
            "@/./+/-/_ characters (at most 150).",
        )


def check_email(email: str) -> None:
    if email and not EMAIL.match(email):
        raise FieldInvalid("email", "Enter a valid email address.")


class LoginThrottle:
    """At most LOGIN_FAILURES failed logins per address in any LOGIN_WINDOW_S (a login still
    being checked counts as failed); beyond that every login from the address is refused until
    the oldest failure leaves the window."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, address: str) -> deque[float]:
        now = self.clock()
        for key in [k for k, q in self._failures.items() if q and q[-1] < now - LOGIN_WINDOW_S]:
            del self._failures[key]
        found = self._failures.setdefault(address, deque())
        while found and found[0] < now - LOGIN_WINDOW_S:
            found.popleft()
        return found

    def check(self, address: str) -> None:
        recent = self._recent(address)
        if len(recent) >= LOGIN_FAILURES:
            wait = recent[0] + LOGIN_WINDOW_S - self.clock()
            raise Throttled(max(1, int(wait + 0.999)))

    def failed(self, address: str) -> None:
        self._recent(address).append(self.clock())

    def begin(self, address: str) -> float:
        """check, then count the attempt as failed until succeeded() says otherwise, so that
        guesses sent at once are counted before their hashes are done."""
        self.check(address)
        stamp = self.clock()
        self._recent(address).append(stamp)
        return stamp

    def succeeded(self, address: str, stamp: float) -> None:
        found = self._failures.get(address)
        if found is not None and stamp in found:
            found.remove(stamp)


class Accounts:
    def __init__(self, store: Store, tokens: Tokens) -> None:
        self.store = store
        self.tokens = tokens
        self.throttle = LoginThrottle()

    async def create(
        self, username: str, password: str, email: str = "", *, claim: bool = True
    ) -> dict[str, Any]:
        """A new account whose runs are owner `username`'s. claim=False (a sign-up over the
        network) refuses a name that already owns tokens or runs, which the administrator's
        `localrun user create` may give an account to."""
        check_username(username)
        check_email(email)
        check_password(password)
        taken = await self.store.user(username=username) or await self.store.user(owner=username)
        if taken or (not claim and await self.store.owner_exists(username)):
            raise FieldInvalid("username", "A user with that username already exists.")
        row = {
            "id": str(uuid.uuid4()),
            "username": username,
            "owner": username,
            "email": email,
            "password_hash": await asyncio.to_thread(hash_password, password),
            "created_at": time.time(),
        }
        try:
            await self.store.add_user(row)
        except StoreError:
            raise FieldInvalid("username", "A user with that username already exists.") from None
        return await self._by_name(username)

    async def set_password(self, username: str, password: str) -> None:
        """A new password; the tokens its logins handed out stop working."""
        check_password(password)
        user = await self._by_name(username)
        digest = await asyncio.to_thread(hash_password, password)
        await self.store.update_user(user["id"], password_hash=digest)
        await self.store.revoke_tokens(user["owner"], _login_prefix(user))

    async def login(self, username: str, password: str, address: str) -> str:
        """A new token for the account, or FieldInvalid; throttled per address."""
        attempt = self.throttle.begin(address)  # a failure until the password is right
        user = await self.store.user(username=username) if username else None
        stored = user["password_hash"] if user else _DUMMY
        good = await asyncio.to_thread(verify_password, password, stored)
        if user is None or not good:
            raise FieldInvalid("non_field_errors", BAD_LOGIN)
        self.throttle.succeeded(address, attempt)
        name = _login_prefix(user) + secrets.token_hex(6)
        token = await self.tokens.create(name, user["owner"])
        await self.store.update_user(user["id"], last_login=time.time())
        return token

    async def of_owner(self, owner: str) -> dict[str, Any]:
        user = await self.store.user(owner=owner)
        if user is None:
            raise NotFound(f"{owner} has a token but no account (localrun user create)")
        return user

    async def update(
        self,
        owner: str,
        *,
        email: str | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> dict[str, Any]:
        """Change what is given; the owner of the account's runs never changes."""
        user = await self.of_owner(owner)
        changes: dict[str, Any] = {}
        if email is not None:
            check_email(email)
            changes["email"] = email
        if username is not None and username != user["username"]:
            check_username(username)
            if await self.store.user(username=username):
                raise FieldInvalid("username", "A user with that username already exists.")
            changes["username"] = username
        if changes:
            try:
                await self.store.update_user(user["id"], **changes)
            except StoreError:
                raise Conflict("A user with that username already exists.") from None
        if password is not None:
            await self.set_password(changes.get("username", user["username"]), password)
        return await self.of_owner(owner)

    async def delete(self, owner: str) -> None:
        """The account goes and its logins' tokens stop working; its runs stay its owner's."""
        user = await self.of_owner(owner)
        await self.store.revoke_tokens(user["owner"], _login_prefix(user))
        await self.store.delete_user(user["id"])

    async def _by_name(self, username: str) -> dict[str, Any]:
        user = await self.store.user(username=username)
        if user is None:
            raise NotFound(f"no user named {username}")
        return user


def _login_prefix(user: dict[str, Any]) -> str:
    return f"login:{user['id']}:"


@asynccontextmanager
async def accounts_at(db: Path) -> AsyncIterator[Accounts]:
    """The accounts of a data directory's database, for the CLI (the daemon may be running)."""
    store = await Store.open(db)
    try:
        yield Accounts(store, Tokens(store))
    finally:
        await store.close()
