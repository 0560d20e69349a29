"""Temporary credentials for an owner's object store: an access key, a secret and a session
token, scoped to the owner and one key prefix, read-only or read-write, that expire.

The secret is kept in the store (request signatures are checked with it); the session token
only as a hash. Neither is ever logged."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import time
from dataclasses import dataclass

from localrun import files
from localrun.errors import Forbidden, Invalid, Unauthorized
from localrun.service.objects import Objects

REGION = "local"  # the signing region every credential names
READ_ONLY = frozenset({"read", "read_only"})
READ_WRITE = frozenset({"read_write"})
KEPT_AFTER_EXPIRY_S = 24 * 3600  # an expired key is still known, so that it is told "expired"
_KEY_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class ObjectCredential:
    access_key_id: str
    secret_access_key: str
    session_token: str  # "" once read back from the store: only its hash is kept
    token_hash: str
    owner: str
    prefix: str  # a key prefix in the owner's store; "" is the whole store
    writable: bool
    region: str
    expires_at: float

    def covers(self, key: str) -> bool:
        """Whether `key` (or a listing prefix) is inside this credential's prefix: the prefix
        itself, or below it as a folder."""
        if not self.prefix or key == self.prefix:
            return True
        folder = self.prefix if self.prefix.endswith("/") else self.prefix + "/"
        return key.startswith(folder)


def check_key(key: str, prefix: bool = False) -> None:
    """Invalid for a key the store cannot keep as itself: an empty, '.' or '..' segment would
    name another file on disk (a listing prefix may end with '/')."""
    parts = key.split("/")
    if prefix and len(parts) > 1 and parts[-1] == "":
        parts = parts[:-1]
    if key and any(part in ("", ".", "..") for part in parts):
        raise Invalid(f"{key[:200]!r}: empty, '.' and '..' segments cannot be stored here")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Credentials(Objects):
    def credential_prefix(self, owner: str, uri: str) -> str:
        """The key prefix an s3:// path names in the owner's store; Forbidden elsewhere."""
        store = self.store_uri(owner)
        if uri == store:
            return ""
        if not uri.startswith(store + "/"):
            raise Forbidden(f"{uri} is not in your store, {store}")
        prefix = uri[len(store) + 1 :]
        check_key(prefix, prefix=True)
        if prefix:
            files.safe_relpath(prefix.rstrip("/"))
        return prefix

    async def issue_credentials(self, owner: str, uri: str, mode: str) -> ObjectCredential:
        if mode not in READ_ONLY | READ_WRITE:
            raise Invalid(f"access mode {mode!r} is not read, read_only or read_write")
        now = time.time()
        token = secrets.token_urlsafe(48)
        credential = ObjectCredential(
            access_key_id="ASIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16)),
            secret_access_key=secrets.token_urlsafe(30),
            session_token=token,
            token_hash=_hash(token),
            owner=owner,
            prefix=self.credential_prefix(owner, uri),
            writable=mode in READ_WRITE,
            region=REGION,
            expires_at=now + self.settings.s3_credentials_ttl_s,
        )
        await self.store.add_s3_credential(
            {
                "access_key_id": credential.access_key_id,
                "secret": credential.secret_access_key,
                "token_hash": credential.token_hash,
                "owner": owner,
                "prefix": credential.prefix,
                "writable": int(credential.writable),
                "region": REGION,
                "created_at": now,
                "expires_at": credential.expires_at,
            },
            forget_before=now - KEPT_AFTER_EXPIRY_S,
        )
        return credential

    async def find_credential(self, access_key_id: str) -> ObjectCredential:
        """The credential of an access key, expired or not (its secret checks a signature
        first); Unauthorized with code "unknown_key" when there is none."""
        row = await self.store.s3_credential(access_key_id) if access_key_id else None
        if row is None:
            raise Unauthorized("no such access key", code="unknown_key")
        return ObjectCredential(
            access_key_id=row["access_key_id"],
            secret_access_key=row["secret"],
            session_token="",
            token_hash=row["token_hash"],
            owner=row["owner"],
            prefix=row["prefix"],
            writable=bool(row["writable"]),
            region=row["region"],
            expires_at=row["expires_at"],
        )

    def check_session(self, credential: ObjectCredential, session_token: str) -> None:
        """Unauthorized ("bad_token") unless the session token is the one issued with the key,
        and ("expired") once the credential has expired."""
        given = _hash(session_token)
        if not session_token or not hmac.compare_digest(credential.token_hash, given):
            raise Unauthorized("the session token is not the one issued", code="bad_token")
        if credential.expires_at <= time.time():
            raise Unauthorized("the credential has expired", code="expired")

    def authorize(self, credential: ObjectCredential, owner: str, key: str, write: bool) -> None:
        """Forbidden unless the credential reaches `key` of `owner`'s store for this access."""
        if owner != credential.owner or not credential.covers(key):
            raise Forbidden(f"this credential does not reach {owner}/{key}")
        if write and not credential.writable:
            raise Forbidden("this credential is read-only")
