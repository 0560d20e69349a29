"""The views of localrun's own API; paths are relative to PREFIX."""

from __future__ import annotations

import asyncio
import shutil
import time
from typing import Any

from aiohttp import web

from localrun import __version__
from localrun.api.common import (
    FormReader,
    body_chunks,
    boolean,
    decode_cursor,
    dumps,
    encode_cursor,
    header_token,
    integer,
    json_bytes,
    json_object,
    json_response,
    service,
)
from localrun.api.formats import iso_z, parse_time
from localrun.api.keys import RENDERED
from localrun.api.native.openapi import BODIES, document
from localrun.api.native.shapes import event_json, from_row_alone, run_json
from localrun.config import MAX_CFL_RETRIES as MAX
from localrun.errors import Invalid
from localrun.runs import Run, State, StoredFile
from localrun.service import Service
from localrun.wrf.namelist import NamelistError, read_case

PREFIX = "/localrun/v1"
routes = web.RouteTableDef()
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
CREATE_FIELDS = frozenset(BODIES[("post", PREFIX + "/runs")])
START_FIELDS = frozenset(BODIES[("post", PREFIX + "/runs/{id}/start")])
RESUME_FIELDS = frozenset(BODIES[("post", PREFIX + "/runs/{id}/resume")])


async def owner(request: web.Request) -> str:
    token = header_token(request, "Bearer")
    return await service(request).owner_of(token)


def _wants_events(request: web.Request) -> bool:
    return request.query.get("events") in {"1", "true", "yes"}


async def _run_response(request: web.Request, run: Run, status: int = 200) -> web.Response:
    svc = service(request)
    events = await svc.events(run.owner, run.id) if _wants_events(request) else None
    body = run_json(svc, run, events)
    place = await svc.queue_place(run)
    if place is not None:
        body["queue_position"] = place["position"]
        body["queue_reason"] = body["queue_reason"] or place["reason"]
    encoded = dumps(body)
    if events is None and place is None and from_row_alone(svc, run):
        request.app[RENDERED].put((run.seq, run.rev), encoded)
    return json_bytes(encoded, status)


async def _run_bodies(request: web.Request, who: str, keys: list[tuple[int, int]]) -> list[bytes]:
    """The bodies of these runs, in order: kept ones as they are, the others rendered."""
    rendered = request.app[RENDERED]
    bodies = {seq: rendered.get((seq, rev)) for seq, rev in keys}
    missing = [seq for seq, body in bodies.items() if body is None]
    if missing:
        svc = service(request)
        for seq, run in (await svc.runs_at(who, missing)).items():
            body = bodies[seq] = dumps(run_json(svc, run))
            if from_row_alone(svc, run):
                rendered.put((seq, run.rev), body)
    return [body for body in bodies.values() if body is not None]  # None: deleted meanwhile


@routes.post("/runs")
async def create_run(request: web.Request) -> web.Response:
    who = await owner(request)
    body = await json_object(request, CREATE_FIELDS)
    cores = body.get("cores")
    walltime = body.get("walltime_s")
    retries = body.get("cfl_retries")
    extra = {} if retries is None else {"cfl_retries": integer(retries, "cfl_retries", 0, MAX)}
    run = await service(request).create_run(
        who,
        "localrun",
        name=str(body.get("name") or ""),
        model=str(body.get("model") or "wrf"),
        version=str(body.get("version") or "latest"),
        cores=None if cores is None else integer(cores, "cores", 1),
        walltime_s=None if walltime is None else integer(walltime, "walltime_s", 1),
        extra=extra,
        preprocess=None if body.get("preprocess") is None else str(body["preprocess"]),
    )
    return await _run_response(request, run, 201)


@routes.get("/runs")
async def list_runs(request: web.Request) -> web.Response:
    who = await owner(request)
    query = request.query
    limit = min(integer(query.get("limit", DEFAULT_LIMIT), "limit", 1), MAX_LIMIT)
    filters: dict[str, Any] = {}
    if "state" in query:
        states = query["state"].split(",")
        unknown = [s for s in states if s not in list(State)]
        if unknown:
            raise Invalid(f"unknown state {unknown[0]!r}; states are {', '.join(State)}")
        filters["states"] = states
    if "name" in query:
        filters["name"] = query["name"]
    if "job" in query:
        filters["job_id"] = query["job"]
    if "created_after" in query:
        try:
            filters["created_after"] = parse_time(query["created_after"])
        except ValueError:
            raise Invalid("created_after must be an ISO-8601 time or epoch seconds") from None
    if "cursor" in query:
        filters["after_seq"] = decode_cursor(query["cursor"])
    found = await service(request).run_keys(who, limit=limit + 1, **filters)
    page = found[:limit]
    cursor = encode_cursor(page[-1][0]) if len(found) > limit else None
    bodies = await _run_bodies(request, who, page)
    tail = b'],"next_cursor":' + dumps(cursor) + b"}"
    if not bodies:
        return json_bytes(b'{"runs":[' + tail)
    # One join: a concatenation of the page's ~50 KiB again cost 20x the join (a fresh
    # allocation of that size each time)
    bodies[0] = b'{"runs":[' + bodies[0]
    bodies[-1] = bodies[-1] + tail
    return json_bytes(b",".join(bodies))


@routes.get("/runs/{id}")
async def get_run(request: web.Request) -> web.Response:
    who = await owner(request)
    svc = service(request)
    run_id = request.match_info["id"]
    if not _wants_events(request):
        body = request.app[RENDERED].get(await svc.run_key(who, run_id))
        if body is not None:
            return json_bytes(body)
    return await _run_response(request, await svc.get_run(who, run_id, launch=False))


@routes.delete("/runs/{id}")
async def delete_run(request: web.Request) -> web.Response:
    """The run's files; with record=true its record and events too (204)."""
    svc = service(request)
    who = await owner(request)
    if boolean(request.query.get("record", "false"), "record"):
        await svc.delete_run(who, request.match_info["id"])
        return web.Response(status=204)
    run = await svc.delete_outputs(who, request.match_info["id"])
    return await _run_response(request, run)


@routes.post("/runs/{id}/inputs")
async def upload_inputs(request: web.Request) -> web.Response:
    who = await owner(request)
    svc = service(request)
    run = await svc.get_run(who, request.match_info["id"])
    if not request.content_type.startswith("multipart/"):
        raise Invalid(
            "upload inputs as multipart/form-data, one file per part, "
            f"or PUT each file's bytes to {PREFIX}/runs/{{id}}/inputs/{{name}}"
        )
    stored = []
    async for part in FormReader.of(request):
        if not part.filename:
            raise Invalid("every part of the upload must be a file with a filename")
        stored.append(await svc.upload_input(who, run.id, part.filename, part.chunks()))
    if not stored:
        raise Invalid("the upload holds no file")
    return await _uploaded(request, who, run.id, stored)


@routes.put("/runs/{id}/inputs/{name}")
async def put_input(request: web.Request) -> web.Response:
    """One input file: the body is its bytes, streamed to disk as they arrive."""
    who = await owner(request)
    svc = service(request)
    run = await svc.get_run(who, request.match_info["id"])
    stored = await svc.upload_input(
        who,
        run.id,
        request.match_info["name"],
        body_chunks(request),
        size=request.content_length,
    )
    return await _uploaded(request, who, run.id, [stored])


async def _uploaded(
    request: web.Request, who: str, run_id: str, stored: list[StoredFile]
) -> web.Response:
    svc = service(request)
    run = await svc.get_run(who, run_id)
    body = {
        "files": [{"name": f.name, "size": f.size, "md5": f.md5} for f in stored],
        "run": run_json(svc, run),
    }
    return json_response(body, status=201)


@routes.post("/runs/{id}/start")
async def start_run(request: web.Request) -> web.Response:
    who = await owner(request)
    body = await json_object(request, START_FIELDS)
    cores = body.get("cores")
    run = await service(request).start(
        who,
        request.match_info["id"],
        cores=None if cores is None else integer(cores, "cores", 1),
        oversubscribe=boolean(body.get("oversubscribe", False), "oversubscribe"),
    )
    return await _run_response(request, run, 202)


@routes.post("/runs/{id}/stop")
async def stop_run(request: web.Request) -> web.Response:
    run = await service(request).stop(await owner(request), request.match_info["id"])
    return await _run_response(request, run, 202)


@routes.post("/runs/{id}/resume")
async def resume_run(request: web.Request) -> web.Response:
    who = await owner(request)
    body = await json_object(request, RESUME_FIELDS)
    cores = body.get("cores")
    run = await service(request).resume(
        who,
        request.match_info["id"],
        cores=None if cores is None else integer(cores, "cores", 1),
        start=boolean(body.get("start", True), "start"),
    )
    return await _run_response(request, run, 201)


@routes.get("/runs/{id}/events")
async def run_events(request: web.Request) -> web.Response:
    events = await service(request).events(await owner(request), request.match_info["id"])
    return json_response({"events": [event_json(e) for e in events]})


@routes.get("/runs/{id}/logs")
async def run_logs(request: web.Request) -> web.Response:
    query = request.query
    chunk = await service(request).read_log(
        await owner(request),
        request.match_info["id"],
        name=query.get("name", "rsl.out.0000"),
        offset=integer(query.get("offset", 0), "offset", 0),
        limit=min(integer(query.get("limit", 1 << 20), "limit", 1), 16 << 20),
        wait_s=min(float(integer(query.get("follow", 0), "follow", 0)), 60.0),
    )
    return json_response(
        {
            "name": chunk.name,
            "offset": chunk.offset,
            "next_offset": chunk.next_offset,
            "size": chunk.size,
            "eof": chunk.eof,
            "text": chunk.data.decode("utf-8", "replace"),
        }
    )


@routes.get("/runs/{id}/files")
async def run_files(request: web.Request) -> web.Response:
    svc = service(request)
    run = await svc.get_run(await owner(request), request.match_info["id"])
    listing = [
        {"path": e.path, "size": e.size, "modified_at": iso_z(e.mtime)}
        for e in svc.output_entries(run)
    ]
    return json_response({"files": listing})


@routes.get("/runs/{id}/files/{path:.+}")
async def run_file(request: web.Request) -> web.FileResponse:
    svc = service(request)
    run = await svc.get_run(await owner(request), request.match_info["id"])
    path = svc.file_path(run, request.match_info["path"])
    return web.FileResponse(path, headers={"Content-Type": "application/octet-stream"})


@routes.post("/estimate")
async def estimate(request: web.Request) -> web.Response:
    await owner(request)
    text = (await request.read()).decode("utf-8", "replace")
    try:
        case = read_case(text)
    except NamelistError as exc:
        raise Invalid(exc.message, code="namelist") from None
    return json_response({"options": await service(request).estimate(case)})


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    """/healthz, with where things are: the launcher's and the models' paths. Needs a token."""
    await owner(request)
    body = await _health(service(request))
    svc = service(request)
    body["mpi"] = await asyncio.to_thread(svc.mpi_info)
    linked = await asyncio.to_thread(svc.linked_mpi)
    body["models"] = [{**m, "mpi": linked.get(m["executable"])} for m in svc.models()]
    return json_response(body)


async def healthz(request: web.Request) -> web.Response:
    """What anyone may see without a token: no path, no owner, no run."""
    svc = service(request)
    body = await _health(svc)
    info = await asyncio.to_thread(svc.mpi_info)
    body["mpi"] = {key: info[key] for key in ("found", "version", "library")}
    linked = await asyncio.to_thread(svc.linked_mpi)
    body["models"] = [
        {"model": m["model"], "version": m["version"], "mpi": _no_path(linked[m["executable"]])}
        for m in svc.models()
    ]
    return json_response(body)


def _no_path(found: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in found.items() if k in ("library", "family", "warning")}


async def _health(svc: Service) -> dict[str, Any]:
    settings = svc.settings
    disk = await asyncio.to_thread(shutil.disk_usage, settings.data_path)
    executor = svc.supervisor.executor
    seen = await executor.health()
    total, free = settings.total_cores, svc.cores_free()
    cluster = seen.get("cluster")
    if not executor.counts_cores and isinstance(cluster, dict):  # the scheduler's cores
        parts = cluster["partitions"]
        total, free = sum(p["total_cores"] for p in parts), int(cluster["idle_cores"])
    elif not executor.counts_cores:  # the scheduler never answered: no figure to give
        total = free = 0
    return {
        "status": "degraded" if seen.get("error") else "ok",
        "version": __version__,
        "uptime_s": round(time.time() - svc.started, 1),
        "disk_free_bytes": disk.free,
        "sandbox": svc.isolation,
        "single_user": settings.single_user,
        "executor": seen,
        "cores": {"total": total, "free": free},
    }


@routes.get("/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return json_response(document())
