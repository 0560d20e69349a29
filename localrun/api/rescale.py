"""Rescale's API, as `rescalepy` 0.4.2 speaks it (CLIENTS.md §D) and as seed 002 documents runs.

The shared parts: auth, the error dialect, pagination, statuses and the JSON shapes. The views
are in rescale_jobs.py (the v2 job flow) and rescale_runs.py (the runs of a job).

Auth is `Authorization: Token <token>`; a missing or bad token is 401, another owner's job or
file 404. Errors are DRF's `{"detail": "..."}`. Every path answers with and without its trailing
slash, never with a redirect. Every list is `{"count", "next", "previous", "results"}`, with
absolute `next`/`previous` URLs built from the request's host; `?page=N&page_size=M` (default
20, at most 1000); a page past the end is 404.

How Rescale's objects map onto localrun:
* An uploaded file is kept on its own, owned by the token's owner, until jobs use it; its id
  is the store's file id. A job links it into each of its runs (so one upload serves any
  number of jobs), and unpacks a `.zip` there: an archive whose members all sit in one folder
  named like the archive (`ics.zip` holding `ics/...`, which is how rescalepy uploads a
  directory) gives that folder's contents, so `ics/wrfinput_d01` lands as `wrfinput_d01` in the
  working directory; any other archive is unpacked as it is. No member may land outside.
* A job is one localrun run of kind "shell" per combination of its variables: run k of job J
  is the localrun run "J-k" (family "rescale"). The command runs with `/bin/sh -c` in the
  run's work/, where `wrf.exe`, `mpirun` and `mpiexec` name the configured model and launcher.
  A run reserves `hardware.coresPerSlot` cores in a sweep and `hardware.cores` otherwise;
  `walltime` is in hours. Analyses: `wrf` (any version; versions without a configured
  executable run the built-in simulator) and `user_included` (your own command; `wrf.exe` is
  the newest configured WRF).
* Variables (a sweep): `jobvariables` of the job, or `variables` of its analysis, each
  `{"name", "values": [...]}` or Rescale's `{"name", "variableType": "Param",
  "valueGeneration": {"type": "FixedRange", "minValue", "maxValue", "increment"}}`. Every
  combination is one run listing its `variables`; its command starts with
  `export name=value ...;`, so the command and its scripts read them as `$name`.
* Statuses, newest first: Pending (created), Queued (submitted), Started and Validated (being
  launched), Executing (running), Stopping (a stop was asked), Completed once every run has
  ended, whatever the outcome: rescalepy waits for Completed only. A run that failed or timed
  out says so in `statusReason` with localrun's diagnosis of the WRF logs.
* Output files of a run: what it wrote in work/ (staged inputs left out), the launcher's
  stdout and stderr as `process_output.log`/`process_error.log`, and its snapshots
  (`snapshots/snapshot-<time>.zip`, what the run had written when the snapshot was asked).
  Each gets its id the first time it is listed and keeps it. In a job with several runs the
  `relativePath` starts with `run<k>/`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import PurePosixPath
from typing import Any, TypeVar

from aiohttp import web

from localrun import runs
from localrun.api.dialects import Dialect
from localrun.api.formats import iso_z
from localrun.api.keys import Handler, service, with_and_without_slash
from localrun.errors import Invalid, NotFound, Unauthorized
from localrun.runs import Event, Run, State, StoredFile

V2 = "/api/v2"
V1 = "/api"
FAMILY = "rescale"
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 1000
INPUT, OUTPUT = 1, 5

T = TypeVar("T")

PENDING, QUEUED, STARTED, VALIDATED = "Pending", "Queued", "Started", "Validated"
EXECUTING, STOPPING, COMPLETED = "Executing", "Stopping", "Completed"
ORDER = (PENDING, QUEUED, STARTED, VALIDATED, EXECUTING, STOPPING, COMPLETED)
_WORDS = {
    State.CREATED: (PENDING,),
    State.READY: (PENDING,),
    State.QUEUED: (QUEUED,),
    State.STARTING: (STARTED, VALIDATED),
    State.RUNNING: (EXECUTING,),
}
_ENDINGS = {
    State.FAILED: "failed",
    State.TIMED_OUT: "timed out",
    State.LOST: "was lost",
    State.CANCELLED: "was stopped",
}


def rescale_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"detail": message}, status=status)


def ours(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in (V2, V1 + "/jobs", V1 + "/files"))


DIALECT = Dialect(FAMILY, ours, rescale_error)


def both(
    table: web.RouteTableDef, method: str, path: str, prefixes: Sequence[str] = (V2,)
) -> Callable[[Handler], Handler]:
    return with_and_without_slash(table, method, path, prefixes)


async def owner(request: web.Request) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "token" or not value.strip():
        raise Unauthorized("Authentication credentials were not provided.")
    try:
        return await service(request).owner_of(value.strip())
    except Unauthorized:
        raise Unauthorized("Invalid token.") from None


def prefix(request: web.Request) -> str:
    """The API root the request came in under: /api/v2 or the seed's /api."""
    return V2 if ours_v2(request.path) else V1


def ours_v2(path: str) -> bool:
    return path == V2 or path.startswith(V2 + "/")


def number(value: Any, name: str, minimum: float = -math.inf) -> float:
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise Invalid(f"{name} must be a number, not {value!r}") from None
    if not math.isfinite(result) or result < minimum:
        raise Invalid(f"{name} must be a number of at least {minimum:g}, not {value!r}")
    return result


def integer(value: Any, name: str, minimum: int = 0) -> int:
    result = number(value, name, minimum)
    if not result.is_integer():
        raise Invalid(f"{name} must be a whole number, not {value!r}")
    return int(result)


def page(request: web.Request, items: Sequence[T]) -> tuple[list[T], dict[str, Any]]:
    """This page's items, and the envelope (without its results) that goes with them."""
    query = request.query
    number_ = integer(query.get("page", 1), "page", 1)
    size = integer(query.get("page_size", DEFAULT_PAGE_SIZE), "page_size", 1)
    size = min(size, MAX_PAGE_SIZE)
    pages = max(1, math.ceil(len(items) / size))
    if number_ > pages:
        raise NotFound("Invalid page.")

    def link(n: int) -> str:
        return str(request.url.update_query(page=str(n)))

    envelope = {
        "count": len(items),
        "next": link(number_ + 1) if number_ < pages else None,
        "previous": link(number_ - 1) if number_ > 1 else None,
    }
    return list(items[(number_ - 1) * size : number_ * size]), envelope


def listing(request: web.Request, items: Sequence[dict[str, Any]]) -> web.Response:
    results, envelope = page(request, items)
    return web.json_response({**envelope, "results": results})


# statuses


def run_timeline(run: Run, events: list[Event]) -> dict[str, tuple[float, str | None]]:
    """When each status word first applied to the run, with its reason."""
    seen: dict[str, tuple[float, str | None]] = {}
    for event in events:
        if event.message.startswith("stop requested"):
            seen.setdefault(STOPPING, (event.at, event.message))
        elif event.state in runs.TERMINAL:
            seen.setdefault(COMPLETED, (event.at, outcome(run)))
        for word in _WORDS.get(event.state, ()):
            seen.setdefault(word, (event.at, None))
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


# shapes


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


def output_json(run: Run, stored: StoredFile) -> dict[str, Any]:
    job = run.extra["job"]
    relative = stored.name if job["runs"] == 1 else f"run{job['index']}/{stored.name}"
    path = f"{run.owner}/output/job_{job['id']}/run{job['index']}/{stored.name}"
    return file_json(stored, relative, OUTPUT, path)


def numeric(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def variables_json(run: Run) -> list[dict[str, Any]]:
    return [
        {"name": name, "value": numeric(value), "displayValue": text, "isRelative": False}
        for name, value, text in run.extra["job"]["variables"]
    ]


def run_json(run: Run, outputs: list[StoredFile]) -> dict[str, Any]:
    """Seed 002's Run object."""
    index = int(run.extra["job"]["index"])
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
