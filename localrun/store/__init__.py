"""SQLite is the truth: one connection, one writer, every state change with its event."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
import orjson

from localrun.errors import NoSpace
from localrun.runs import JSON_FIELDS, TERMINAL, Event, Job, Run, State, StopReason, StoredFile
from localrun.store.migrations import MIGRATIONS
from localrun.store.reserve import DiskReserve

Statement = tuple[str, Sequence[Any]]
T = TypeVar("T")
PAGE_ON_READER = 1001  # the largest page of runs read on the loop's thread (an API's page + 1)


class StoreError(RuntimeError):
    """The database cannot be used (e.g. it was written by a newer localrun)."""


def _disk_full(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(
        exc
    )


class Store:
    def __init__(
        self,
        db: aiosqlite.Connection,
        reserve: DiskReserve | None = None,
        reader: sqlite3.Connection | None = None,
    ) -> None:
        self._db = db
        self._write = asyncio.Lock()
        self.reserve = reserve
        self._reader = reader
        self._tokens: dict[str, str] = {}  # hash -> owner, valid for one data_version
        self._tokens_version: int | None = None

    @classmethod
    async def open(cls, path: Path) -> Store:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)
        db.row_factory = sqlite3.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA foreign_keys=ON")
        await db.execute("PRAGMA busy_timeout=5000")
        await db.execute("PRAGMA synchronous=NORMAL")
        store = cls(db, DiskReserve(path.with_name("disk-reserve")))
        try:
            await store._migrate()
            await store.keep_reserve()
            store._reader = _open_reader(path)
        except BaseException:
            await db.close()
            raise
        return store

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        await self._db.close()

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """A short read (a lookup by key, one page) on the reader connection, in the caller's
        thread: cheaper than the hop to the writer's thread and back. In WAL mode it sees
        every committed write, by this process or another, and waits for none."""
        if self._reader is None:
            raise StoreError("the store is closed")
        return self._reader.execute(sql, params).fetchall()

    def _read_runs(self, sql: str, params: Sequence[Any] = ()) -> list[Run]:
        """_read for rows of runs: plain tuples zipped with the column names once per query
        (sqlite3.Row to dict was a sixth of a listing's time)."""
        if self._reader is None:
            raise StoreError("the store is closed")
        cursor = self._reader.cursor()
        cursor.row_factory = None
        rows = cursor.execute(sql, params).fetchall()
        names = [column[0] for column in cursor.description or ()]
        return [_run(dict(zip(names, row, strict=True))) for row in rows]

    async def _migrate(self) -> None:
        await self._db.execute(
            "CREATE TABLE IF NOT EXISTS migrations "
            "(name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
        )
        applied = {r[0] for r in await self._db.execute_fetchall("SELECT name FROM migrations")}
        known = {name for name, _ in MIGRATIONS}
        newer = sorted(applied - known)
        if newer:
            raise StoreError(
                "this database was written by a newer localrun (unknown migrations: "
                + ", ".join(newer)
                + "); upgrade localrun or use another data directory"
            )
        for name, migration in MIGRATIONS:
            if name in applied:
                continue
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                await migration(self._db)
                await self._db.execute(
                    "INSERT INTO migrations(name, applied_at) VALUES (?, ?)", (name, time.time())
                )
                await self._db.execute("COMMIT")
            except BaseException:
                await self._rollback()
                raise

    async def migrations(self) -> list[tuple[str, float]]:
        rows = await self._db.execute_fetchall("SELECT name, applied_at FROM migrations")
        return [(r[0], r[1]) for r in rows]

    async def _rollback(self) -> None:
        # SQLite ends the transaction itself on some errors (a full disk among them).
        if self._db.in_transaction:
            await self._db.execute("ROLLBACK")

    async def _guarded(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """A write; when the disk is full, once more after the reserve is released, and then
        NoSpace (every family answers it with 507)."""
        for last in (False, True):
            try:
                return await attempt()
            except sqlite3.OperationalError as exc:
                if not _disk_full(exc):
                    raise
                if (
                    last
                    or self.reserve is None
                    or not await asyncio.to_thread(self.reserve.release)
                ):
                    raise NoSpace("the disk holding localrun's database is full") from None
        raise AssertionError("unreachable")

    async def keep_reserve(self) -> bool:
        """Make the disk reserve again where it was released and there is room."""
        return self.reserve is not None and await asyncio.to_thread(self.reserve.ensure)

    async def _run_write(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[int]:
        """Run statements in one transaction; returns each statement's rowcount."""
        return await self._guarded(lambda: self._run_write_once(statements))

    async def _run_write_once(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[int]:
        async with self._write:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                counts = []
                for sql, params in statements:
                    cursor = await self._db.execute(sql, params)
                    counts.append(cursor.rowcount)
                await self._db.execute("COMMIT")
                return counts
            except BaseException:
                await self._rollback()
                raise

    async def _write_returning(
        self,
        sql: str,
        params: Sequence[Any],
        before: Sequence[Statement] = (),
        after: Sequence[Statement] = (),
    ) -> sqlite3.Row:
        """A statement with RETURNING, between others, in one transaction; the row it wrote."""
        return await self._guarded(lambda: self._write_returning_once(sql, params, before, after))

    async def _write_returning_once(
        self,
        sql: str,
        params: Sequence[Any],
        before: Sequence[Statement],
        after: Sequence[Statement],
    ) -> sqlite3.Row:
        async with self._write:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                for statement in before:
                    await self._db.execute(*statement)
                cursor = await self._db.execute(sql, params)
                row = await cursor.fetchone()
                await cursor.close()
                for statement in after:
                    await self._db.execute(*statement)
                await self._db.execute("COMMIT")
            except BaseException:
                await self._rollback()
                raise
        assert row is not None
        return row

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = self._read(sql, params)
        return rows[0] if rows else None

    # tokens

    async def add_token(self, name: str, owner: str, token_hash: str) -> None:
        try:
            await self._run_write(
                [
                    (
                        "INSERT INTO tokens(name, owner, hash, created_at) VALUES (?, ?, ?, ?)",
                        (name, owner, token_hash, time.time()),
                    )
                ]
            )
        except sqlite3.IntegrityError:
            raise StoreError(f"a token named {name!r} exists already") from None

    async def token_owner(self, token_hash: str) -> str | None:
        """The owner of a live token. Every request asks: the owners found are remembered
        while the database's data_version stays the same, which any commit by any
        connection changes (a revoke by the CLI, or by this daemon), so a revoked token is
        refused at its next request."""
        version = self._read("PRAGMA data_version")[0][0]
        if version != self._tokens_version:
            self._tokens.clear()
            self._tokens_version = version
        owner = self._tokens.get(token_hash)
        if owner is None:
            row = await self._one(
                "SELECT owner FROM tokens WHERE hash = ? AND revoked_at IS NULL", (token_hash,)
            )
            if row is None:
                return None
            owner = str(row[0])
            if len(self._tokens) < 1024:
                self._tokens[token_hash] = owner
        return owner

    async def tokens(self) -> list[dict[str, Any]]:
        rows = await self._db.execute_fetchall(
            "SELECT name, owner, created_at, revoked_at FROM tokens ORDER BY id"
        )
        return [dict(r) for r in rows]

    async def revoke_token(self, name: str) -> bool:
        counts = await self._run_write(
            [
                (
                    "UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                    (time.time(), name),
                )
            ]
        )
        return counts[0] == 1

    async def revoke_tokens(self, owner: str, name_prefix: str) -> int:
        """Revoke the owner's live tokens whose names begin with name_prefix; how many."""
        counts = await self._run_write(
            [
                (
                    "UPDATE tokens SET revoked_at = ? WHERE owner = ? AND revoked_at IS NULL "
                    "AND substr(name, 1, ?) = ?",
                    (time.time(), owner, len(name_prefix), name_prefix),
                )
            ]
        )
        return counts[0]

    # users (a name and a password hash; a user's runs are its owner's)

    async def add_user(self, row: dict[str, Any]) -> None:
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        try:
            await self._run_write(
                [(f"INSERT INTO users({names}) VALUES ({marks})", tuple(row.values()))]
            )
        except sqlite3.IntegrityError:
            raise StoreError(f"a user named {row.get('username')!r} exists already") from None

    async def user(
        self, *, username: str | None = None, owner: str | None = None
    ) -> dict[str, Any] | None:
        """The user row (a dict) with this username or owner, or None."""
        column, value = ("username", username) if username is not None else ("owner", owner)
        row = await self._one(f"SELECT * FROM users WHERE {column} = ?", (value,))
        return None if row is None else dict(row)

    async def update_user(self, user_id: str, **changes: Any) -> None:
        sets, params = _sets(changes)
        try:
            await self._run_write([(f"UPDATE users SET {sets} WHERE id = ?", [*params, user_id])])
        except sqlite3.IntegrityError:
            raise StoreError(f"a user named {changes.get('username')!r} exists already") from None

    async def owner_exists(self, owner: str) -> bool:
        """Whether any token or run names this owner."""
        row = await self._one(
            "SELECT EXISTS(SELECT 1 FROM tokens WHERE owner = ?) "
            "OR EXISTS(SELECT 1 FROM runs WHERE owner = ?)",
            (owner, owner),
        )
        return bool(row and row[0])

    async def delete_user(self, user_id: str) -> None:
        await self._run_write([("DELETE FROM users WHERE id = ?", (user_id,))])

    # functions (code that jobs run)

    async def insert_function(self, row: dict[str, Any]) -> dict[str, Any]:
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        written = await self._write_returning(
            f"INSERT INTO functions({names}) VALUES ({marks}) RETURNING *", tuple(row.values())
        )
        return dict(written)

    async def function(self, function_id: str, owner: str) -> dict[str, Any] | None:
        row = await self._one(
            "SELECT * FROM functions WHERE id = ? AND owner = ?", (function_id, owner)
        )
        return None if row is None else dict(row)

    async def functions(self, owner: str) -> list[dict[str, Any]]:
        """The owner's functions, newest first."""
        rows = await self._db.execute_fetchall(
            "SELECT * FROM functions WHERE owner = ? ORDER BY seq DESC", (owner,)
        )
        return [dict(r) for r in rows]

    async def update_function(self, function_id: str, **changes: Any) -> None:
        sets, params = _sets(changes)
        await self._run_write(
            [(f"UPDATE functions SET {sets} WHERE id = ?", [*params, function_id])]
        )

    async def delete_function(self, function_id: str, owner: str) -> bool:
        counts = await self._run_write(
            [("DELETE FROM functions WHERE id = ? AND owner = ?", (function_id, owner))]
        )
        return counts[0] == 1

    async def count_jobs_by_spec(self, owner: str, key: str, value: str) -> int:
        """How many of the owner's jobs have spec[key] == value."""
        if not key.isidentifier():
            raise ValueError(f"spec key {key!r} is not an identifier")
        row = await self._one(
            "SELECT COUNT(*) FROM jobs WHERE owner = ? AND json_extract(spec, ?) = ?",
            (owner, f"$.{key}", value),
        )
        return int(row[0]) if row else 0

    # runs

    async def insert_run(self, run: Run, message: str) -> Run:
        row = _run_columns(run)
        row.pop("seq")
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        written = await self._write_returning(
            f"INSERT INTO runs({names}) VALUES ({marks}) RETURNING *",
            list(row.values()),
            after=[_event(run.id, run.state, message, run.created_at)],
        )
        return _run(written)

    async def get_run(
        self, run_id: str, owner: str | None = None, launch: bool = True
    ) -> Run | None:
        """launch=False leaves out the launch record, as list_runs does."""
        columns = "*" if launch else _COLUMNS_BUT_LAUNCH
        if owner is None:
            found = self._read_runs(f"SELECT {columns} FROM runs WHERE id = ?", (run_id,))
        else:
            found = self._read_runs(
                f"SELECT {columns} FROM runs WHERE id = ? AND owner = ?", (run_id, owner)
            )
        return found[0] if found else None

    async def list_runs(
        self,
        owner: str | None,
        *,
        limit: int = 100,
        newest_first: bool = False,
        launch: bool = True,
        **filters: Any,
    ) -> list[Run]:
        """launch=False leaves out the launch record (argv, environment), which only the
        supervisor reads: listings are faster without it. filters: see _run_filter."""
        where, params = _run_filter(owner, **filters)
        order = "DESC" if newest_first else "ASC"
        columns = "*" if launch else _COLUMNS_BUT_LAUNCH
        sql = f"SELECT {columns} FROM runs WHERE {where} ORDER BY seq {order} LIMIT ?"
        if limit <= PAGE_ON_READER:
            return self._read_runs(sql, [*params, limit])
        rows = await self._db.execute_fetchall(sql, [*params, limit])
        return [_run(r) for r in rows]

    async def run_keys(
        self, owner: str | None, *, limit: int = 100, newest_first: bool = False, **filters: Any
    ) -> list[tuple[int, int]]:
        """(seq, rev) of the page list_runs would return, for a page of at most
        PAGE_ON_READER: a fifth of the time of reading the runs whole."""
        where, params = _run_filter(owner, **filters)
        order = "DESC" if newest_first else "ASC"
        sql = f"SELECT seq, rev FROM runs WHERE {where} ORDER BY seq {order} LIMIT ?"
        return [(row[0], row[1]) for row in self._read(sql, [*params, min(limit, PAGE_ON_READER)])]

    async def run_key(self, run_id: str, owner: str) -> tuple[int, int] | None:
        """(seq, rev) of the owner's run."""
        found = self._read("SELECT seq, rev FROM runs WHERE id = ? AND owner = ?", (run_id, owner))
        return (found[0][0], found[0][1]) if found else None

    async def runs_at(self, owner: str, seqs: Sequence[int]) -> dict[int, Run]:
        """The owner's runs of these seqs (at most PAGE_ON_READER), without their launch
        records."""
        marks = ", ".join("?" for _ in seqs)
        sql = f"SELECT {_COLUMNS_BUT_LAUNCH} FROM runs WHERE owner = ? AND seq IN ({marks})"
        return {run.seq: run for run in self._read_runs(sql, [owner, *seqs])}

    async def owner_bytes(self, owner: str) -> int:
        """What the owner's uploads and inputs take, by their recorded sizes."""
        row = await self._one(
            "SELECT COALESCE(SUM(size), 0) FROM files WHERE owner = ? AND kind IN "
            "('upload', 'input')",
            (owner,),
        )
        return int(row[0]) if row else 0

    async def shell_owners(self) -> list[str]:
        rows = await self._db.execute_fetchall(
            "SELECT DISTINCT owner FROM runs WHERE kind = 'shell' ORDER BY owner"
        )
        return [str(r[0]) for r in rows]

    async def count_runs(self, owner: str | None, family: str | None = None) -> int:
        sql, params = "SELECT COUNT(*) FROM runs WHERE 1 = 1", []  # type: tuple[str, list[Any]]
        if owner is not None:
            sql += " AND owner = ?"
            params.append(owner)
        if family is not None:
            sql += " AND family = ?"
            params.append(family)
        rows = list(await self._db.execute_fetchall(sql, params))  # a scan: off the loop
        return int(rows[0][0]) if rows else 0

    async def transition(
        self,
        run_id: str,
        from_states: Iterable[str],
        to_state: str,
        message: str,
        **changes: Any,
    ) -> bool:
        """Move a run from one of from_states to to_state with its event, atomically.

        Returns False (and changes nothing) when the run is in none of from_states, which is
        how a run gets exactly one terminal transition however many watchers race for it.
        """
        now = time.time()
        states = [s for s in from_states if s not in TERMINAL]
        if to_state in TERMINAL:
            changes.setdefault("ended_at", now)
        sets, params = _sets({"state": to_state, **changes})
        marks = ", ".join("?" for _ in states)
        counts = await self._run_write(
            [
                (
                    f"UPDATE runs SET {sets} WHERE id = ? AND state IN ({marks})",
                    [*params, run_id, *states],
                ),
                (
                    "INSERT INTO events(run_id, at, state, message) "
                    "SELECT ?, ?, ?, ? WHERE changes() = 1",
                    (run_id, now, to_state, message),
                ),
            ]
        )
        return counts[0] == 1

    async def update_run(self, run_id: str, **changes: Any) -> None:
        sets, params = _sets(changes)
        await self._run_write([(f"UPDATE runs SET {sets} WHERE id = ?", [*params, run_id])])

    async def merge_extra(self, run_id: str, values: dict[str, Any]) -> None:
        """Set keys of the run's extra in one statement, so that two writers never lose each
        other's keys (a read-modify-write in Python would)."""
        if not values:
            return
        paths = ", ".join("?, json(?)" for _ in values)
        params: list[Any] = []
        for key, value in values.items():
            if not key.isidentifier():
                raise ValueError(f"extra key {key!r} is not an identifier")
            params += [f"$.{key}", json.dumps(value)]
        sql = f"UPDATE runs SET extra = json_set(COALESCE(extra, '{{}}'), {paths}) WHERE id = ?"
        await self._run_write([(sql, [*params, run_id])])

    async def add_event(self, run_id: str, state: str, message: str) -> None:
        await self._run_write([_event(run_id, state, message, time.time())])

    async def events(self, run_id: str) -> list[Event]:
        rows = self._read(
            "SELECT id, run_id, at, state, message FROM events WHERE run_id = ? ORDER BY id",
            (run_id,),
        )
        return [Event(**dict(r)) for r in rows]

    async def runs_in(self, states: Iterable[str]) -> list[Run]:
        return await self.list_runs(None, states=states, limit=1_000_000)

    # files

    async def add_file(
        self,
        *,
        run_id: str | None,
        owner: str,
        kind: str,
        name: str,
        path: str,
        size: int,
        md5: str | None = None,
        replace: bool = True,
    ) -> StoredFile:
        statements: list[Statement] = []
        if replace and run_id is not None:
            statements.append(
                (
                    "DELETE FROM files WHERE run_id = ? AND kind = ? AND name = ?",
                    (run_id, kind, name),
                )
            )
        row = await self._write_returning(
            "INSERT INTO files(run_id, owner, kind, name, path, size, md5, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (run_id, owner, kind, name, path, size, md5, time.time()),
            before=statements,
        )
        return StoredFile(**dict(row))

    async def files(self, run_id: str, kind: str | None = None) -> list[StoredFile]:
        """On the reader: a keyed lookup that some families' status polls make twice."""
        if kind is None:
            rows = self._read("SELECT * FROM files WHERE run_id = ? ORDER BY id", (run_id,))
        else:
            rows = self._read(
                "SELECT * FROM files WHERE run_id = ? AND kind = ? ORDER BY id", (run_id, kind)
            )
        return [StoredFile(**dict(r)) for r in rows]

    async def set_md5(self, sums: dict[int, str]) -> None:
        """Record the checksums of files whose content no longer changes."""
        await self._run_write(
            [
                ("UPDATE files SET md5 = ? WHERE id = ?", (md5, file_id))
                for file_id, md5 in sums.items()
            ]
        )

    async def get_file(self, file_id: int, owner: str | None = None) -> StoredFile | None:
        row = await self._one("SELECT * FROM files WHERE id = ?", (file_id,))
        if row is None or (owner is not None and row["owner"] != owner):
            return None
        return StoredFile(**dict(row))

    async def delete_files(self, run_id: str, kind: str) -> None:
        await self._run_write([("DELETE FROM files WHERE run_id = ? AND kind = ?", (run_id, kind))])

    # calibration samples

    async def add_sample(self, run_id: str, host: str, data: dict[str, Any]) -> None:
        await self._run_write(
            [
                (
                    "INSERT INTO samples(run_id, host, at, data) VALUES (?, ?, ?, ?)",
                    (run_id, host, time.time(), json.dumps(data)),
                )
            ]
        )

    async def samples(self, host: str, limit: int = 50) -> list[dict[str, Any]]:
        rows = await self._db.execute_fetchall(
            "SELECT data FROM samples WHERE host = ? ORDER BY id DESC LIMIT ?", (host, limit)
        )
        return [json.loads(r[0]) for r in rows]

    # jobs

    async def insert_job(self, job: Job) -> Job:
        values = (job.id, job.owner, job.family, job.name, json.dumps(job.spec))
        row = await self._write_returning(
            f"INSERT INTO jobs({_JOB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
            f"RETURNING {_JOB_COLUMNS}",
            (*values, job.created_at, job.size),
        )
        return Job.from_row(dict(row))

    async def get_job(self, job_id: str, owner: str | None = None) -> Job | None:
        row = await self._one(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        if row is None or (owner is not None and row["owner"] != owner):
            return None
        return Job.from_row(dict(row))

    async def list_jobs(self, owner: str, family: str) -> list[Job]:
        """The owner's jobs in the family, newest first."""
        rows = await self._db.execute_fetchall(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE owner = ? AND family = ? ORDER BY seq DESC",
            (owner, family),
        )
        return [Job.from_row(dict(r)) for r in rows]

    async def owner_runs(self, owner: str | None) -> list[dict[str, Any]]:
        """id, state and executor_ref of every run of owner (None: of everyone)."""
        where, params = ("WHERE owner = ?", (owner,)) if owner is not None else ("", ())
        select = f"SELECT id, state, executor_ref FROM runs {where}"
        return [dict(r) for r in await self._db.execute_fetchall(select, params)]

    async def delete_owner_rows(self, owner: str | None) -> list[str]:
        """Every row of owner's (None: everyone's) runs, their events and files, jobs, loose
        files and functions, in one transaction; returns the loose files' paths. Tokens, users
        and credentials stay."""
        where, params = ("WHERE owner = ?", (owner,)) if owner is not None else ("", ())
        loose_sql = "SELECT path FROM files WHERE run_id IS NULL" + (
            " AND owner = ?" if where else ""
        )
        loose = [str(r["path"]) for r in await self._db.execute_fetchall(loose_sql, params)]
        in_runs = "SELECT id FROM runs " + where
        await self._run_write(
            [
                (f"DELETE FROM events WHERE run_id IN ({in_runs})", params),
                (f"DELETE FROM files {where}", params),
                (f"DELETE FROM runs {where}", params),
                (f"DELETE FROM jobs {where}", params),
                (f"DELETE FROM functions {where}", params),
            ]
        )
        return loose

    async def run_ids(self) -> set[str]:
        rows = await self._db.execute_fetchall("SELECT id FROM runs")
        return {str(r[0]) for r in rows}

    async def job_owners(self) -> list[tuple[str, str]]:
        """Every (owner, family) that has a job."""
        rows = await self._db.execute_fetchall("SELECT DISTINCT owner, family FROM jobs")
        return [(str(r[0]), str(r[1])) for r in rows]

    async def job_runs(self, job_id: str) -> list[Run]:
        """On the reader, like a page of runs: a job's status polls ask for it."""
        return self._read_runs(
            f"SELECT {_COLUMNS_BUT_LAUNCH} FROM runs WHERE job_id = ? ORDER BY job_index",
            (job_id,),
        )

    async def job_run(self, job_id: str, index: int, owner: str) -> Run | None:
        row = await self._one(
            "SELECT * FROM runs WHERE job_id = ? AND job_index = ? AND owner = ?",
            (job_id, index, owner),
        )
        return None if row is None else _run(row)

    async def delete_job(self, job_id: str) -> None:
        """The job and its runs (with their events and files), as if never made."""
        await self._run_write(
            [
                ("DELETE FROM runs WHERE job_id = ?", (job_id,)),
                ("DELETE FROM jobs WHERE id = ?", (job_id,)),
            ]
        )

    async def delete_run(self, run_id: str) -> None:
        """The run's record, with its events and files, as if never made."""
        await self._run_write([("DELETE FROM runs WHERE id = ?", (run_id,))])

    # output files

    async def register_files(
        self, run_id: str, owner: str, kind: str, entries: Sequence[tuple[str, str, int]]
    ) -> list[StoredFile]:
        """A row per (name, path, size), in order; a path that has a row keeps it and its id."""
        known = {f.path: f for f in await self.files(run_id, kind)}
        missing = [entry for entry in entries if entry[1] not in known]
        if missing:
            now = time.time()
            await self._run_write(
                [
                    (
                        "INSERT INTO files(run_id, owner, kind, name, path, size, md5, created_at) "
                        "SELECT ?, ?, ?, ?, ?, ?, NULL, ? WHERE NOT EXISTS (SELECT 1 FROM files "
                        "WHERE run_id = ? AND kind = ? AND path = ?)",
                        (run_id, owner, kind, name, path, size, now, run_id, kind, path),
                    )
                    for name, path, size in missing
                ]
            )
            known = {f.path: f for f in await self.files(run_id, kind)}
        return [known[path] for _, path, _ in entries]

    # temporary object-store credentials (the secret is kept: SigV4 needs it to verify)

    async def add_s3_credential(self, row: dict[str, Any], forget_before: float) -> None:
        """One more credential; those that expired before `forget_before` are deleted."""
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        await self._run_write(
            [
                ("DELETE FROM s3_credentials WHERE expires_at < ?", (forget_before,)),
                (f"INSERT INTO s3_credentials({names}) VALUES ({marks})", tuple(row.values())),
            ]
        )

    async def s3_credential(self, access_key_id: str) -> dict[str, Any] | None:
        row = await self._one(
            "SELECT * FROM s3_credentials WHERE access_key_id = ?", (access_key_id,)
        )
        return None if row is None else dict(row)


def _run_filter(
    owner: str | None,
    *,
    family: str | None = None,
    states: Iterable[str] | None = None,
    name: str | None = None,
    job_id: str | None = None,
    created_after: float | None = None,
    after_seq: int | None = None,
    before_seq: int | None = None,
) -> tuple[str, list[Any]]:
    """The WHERE clause of a listing of runs, and its parameters."""
    where, params = ["1 = 1"], []  # type: tuple[list[str], list[Any]]
    for column, value in (
        ("owner = ?", owner),
        ("family = ?", family),
        ("name = ?", name),
        ("job_id = ?", job_id),
        ("created_at > ?", created_after),
        ("seq > ?", after_seq),
        ("seq < ?", before_seq),
    ):
        if value is not None:
            where.append(column)
            params.append(value)
    if states is not None:
        states = list(states)
        where.append(f"state IN ({', '.join('?' for _ in states)})")
        params += states
    return " AND ".join(where), params


def _loads(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # NaN, or an integer beyond 64 bits: json reads those
        return json.loads(text)


def _run(row: sqlite3.Row | dict[str, Any]) -> Run:
    """Run.from_row with the JSON columns decoded by orjson (4x json's speed; they were most
    of a listing's time) and the enums looked up, not called."""
    data = row if isinstance(row, dict) else dict(row)
    for name in JSON_FIELDS:
        value = data.get(name)
        if value is not None:
            data[name] = _loads(value)
    data["state"] = _STATES[data["state"]]
    reason = data.get("stop_reason")
    if reason is not None:
        data["stop_reason"] = _REASONS[reason]
    data["oversubscribe"] = bool(data.get("oversubscribe"))
    if data.get("extra") is None:
        data["extra"] = {}
    return Run(**data)


_STATES = {state.value: state for state in State}
_REASONS = {reason.value: reason for reason in StopReason}


def _open_reader(path: Path) -> sqlite3.Connection:
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    reader.row_factory = sqlite3.Row
    reader.execute("PRAGMA busy_timeout=1000")
    reader.execute("PRAGMA query_only=ON")
    return reader


def _event(run_id: str, state: str, message: str, at: float) -> Statement:
    return (
        "INSERT INTO events(run_id, at, state, message) VALUES (?, ?, ?, ?)",
        (run_id, at, state, message),
    )


def _encode(name: str, value: Any) -> Any:
    if name in JSON_FIELDS and value is not None:
        return json.dumps(value)
    if isinstance(value, bool):
        return int(value)
    return value


_JOB_COLUMNS = "id, owner, family, name, spec, created_at, size"
_COLUMNS_BUT_LAUNCH = ", ".join(f.name for f in fields(Run) if f.name != "launch")


def _sets(changes: dict[str, Any]) -> tuple[str, list[Any]]:
    sets = ", ".join(f"{name} = ?" for name in changes)
    return sets, [_encode(name, value) for name, value in changes.items()]


def _run_columns(run: Run) -> dict[str, Any]:
    return {name: _encode(name, value) for name, value in asdict(run).items()}
