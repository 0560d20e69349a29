"""Tokens: made once and shown once, kept only as hashes, each naming its owner."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from localrun.errors import Conflict, Invalid, Unauthorized
from localrun.store import Store, StoreError

TOKEN_PREFIX = "lr_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class Tokens:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def owner_of(self, token: str | None) -> str:
        if not token:
            raise Unauthorized("missing token")
        owner = await self.store.token_owner(hash_token(token))
        if owner is None:
            raise Unauthorized("invalid or revoked token")
        return owner

    async def create(self, name: str, owner: str | None = None) -> str:
        """A new token for owner (the name when none is given); the only time it is shown."""
        if not name.strip():
            raise Invalid("a token needs a name")
        token = new_token()
        try:
            await self.store.add_token(name, owner or name, hash_token(token))
        except StoreError as exc:
            raise Conflict(str(exc)) from None
        return token

    async def listing(self) -> list[dict[str, Any]]:
        return await self.store.tokens()

    async def revoke(self, name: str) -> bool:
        return await self.store.revoke_token(name)


@asynccontextmanager
async def tokens_at(db: Path) -> AsyncIterator[Tokens]:
    """The tokens of a data directory's database, for the CLI (the daemon may be running)."""
    store = await Store.open(db)
    try:
        yield Tokens(store)
    finally:
        await store.close()
