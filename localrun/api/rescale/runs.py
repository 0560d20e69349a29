"""The runs of a Rescale job (seed 002), under both /api/v2/jobs/... and /api/jobs/...

GET  jobs/{id}/runs/                              the runs (seed's Run objects), paginated
GET  jobs/{id}/runs/{run}/                        one run; its id is "1", "2", ...
POST jobs/{id}/runs/{run}/stop/                   -> {}
POST jobs/{id}/runs/{run}/snapshot/               zip what the live run wrote so far into
                                                  its output files -> {"data", "exitcode",
                                                  "lastSnapshotID" (the new file's id),
                                                  "reason"}
GET  jobs/{id}/runs/{run}/files/                  its output files, paginated
GET  jobs/{id}/runs/{run}/directory-contents/     every file in its working directory now:
                                                  a bare list of {"path", "resource"}
GET  jobs/{id}/runs/{run}/tail/{path}             raw bytes; ?lines=N -> {"fileType",
                                                  "lines"}: the last N lines, read from the
                                                  end of the file whatever its size
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from aiohttp import web

from localrun import files
from localrun.api.common import integer, json_response, root, service
from localrun.api.rescale.common import both_routes, listing, owner, route
from localrun.api.rescale.shapes import LAUNCHER_LOGS, output_json, run_json
from localrun.runs import Run

RUN = "/jobs/{job}/runs/{run}"
MAX_LINES = 100_000


async def job_run(request: web.Request) -> tuple[str, Run]:
    who = await owner(request)
    info = request.match_info
    return who, await service(request).job_run(who, info["job"], info["run"])


@route("GET", "/jobs/{job}/runs", seed=True)
async def list_runs(request: web.Request) -> web.Response:
    who = await owner(request)
    svc = service(request)
    runs = await svc.job_runs(who, request.match_info["job"])
    shown = [run_json(run, await svc.output_files(run, LAUNCHER_LOGS)) for run in runs]
    return listing(request, shown)


@route("GET", RUN, seed=True)
async def get_run(request: web.Request) -> web.Response:
    _, run = await job_run(request)
    outputs = await service(request).output_files(run, LAUNCHER_LOGS)
    return json_response(run_json(run, outputs))


@route("POST", RUN + "/stop", seed=True)
async def stop_run(request: web.Request) -> web.Response:
    who, run = await job_run(request)
    await service(request).stop(who, run.id)
    return json_response({})


@route("POST", RUN + "/snapshot", seed=True)
async def snapshot(request: web.Request) -> web.Response:
    who, run = await job_run(request)
    stored = await service(request).snapshot(who, run.id)
    body = {
        "data": "",
        "exitcode": 0,
        "lastSnapshotID": str(stored.id),
        "reason": f"Snapshot taken: {stored.name} ({stored.size} bytes)",
    }
    return json_response(body)


@route("GET", RUN + "/files", seed=True)
async def run_files(request: web.Request) -> web.Response:
    who, run = await job_run(request)
    svc = service(request)
    job = await svc.get_job(who, request.match_info["job"])
    outputs = await svc.output_files(run, LAUNCHER_LOGS)
    return listing(request, [output_json(job, run, f) for f in outputs])


@route("GET", RUN + "/directory-contents", seed=True)
async def directory_contents(request: web.Request) -> web.Response:
    _, run = await job_run(request)
    info = request.match_info
    base = f"{root(request)}/jobs/{info['job']}/runs/{info['run']}/tail/"
    entries = service(request).work_entries(run)
    return json_response([{"path": e.path, "resource": base + quote(e.path)} for e in entries])


@both_routes.get(RUN + "/tail/{path:.+}")
async def tail(request: web.Request) -> web.StreamResponse:
    _, run = await job_run(request)
    svc = service(request)
    relpath = request.match_info["path"].rstrip("/")
    path = svc.work_file(run, relpath)
    if "lines" not in request.query:
        return web.FileResponse(path, headers={"Content-Type": "application/octet-stream"})
    count = min(integer(request.query["lines"], "lines", 0), MAX_LINES)
    kind = await asyncio.to_thread(files.file_kind, path)
    lines = await asyncio.to_thread(files.tail_lines, path, count)
    return json_response({"fileType": f"{relpath}: {kind}", "lines": lines})
