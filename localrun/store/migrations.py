"""Named schema migrations, applied in order, each in its own transaction."""

from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_initial",
        """
        CREATE TABLE tokens (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            owner TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE,
            created_at REAL NOT NULL,
            revoked_at REAL
        );
        CREATE TABLE runs (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            owner TEXT NOT NULL,
            family TEXT NOT NULL,
            name TEXT NOT NULL,
            model TEXT NOT NULL,
            version TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'wrf',
            command TEXT,
            state TEXT NOT NULL,
            cores INTEGER NOT NULL DEFAULT 1,
            oversubscribe INTEGER NOT NULL DEFAULT 0,
            walltime_s INTEGER NOT NULL,
            created_at REAL NOT NULL,
            queued_at REAL,
            started_at REAL,
            ended_at REAL,
            launch TEXT,
            pid INTEGER,
            pid_create_time REAL,
            stop_requested_at REAL,
            stop_reason TEXT,
            exit_code INTEGER,
            error_code TEXT,
            error_message TEXT,
            error_hint TEXT,
            progress TEXT,
            usage TEXT,
            outputs_deleted_at REAL,
            extra TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX runs_owner_seq ON runs(owner, seq);
        CREATE INDEX runs_state ON runs(state);
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            at REAL NOT NULL,
            state TEXT NOT NULL,
            message TEXT NOT NULL
        );
        CREATE INDEX events_run ON events(run_id, id);
        CREATE TABLE files (
            id INTEGER PRIMARY KEY,
            run_id TEXT REFERENCES runs(id) ON DELETE CASCADE,
            owner TEXT NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            path TEXT NOT NULL,
            size INTEGER NOT NULL,
            md5 TEXT,
            created_at REAL NOT NULL
        );
        CREATE INDEX files_run ON files(run_id, kind);
        CREATE TABLE samples (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL,
            host TEXT NOT NULL,
            at REAL NOT NULL,
            data TEXT NOT NULL
        );
        CREATE INDEX samples_host ON samples(host, at);
        """,
    ),
]
