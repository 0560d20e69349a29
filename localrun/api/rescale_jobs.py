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

import json
import math
import re
from typing import Any

from aiohttp import BodyPartReader, web

from localrun.api.formats import iso_z
from localrun.api.keys import part_chunks, service
from localrun.api.rescale import (
    FAMILY,
    V1,
    V2,
    both,
    job_statuses,
    listing,
    number,
    output_json,
    owner,
    upload_json,
)
from localrun.errors import Invalid, NotFound
from localrun.runs import Run, StoredFile
from localrun.service import Service

routes = web.RouteTableDef()
CORE_TYPE = "local"
WRF, USER_INCLUDED = "wrf", "user_included"
SIMULATOR = "simulator"


def wrf_versions(svc: Service) -> list[str]:
    """The configured WRF versions, newest first."""
    found = {m["version"] for m in svc.models() if m["model"] == WRF and m["version"] != "*"}
    return sorted(found, key=lambda v: [int(n) for n in re.findall(r"\d+", v)], reverse=True)


def software(svc: Service) -> list[dict[str, Any]]:
    def version(code: str, text: str) -> dict[str, Any]:
        return {"id": code, "version": text, "versionCode": code, "allowedCoreTypes": [CORE_TYPE]}

    wrf = [version(v, v) for v in wrf_versions(svc)]
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


@both(routes, "GET", "")
async def root(request: web.Request) -> web.Response:
    await owner(request)
    base = str(request.url.with_path(V2 + "/").with_query(None))
    names = ("analyses", "coretypes", "files", "jobs")
    return web.json_response({name: f"{base}{name}/" for name in names})


@both(routes, "GET", "/analyses")
async def analyses(request: web.Request) -> web.Response:
    await owner(request)
    return listing(request, software(service(request)))


@both(routes, "GET", "/coretypes")
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


@both(routes, "POST", "/files/contents")
async def upload(request: web.Request) -> web.Response:
    who = await owner(request)
    if not request.content_type.startswith("multipart/"):
        raise Invalid("upload the file as multipart/form-data in the field 'file'")
    reader = await request.multipart()
    stored: StoredFile | None = None
    while (part := await reader.next()) is not None:
        if isinstance(part, BodyPartReader) and part.name == "file" and part.filename:
            stored = await service(request).store_upload(who, part.filename, part_chunks(part))
        elif isinstance(part, BodyPartReader):
            await part.release()
    if stored is None:
        raise Invalid("the upload holds no file: send it in the multipart field 'file'")
    return web.json_response(upload_json(stored), status=201)


async def file_json(svc: Service, who: str, stored: StoredFile) -> dict[str, Any]:
    if stored.run_id is None:
        return upload_json(stored)
    return output_json(await svc.get_run(who, stored.run_id), stored)


@both(routes, "GET", "/files/{id}")
async def get_file(request: web.Request) -> web.Response:
    who = await owner(request)
    svc = service(request)
    stored = await svc.owned_file(who, request.match_info["id"])
    return web.json_response(await file_json(svc, who, stored))


@both(routes, "GET", "/files/{id}/contents", prefixes=(V2, V1))
async def file_contents(request: web.Request) -> web.FileResponse:
    stored = await service(request).owned_file(await owner(request), request.match_info["id"])
    headers = {
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f'attachment; filename="{stored.name.rsplit("/", 1)[-1]}"',
    }
    return web.FileResponse(stored.path, headers=headers)


# jobs


def hardware_of(item: dict[str, Any]) -> dict[str, Any]:
    hardware = item.get("hardware") or {}
    if not isinstance(hardware, dict):
        raise Invalid("hardware must be an object")
    return hardware


def cores_of(hardware: dict[str, Any], sweep: bool) -> int:
    """coresPerSlot for each run of a sweep, cores (or slots x coresPerSlot) for a single run."""
    per_slot = hardware.get("coresPerSlot")
    total = hardware.get("cores")
    if total is None and per_slot is not None and hardware.get("slots") is not None:
        total = number(per_slot, "coresPerSlot", 1) * number(hardware["slots"], "slots", 1)
    chosen = (per_slot if sweep else total) or per_slot or total or 1
    value = number(chosen, "cores", 1)
    if not value.is_integer():
        raise Invalid(f"cores must be a whole number, not {chosen!r}")
    return int(value)


def core_type_of(hardware: dict[str, Any]) -> str:
    value = hardware.get("coreType") or CORE_TYPE
    return str(value.get("code") or CORE_TYPE) if isinstance(value, dict) else str(value)


def variable_values(item: dict[str, Any]) -> list[Any]:
    """A variable's values: "values", one "value", or a FixedRange valueGeneration."""
    name = item["name"]
    generation = item.get("valueGeneration") or {}
    if not isinstance(generation, dict):
        raise Invalid(f"variable {name}: valueGeneration must be an object")
    values = item.get("values", generation.get("values"))
    if values is None and "value" in item:
        values = [item["value"]]
    if values is not None:
        if not isinstance(values, list) or not values:
            raise Invalid(f"variable {name}: values must be a non-empty list")
        if any(v is None or isinstance(v, dict | list) for v in values):
            raise Invalid(f"variable {name}: each value must be a number or a string")
        return values
    if "minValue" in generation and "maxValue" in generation:
        low = number(generation["minValue"], f"{name} minValue")
        high = number(generation["maxValue"], f"{name} maxValue", low)
        step = number(generation.get("increment", 1), f"{name} increment", 1e-12)
        count = math.floor((high - low) / step + 1e-9) + 1
        if count > 1000:
            raise Invalid(f"variable {name} makes {count} values; a job may have up to 1000 runs")
        return [round(low + k * step, 10) for k in range(count)]
    raise Invalid(
        f'variable {name}: give "values": [...] or "valueGeneration": '
        '{"type": "FixedRange", "minValue", "maxValue", "increment"}'
    )


def variables_of(raw: Any) -> list[tuple[str, list[Any]]]:
    if not isinstance(raw, list):
        raise Invalid("jobvariables must be a list of variables")
    found = []
    for item in raw:
        if not isinstance(item, dict) or not item.get("name"):
            raise Invalid("each variable needs a name")
        if item.get("variableType", "Param") == "Param":
            found.append((str(item["name"]), variable_values(item)))
    return found


def job_request(svc: Service, body: dict[str, Any]) -> dict[str, Any]:
    """create_job's arguments from the POST jobs/ body."""
    analyses = body.get("jobanalyses")
    if not isinstance(analyses, list) or len(analyses) != 1 or not isinstance(analyses[0], dict):
        raise Invalid("jobanalyses must hold exactly one analysis")
    item = analyses[0]
    analysis = item.get("analysis") or {}
    code = str(analysis.get("code") or "").strip() if isinstance(analysis, dict) else ""
    if code not in (WRF, USER_INCLUDED):
        raise Invalid(f"analysis code {code!r} is not available: use {WRF} or {USER_INCLUDED}")
    newest = (wrf_versions(svc) or [SIMULATOR])[0]
    version = str(analysis.get("version") or "").strip() or newest
    raw_variables = body.get("jobvariables") or item.get("variables") or []
    variables = variables_of(raw_variables)
    hardware = hardware_of(item)
    walltime = hardware.get("walltime")
    hours = None if walltime is None else number(walltime, "walltime (hours)", 1e-6)
    inputs = item.get("inputFiles") or []
    if not isinstance(inputs, list) or not all(isinstance(f, dict) and f.get("id") for f in inputs):
        raise Invalid('inputFiles must be a list of {"id": "<file id>"}')
    command = str(item.get("command") or "")
    name = str(body.get("name") or "").strip() or "rescale-job"
    cores = cores_of(hardware, sweep=bool(variables))
    spec = {
        "name": name,
        "analysis": {"code": code, "version": version},
        "command": command,
        "hardware": {
            "coreType": core_type_of(hardware),
            "coresPerSlot": cores,
            "cores": cores,
            "walltime": hours,
        },
        "inputFiles": [str(f["id"]) for f in inputs],
        "jobvariables": raw_variables,
    }
    return {
        "name": name,
        "model": WRF,
        "version": version if code == WRF else newest,
        "command": command,
        "cores": cores,
        "walltime_s": None if hours is None else math.ceil(hours * 3600),
        "file_ids": spec["inputFiles"],
        "variables": variables,
        "extra": {"rescale": spec},
    }


async def statuses_of(svc: Service, who: str, job: list[Run]) -> list[dict[str, Any]]:
    return job_statuses([(run, await svc.events(who, run.id)) for run in job])


async def job_json(svc: Service, who: str, job: list[Run]) -> dict[str, Any]:
    first = job[0]
    spec = first.extra["rescale"]
    inputs = []
    for file_id in spec["inputFiles"]:
        try:
            inputs.append(upload_json(await svc.owned_file(who, file_id)))
        except NotFound:
            inputs.append({"id": file_id})
    newest = (await statuses_of(svc, who, job))[0]
    return {
        "id": first.extra["job"]["id"],
        "name": spec["name"],
        "owner": first.owner,
        "dateInserted": iso_z(first.created_at),
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
        "runCount": len(job),
        "projectId": None,
        "isLowPriority": False,
        "jobStatus": {
            "content": newest["status"],
            "date": newest["statusDate"],
            "reason": newest["statusReason"],
        },
    }


async def json_object(request: web.Request) -> dict[str, Any]:
    raw = await request.read() if request.can_read_body else b""
    body = json.loads(raw) if raw.strip() else {}
    if not isinstance(body, dict):
        raise Invalid("the request body must be a JSON object")
    return body


@both(routes, "GET", "/jobs")
async def list_jobs(request: web.Request) -> web.Response:
    who = await owner(request)
    svc = service(request)
    firsts = await svc.list_jobs(who, FAMILY)
    jobs = [await job_json(svc, who, await svc.job_runs(who, r.extra["job"]["id"])) for r in firsts]
    return listing(request, jobs)


@both(routes, "POST", "/jobs")
async def create_job(request: web.Request) -> web.Response:
    who = await owner(request)
    svc = service(request)
    job = await svc.create_job(who, FAMILY, **job_request(svc, await json_object(request)))
    return web.json_response(await job_json(svc, who, job), status=201)


@both(routes, "GET", "/jobs/{job}")
async def get_job(request: web.Request) -> web.Response:
    who = await owner(request)
    svc = service(request)
    job = await svc.job_runs(who, request.match_info["job"])
    return web.json_response(await job_json(svc, who, job))


@both(routes, "POST", "/jobs/{job}/submit")
async def submit_job(request: web.Request) -> web.Response:
    await service(request).submit_job(await owner(request), request.match_info["job"])
    return web.json_response({}, status=200)


@both(routes, "POST", "/jobs/{job}/stop")
async def stop_job(request: web.Request) -> web.Response:
    await service(request).stop_job(await owner(request), request.match_info["job"])
    return web.json_response({})


@both(routes, "GET", "/jobs/{job}/statuses")
async def job_statuses_view(request: web.Request) -> web.Response:
    who = await owner(request)
    svc = service(request)
    job = await svc.job_runs(who, request.match_info["job"])
    return listing(request, await statuses_of(svc, who, job))


@both(routes, "GET", "/jobs/{job}/files", prefixes=(V2, V1))
async def job_files(request: web.Request) -> web.Response:
    who = await owner(request)
    svc = service(request)
    found = []
    for run in await svc.job_runs(who, request.match_info["job"]):
        found += [output_json(run, f) for f in await svc.output_files(run)]
    return listing(request, found)
