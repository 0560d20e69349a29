"""Rescale's JSON shapes: its statuses, files, runs, and DRF's error."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from aiohttp import web

from localrun.api.common import json_response
from localrun.api.formats import iso_z
from localrun.runs import Event, Job, Run, State, StopReason, StoredFile

INPUT, OUTPUT = 1, 5
LAUNCHER_LOGS = {"stdout": "process_output.log", "stderr": "process_error.log"}

PENDING, QUEUED, STARTED, VALIDATED = "Pending", "Queued", "Started", "Validated"
EXECUTING, STOPPING, COMPLETED = "Executing", "Stopping", "Completed"
ORDER = (PENDING, QUEUED, STARTED, VALIDATED, EXECUTING, STOPPING, COMPLETED)

# The status words a run has been through when it reached each state; every state ends up
# Completed, with its outcome in the reason.
STATUSES: dict[State, tuple[str, ...]] = {
    State.CREATED: (PENDING,),
    State.READY: (PENDING,),
    State.QUEUED: (QUEUED,),
    State.STARTING: (STARTED, VALIDATED),
    State.RUNNING: (EXECUTING,),
    State.SUCCEEDED: (COMPLETED,),
    State.FAILED: (COMPLETED,),
    State.CANCELLED: (COMPLETED,),
    State.TIMED_OUT: (COMPLETED,),
    State.LOST: (COMPLETED,),
}
_STOPS = {
    StopReason.USER: "Stop requested",
    StopReason.TIMED_OUT: "The wall-clock limit was reached",
    StopReason.STALLED: "The run stalled: no progress and no CPU use",
    StopReason.DISK: "The run wrote more than this host allows a run",
}
_ENDINGS = {
    State.FAILED: "failed",
    State.TIMED_OUT: "timed out",
    State.LOST: "was lost",
    State.CANCELLED: "was stopped",
}


def render_error(status: int, code: str, message: str) -> web.Response:
    return json_response({"detail": message}, status=status)


# statuses


def run_timeline(run: Run, events: list[Event]) -> dict[str, tuple[float, str | None]]:
    """When each status word first applied to the run, with its reason."""
    seen: dict[str, tuple[float, str | None]] = {}
    for event in events:
        for word in STATUSES[event.state]:
            reason = outcome(run) if word == COMPLETED else None
            if event.state == State.QUEUED and event.message.startswith("waiting in the queue"):
                reason = event.message  # a scheduler's reason (Resources, Priority, ...)
            at, known = seen.setdefault(word, (event.at, reason))
            if word == QUEUED:  # a scheduler's queue after the start: Queued is newest again
                seen[word] = (event.at, reason or known)
            elif known is None and reason is not None:
                seen[word] = (at, reason)
    if run.stop_requested_at is not None:
        why = _STOPS.get(run.stop_reason or StopReason.USER, "Stop requested")
        seen.setdefault(STOPPING, (run.stop_requested_at, why))
    return seen


def outcome(run: Run) -> str:
    """Why the run ended, with localrun's diagnosis when it did not succeed."""
    if run.state == State.SUCCEEDED:
        return "Completed successfully"
    reason = f"The run {_ENDINGS.get(run.state, run.state)}"
    if run.error_code:
        reason += f" ({run.error_code})"
    if run.error_message:
        reason += f": {run.error_message}"
    if run.error_hint:
        reason += f". Hint: {run.error_hint}"
    return reason


def job_outcome(job: list[Run]) -> str:
    if len(job) == 1:
        return outcome(job[0])
    bad = [(k, r) for k, r in enumerate(job, 1) if r.state != State.SUCCEEDED]
    if not bad:
        return f"Completed successfully: all {len(job)} runs succeeded"
    shown = "; ".join(f"run {k}: {outcome(r)}" for k, r in bad[:3])
    return f"{len(bad)} of {len(job)} runs did not succeed; {shown}"


def job_statuses(timelines: list[tuple[Run, list[Event]]]) -> list[dict[str, Any]]:
    """The job's statuses, newest first; Completed once every run has ended."""
    merged: dict[str, tuple[float, str | None]] = {}
    for run, events in timelines:
        for word, (at, reason) in run_timeline(run, events).items():
            if word != COMPLETED and (word not in merged or at < merged[word][0]):
                merged[word] = (at, reason)
    job = [run for run, _ in timelines]
    if all(run.terminal for run in job):
        latest = max([run.ended_at or 0.0 for run in job] + [at for at, _ in merged.values()])
        merged[COMPLETED] = (latest, job_outcome(job))
    ranked = sorted(merged.items(), key=lambda kv: (kv[1][0], ORDER.index(kv[0])), reverse=True)
    return [
        {"status": word, "statusDate": iso_z(at), "statusReason": reason}
        for word, (at, reason) in ranked
    ]


# files and runs


def file_json(stored: StoredFile, relative_path: str, type_id: int, path: str) -> dict[str, Any]:
    return {
        "id": str(stored.id),
        "name": PurePosixPath(relative_path).name,
        "relativePath": relative_path,
        "typeId": type_id,
        "dateUploaded": iso_z(stored.created_at),
        "decryptedSize": stored.size,
        "path": path,
        "isUploaded": True,
        "md5": stored.md5,
        "owner": stored.owner,
        "sharedWith": [],
        "viewInBrowser": False,
        "encodedEncryptionKey": "",
    }


def upload_json(stored: StoredFile) -> dict[str, Any]:
    return file_json(stored, stored.name, INPUT, f"{stored.owner}/input/{stored.id}/{stored.name}")


def output_json(job: Job, run: Run, stored: StoredFile) -> dict[str, Any]:
    """An output file; in a job of several runs its relativePath starts with run<k>/."""
    relative = stored.name if job.size == 1 else f"run{run.job_index}/{stored.name}"
    path = f"{run.owner}/output/job_{job.id}/run{run.job_index}/{stored.name}"
    return file_json(stored, relative, OUTPUT, path)


def numeric(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def variables_json(run: Run) -> list[dict[str, Any]]:
    return [
        {"name": name, "value": numeric(value), "displayValue": text, "isRelative": False}
        for name, value, text in run.extra.get("variables") or []
    ]


def run_json(run: Run, outputs: list[StoredFile]) -> dict[str, Any]:
    """Seed 002's Run object."""
    index = int(run.job_index or 1)
    return {
        "id": str(index),
        "displayOrder": index,
        "dateInserted": iso_z(run.created_at),
        "dateStarted": iso_z(run.started_at),
        "dateCompleted": iso_z(run.ended_at),
        "isOptimal": False,
        "outputFileCount": len(outputs),
        "outputFileSize": sum(f.size for f in outputs),
        "parent": None,
        "type": 3,
        "variables": variables_json(run),
    }
