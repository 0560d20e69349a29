"""Rescale API v2: the job flow rescalepy uses (see rescale.py for the mapping onto localrun).

GET  /api/v2/                            the token check (401 when bad) -> the API's roots
GET  /api/v2/analyses/                   wrf (configured versions, newest first, then the
                                         simulator) and user_included (any command)
GET  /api/v2/coretypes/                  this machine, as the core type "local"
POST /api/v2/files/contents/             multipart field `file` -> 201 file (typeId 1)
GET  /api/v2/files/{id}/                 the file
GET  /api/v2/files/{id}/contents/        its bytes (also under /api/)
GET  /api/v2/jobs/                       your jobs, newest first
POST /api/v2/jobs/                       {"name", "jobanalyses": [{"analysis": {"code",
                                         "version"}, "command", "hardware": {"coreType",
                                         "coresPerSlot", "cores", "walltime" (hours)},
                                         "inputFiles": [{"id"}], "variables"?}],
                                         "jobvariables"?} -> 201 job
GET  /api/v2/jobs/{id}/                  the job, with jobStatus (its newest status)
POST /api/v2/jobs/{id}/submit/           -> exactly 200 {}; 409 the second time
POST /api/v2/jobs/{id}/stop/             stop every run -> {}
GET  /api/v2/jobs/{id}/statuses/         newest first
GET  /api/v2/jobs/{id}/files/            every run's output files (also under /api/)
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from localrun.api.common import (
    json_object,
    json_response,
    multipart_parts,
    part_chunks,
    root,
    service,
)
from localrun.api.formats import iso_z
from localrun.api.rescale.common import FAMILY, listing, owner, route
from localrun.api.rescale.job_spec import CORE_TYPE, USER_INCLUDED, WRF, job_request
from localrun.api.rescale.shapes import LAUNCHER_LOGS, job_statuses, output_json, upload_json
from localrun.errors import Invalid, NotFound
from localrun.runs import Job, Run, StoredFile
from localrun.service import Service
from localrun.service.versions import SIMULATOR


def software(svc: Service) -> list[dict[str, Any]]:
    def version(code: str, text: str) -> dict[str, Any]:
        return {"id": code, "version": text, "versionCode": code, "allowedCoreTypes": [CORE_TYPE]}

    wrf = [version(v, v) for v in svc.versions(WRF)]
    wrf.append(version(SIMULATOR, "localrun's WRF simulator (serves any other version)"))
    return [
        {
            "code": WRF,
            "name": "WRF",
            "description": "The Weather Research and Forecasting model (wrf.exe under mpirun)",
            "vendorName": "NCAR",
            "versions": wrf,
        },
        {
            "code": USER_INCLUDED,
            "name": "Bring Your Own Software",
            "description": "Any shell command; wrf.exe and mpirun are on its PATH",
            "vendorName": "",
            "versions": [version("0", "0")],
        },
    ]


@route("GET", "")
async def api_root(request: web.Request) -> web.Response:
    await owner(request)
    base = str(request.url.with_path(root(request) + "/").with_query(None))
    names = ("analyses", "coretypes", "files", "jobs")
    return json_response({name: f"{base}{name}/" for name in names})


@route("GET", "/analyses")
async def analyses(request: web.Request) -> web.Response:
    await owner(request)
    return listing(request, software(service(request)))


@route("GET", "/coretypes")
async def coretypes(request: web.Request) -> web.Response:
    await owner(request)
    settings = service(request).settings
    core_type = {
        "code": CORE_TYPE,
        "name": "localrun",
        "displayOrder": 1,
        "description": f"This machine: {settings.total_cores} cores for runs",
        "cores": list(range(1, settings.total_cores + 1)),
        "price": settings.cost_per_core_hour,
        "isDefault": True,
        "isPrimary": True,
    }
    return listing(request, [core_type])


# files


@route("POST", "/files/contents")
async def upload(request: web.Request) -> web.Response:
    who = await owner(request)
    if not request.content_type.startswith("multipart/"):
        raise Invalid("upload the file as multipart/form-data in the field 'file'")
    stored: StoredFile | None = None
    async for part in multipart_parts(request):
        if part.name == "file" and part.filename:
            stored = await service(request).store_upload(who, part.filename, part_chunks(part))
        else:
            await part.release()
    if stored is None:
        raise Invalid("the upload holds no file: send it in the multipart field 'file'")
    return json_response(upload_json(stored), status=201)


async def file_json(svc: Service, who: str, stored: StoredFile) -> dict[str, Any]:
    if stored.run_id is None:
        return upload_json(stored)
    run = await svc.get_run(who, stored.run_id)
    if run.job_id is None:
        return upload_json(stored)
    return output_json(await svc.get_job(who, run.job_id), run, stored)


@route("GET", "/files/{id}")
async def get_file(request: web.Request) -> web.Response:
    who = await owner(request)
    svc = service(request)
    stored = await svc.owned_file(who, request.match_info["id"])
    return json_response(await file_json(svc, who, stored))


@route("GET", "/files/{id}/contents", seed=True)
async def file_contents(request: web.Request) -> web.FileResponse:
    stored = await service(request).owned_file(await owner(request), request.match_info["id"])
    headers = {
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f'attachment; filename="{stored.name.rsplit("/", 1)[-1]}"',
    }
    return web.FileResponse(stored.path, headers=headers)


# jobs


async def statuses_of(svc: Service, runs: list[Run]) -> list[dict[str, Any]]:
    return job_statuses([(run, await svc.events_of(run)) for run in runs])


async def job_json(svc: Service, job: Job) -> dict[str, Any]:
    runs = await svc.job_runs(job.owner, job.id)
    spec = job.spec
    inputs = []
    for file_id in spec["inputFiles"]:
        try:
            inputs.append(upload_json(await svc.owned_file(job.owner, file_id)))
        except NotFound:
            inputs.append({"id": file_id})
    newest = (await statuses_of(svc, runs))[0]
    return {
        "id": job.id,
        "name": job.name,
        "owner": job.owner,
        "dateInserted": iso_z(job.created_at),
        "jobanalyses": [
            {
                "analysis": spec["analysis"],
                "command": spec["command"],
                "hardware": spec["hardware"],
                "inputFiles": inputs,
                "useRescaleLicense": False,
            }
        ],
        "jobvariables": spec["jobvariables"],
        "runCount": len(runs),
        "projectId": None,
        "isLowPriority": False,
        "jobStatus": {
            "content": newest["status"],
            "date": newest["statusDate"],
            "reason": newest["statusReason"],
        },
    }


@route("GET", "/jobs")
async def list_jobs(request: web.Request) -> web.Response:
    who = await owner(request)
    svc = service(request)
    jobs = [await job_json(svc, job) for job in await svc.list_jobs(who, FAMILY)]
    return listing(request, jobs)


@route("POST", "/jobs")
async def create_job(request: web.Request) -> web.Response:
    who = await owner(request)
    svc = service(request)
    job, _ = await svc.create_job(who, FAMILY, **job_request(svc, await json_object(request)))
    return json_response(await job_json(svc, job), status=201)


@route("GET", "/jobs/{job}")
async def get_job(request: web.Request) -> web.Response:
    who = await owner(request)
    svc = service(request)
    job = await svc.get_job(who, request.match_info["job"])
    return json_response(await job_json(svc, job))


@route("POST", "/jobs/{job}/submit")
async def submit_job(request: web.Request) -> web.Response:
    await service(request).submit_job(await owner(request), request.match_info["job"])
    return json_response({}, status=200)


@route("POST", "/jobs/{job}/stop")
async def stop_job(request: web.Request) -> web.Response:
    await service(request).stop_job(await owner(request), request.match_info["job"])
    return json_response({})


@route("GET", "/jobs/{job}/statuses")
async def job_statuses_view(request: web.Request) -> web.Response:
    who = await owner(request)
    svc = service(request)
    job = await svc.job_runs(who, request.match_info["job"])
    return listing(request, await statuses_of(svc, job))


@route("GET", "/jobs/{job}/files", seed=True)
async def job_files(request: web.Request) -> web.Response:
    who = await owner(request)
    svc = service(request)
    job = await svc.get_job(who, request.match_info["job"])
    found = []
    for run in await svc.job_runs(who, job.id):
        outputs = await svc.output_files(run, LAUNCHER_LOGS)
        found += [output_json(job, run, f) for f in outputs]
    return listing(request, found)
