"""The run record and its states, as every layer sees them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class State(StrEnum):
    CREATED = "created"
    READY = "ready"
    QUEUED = "queued"
    STARTING = "starting"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    LOST = "lost"


class StopReason(StrEnum):
    """Why the daemon ended a live run; decides the terminal state (see wrf.monitor)."""

    USER = "user"
    TIMED_OUT = "timed_out"
    STALLED = "stalled"
    DISK = "disk"  # its folder grew past run_disk_bytes


ADOPTED = "adopted after a daemon restart"  # the event of a run a new daemon watches again

TERMINAL = frozenset({State.SUCCEEDED, State.FAILED, State.CANCELLED, State.TIMED_OUT, State.LOST})
LIVE = frozenset({State.STARTING, State.RUNNING})

JSON_FIELDS = ("launch", "progress", "usage", "extra")


@dataclass
class Run:
    id: str
    owner: str
    family: str
    name: str
    model: str
    version: str
    state: State
    walltime_s: int
    created_at: float
    seq: int = 0
    kind: str = "wrf"
    command: str | None = None
    cores: int = 1
    oversubscribe: bool = False
    queued_at: float | None = None
    started_at: float | None = None
    ended_at: float | None = None
    launch: dict[str, Any] | None = None
    executor_ref: str | None = None
    stop_requested_at: float | None = None
    stop_reason: StopReason | None = None
    exit_code: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    error_hint: str | None = None
    progress: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    outputs_deleted_at: float | None = None
    job_id: str | None = None
    job_index: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    rev: int = 0  # rises with every change to the stored row (see store.migrations)

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    @property
    def percent(self) -> float:
        return float((self.progress or {}).get("percent") or 0.0)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Run:
        data = dict(row)
        for name in JSON_FIELDS:
            if data.get(name) is not None:
                data[name] = json.loads(data[name])
        data["oversubscribe"] = bool(data.get("oversubscribe"))
        data["state"] = State(data["state"])
        if data.get("stop_reason") is not None:
            data["stop_reason"] = StopReason(data["stop_reason"])
        if data.get("extra") is None:
            data["extra"] = {}
        return cls(**data)


@dataclass(frozen=True)
class Job:
    """Runs made together (a family's job, a sweep of variables); they have job_index
    1..size."""

    id: str
    owner: str
    family: str
    name: str
    spec: dict[str, Any]
    created_at: float
    size: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Job:
        return cls(**{**row, "spec": json.loads(row["spec"])})


@dataclass(frozen=True)
class Event:
    id: int
    run_id: str
    at: float
    state: State
    message: str


@dataclass(frozen=True)
class StoredFile:
    id: int
    run_id: str | None
    owner: str
    kind: str
    name: str
    path: str
    size: int
    md5: str | None
    created_at: float
