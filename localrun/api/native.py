"""localrun's own API under /localrun/v1/: runs, events, logs, files, estimate, health."""

from __future__ import annotations

import base64
import json
import shutil
import time
from typing import Any

from aiohttp import BodyPartReader, web

from localrun import __version__
from localrun.api.formats import iso_z, parse_time
from localrun.api.keys import part_chunks, service
from localrun.api.openapi import BODIES, document
from localrun.errors import Invalid
from localrun.runs import Event, Run, State
from localrun.service import Service
from localrun.wrf.namelist import NamelistError, read_case

PREFIX = "/localrun/v1"
routes = web.RouteTableDef()
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
CREATE_FIELDS = frozenset(BODIES[("post", PREFIX + "/runs")])
START_FIELDS = frozenset(BODIES[("post", PREFIX + "/runs/{id}/start")])


async def owner(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        token = ""
    return await service(request).owner_of(token.strip())


async def json_body(request: web.Request, allowed: frozenset[str]) -> dict[str, Any]:
    """The body's JSON object ({} when empty); a field outside `allowed` is refused."""
    if not request.can_read_body:
        return {}
    raw = await request.read()
    if not raw.strip():
        return {}
    body = json.loads(raw)
    if not isinstance(body, dict):
        raise Invalid("the request body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise Invalid(f"unknown field {unknown[0][:40]!r}; this takes {', '.join(sorted(allowed))}")
    return body


def _int(value: Any, name: str, minimum: int = 0) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise Invalid(f"{name} must be an integer") from None
    if number < minimum:
        raise Invalid(f"{name} must be at least {minimum}")
    return number


def run_json(svc: Service, run: Run, events: list[Event] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": run.id,
        "name": run.name,
        "model": run.model,
        "version": run.version,
        "family": run.family,
        "state": run.state,
        "cores": run.cores,
        "walltime_s": run.walltime_s,
        "created_at": iso_z(run.created_at),
        "queued_at": iso_z(run.queued_at),
        "started_at": iso_z(run.started_at),
        "ended_at": iso_z(run.ended_at),
        "progress": run.progress,
        "usage": run.usage,
        "exit_code": run.exit_code,
        "error": None,
        "required_inputs": svc.required_inputs(run),
        "missing_inputs": svc.missing_inputs(run) if not run.terminal else [],
        "stop_requested": run.stop_requested_at is not None,
    }
    if run.error_code or run.error_message:
        body["error"] = {
            "code": run.error_code,
            "message": run.error_message,
            "hint": run.error_hint,
        }
    if events is not None:
        body["events"] = [event_json(e) for e in events]
    return body


def event_json(event: Event) -> dict[str, Any]:
    return {"at": iso_z(event.at), "state": event.state, "message": event.message}


async def _run_response(request: web.Request, run: Run, status: int = 200) -> web.Response:
    svc = service(request)
    events = None
    if request.query.get("events") in {"1", "true", "yes"}:
        events = await svc.store.events(run.id)
    return web.json_response(run_json(svc, run, events), status=status)


@routes.post(PREFIX + "/runs")
async def create_run(request: web.Request) -> web.Response:
    who = await owner(request)
    body = await json_body(request, CREATE_FIELDS)
    cores = body.get("cores")
    walltime = body.get("walltime_s")
    run = await service(request).create_run(
        who,
        "localrun",
        name=str(body.get("name") or ""),
        model=str(body.get("model") or "wrf"),
        version=str(body.get("version") or "latest"),
        cores=None if cores is None else _int(cores, "cores", 1),
        walltime_s=None if walltime is None else _int(walltime, "walltime_s", 1),
    )
    return await _run_response(request, run, 201)


@routes.get(PREFIX + "/runs")
async def list_runs(request: web.Request) -> web.Response:
    who = await owner(request)
    query = request.query
    limit = min(_int(query.get("limit", DEFAULT_LIMIT), "limit", 1), MAX_LIMIT)
    filters: dict[str, Any] = {}
    if "state" in query:
        states = query["state"].split(",")
        unknown = [s for s in states if s not in list(State)]
        if unknown:
            raise Invalid(f"unknown state {unknown[0]!r}; states are {', '.join(State)}")
        filters["states"] = states
    if "name" in query:
        filters["name"] = query["name"]
    if "created_after" in query:
        try:
            filters["created_after"] = parse_time(query["created_after"])
        except ValueError:
            raise Invalid("created_after must be an ISO-8601 time or epoch seconds") from None
    if "cursor" in query:
        filters["after_seq"] = _decode_cursor(query["cursor"])
    svc = service(request)
    found = await svc.list_runs(who, limit=limit + 1, **filters)
    page = found[:limit]
    cursor = _encode_cursor(page[-1].seq) if len(found) > limit else None
    return web.json_response({"runs": [run_json(svc, r) for r in page], "next_cursor": cursor})


def _encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "seq":
            raise ValueError(kind)
        return int(value)
    except ValueError:
        raise Invalid("cursor is not one this server gave out") from None


@routes.get(PREFIX + "/runs/{id}")
async def get_run(request: web.Request) -> web.Response:
    run = await service(request).get_run(await owner(request), request.match_info["id"])
    return await _run_response(request, run)


@routes.delete(PREFIX + "/runs/{id}")
async def delete_run(request: web.Request) -> web.Response:
    svc = service(request)
    run = await svc.delete_outputs(await owner(request), request.match_info["id"])
    return await _run_response(request, run)


@routes.post(PREFIX + "/runs/{id}/inputs")
async def upload_inputs(request: web.Request) -> web.Response:
    who = await owner(request)
    svc = service(request)
    run = await svc.get_run(who, request.match_info["id"])
    if not request.content_type.startswith("multipart/"):
        raise Invalid("upload inputs as multipart/form-data, one file per part")
    reader = await request.multipart()
    stored = []
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or not part.filename:
            raise Invalid("every part of the upload must be a file with a filename")
        stored.append(await svc.upload_input(who, run.id, part.filename, part_chunks(part)))
    if not stored:
        raise Invalid("the upload holds no file")
    run = await svc.get_run(who, run.id)
    body = {
        "files": [{"name": f.name, "size": f.size, "md5": f.md5} for f in stored],
        "run": run_json(svc, run),
    }
    return web.json_response(body, status=201)


@routes.post(PREFIX + "/runs/{id}/start")
async def start_run(request: web.Request) -> web.Response:
    who = await owner(request)
    body = await json_body(request, START_FIELDS)
    cores = body.get("cores")
    run = await service(request).start(
        who,
        request.match_info["id"],
        cores=None if cores is None else _int(cores, "cores", 1),
        oversubscribe=bool(body.get("oversubscribe", False)),
    )
    return await _run_response(request, run, 202)


@routes.post(PREFIX + "/runs/{id}/stop")
async def stop_run(request: web.Request) -> web.Response:
    run = await service(request).stop(await owner(request), request.match_info["id"])
    return await _run_response(request, run, 202)


@routes.get(PREFIX + "/runs/{id}/events")
async def run_events(request: web.Request) -> web.Response:
    events = await service(request).events(await owner(request), request.match_info["id"])
    return web.json_response({"events": [event_json(e) for e in events]})


@routes.get(PREFIX + "/runs/{id}/logs")
async def run_logs(request: web.Request) -> web.Response:
    query = request.query
    chunk = await service(request).read_log(
        await owner(request),
        request.match_info["id"],
        name=query.get("name", "rsl.out.0000"),
        offset=_int(query.get("offset", 0), "offset"),
        limit=min(_int(query.get("limit", 1 << 20), "limit", 1), 16 << 20),
        wait_s=min(float(_int(query.get("follow", 0), "follow")), 60.0),
    )
    return web.json_response(
        {
            "name": chunk.name,
            "offset": chunk.offset,
            "next_offset": chunk.next_offset,
            "size": chunk.size,
            "eof": chunk.eof,
            "text": chunk.data.decode("utf-8", "replace"),
        }
    )


@routes.get(PREFIX + "/runs/{id}/files")
async def run_files(request: web.Request) -> web.Response:
    svc = service(request)
    run = await svc.get_run(await owner(request), request.match_info["id"])
    listing = [
        {"path": e.path, "size": e.size, "modified_at": iso_z(e.mtime)}
        for e in svc.output_entries(run)
    ]
    return web.json_response({"files": listing})


@routes.get(PREFIX + "/runs/{id}/files/{path:.+}")
async def run_file(request: web.Request) -> web.FileResponse:
    svc = service(request)
    run = await svc.get_run(await owner(request), request.match_info["id"])
    path = svc.file_path(run, request.match_info["path"])
    return web.FileResponse(path, headers={"Content-Type": "application/octet-stream"})


@routes.post(PREFIX + "/estimate")
async def estimate(request: web.Request) -> web.Response:
    await owner(request)
    text = (await request.read()).decode("utf-8", "replace")
    try:
        case = read_case(text)
    except NamelistError as exc:
        raise Invalid(exc.message, code="namelist") from None
    return web.json_response({"options": await service(request).estimate(case)})


@routes.get(PREFIX + "/health")
@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    svc = service(request)
    settings = svc.settings
    disk = shutil.disk_usage(settings.data_path)
    body = {
        "status": "ok",
        "version": __version__,
        "uptime_s": round(time.time() - svc.started, 1),
        "mpi": svc.mpi_info(),
        "models": svc.models(),
        "disk_free_bytes": disk.free,
        "cores": {
            "total": settings.total_cores,
            "free": max(0, settings.total_cores - svc.supervisor.cores_in_use),
        },
    }
    return web.json_response(body)


@routes.get(PREFIX + "/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(document())
