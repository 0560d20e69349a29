"""Runs (a function called once per tuple of a parameters literal) and their jobs (the calls,
each a localrun run of the run's job)."""

from __future__ import annotations

from aiohttp import web

from localrun.api.common import form_fields, number, service
from localrun.api.sharedcloud.common import (
    FAMILY,
    does_not_exist,
    field_uuid,
    owner,
    path_uuid,
    required,
    route,
)
from localrun.api.sharedcloud.shapes import job_detail, job_json, run_json
from localrun.errors import Invalid, NotFound
from localrun.runs import Job, Run
from localrun.service import Service
from localrun.service.accounts import FieldInvalid

JOB_LIST_LIMIT = 10_000  # the newest jobs a list shows (the client reads no pages)


async def own_job(svc: Service, who: str, job_id: str) -> Job:
    """The owner's run (a job of this family), once it is whole."""
    job = await svc.get_job(who, job_id)
    if job.family != FAMILY or svc.being_made(job.id):
        raise NotFound(f"no run {job_id}")
    return job


async def whole_jobs(svc: Service, who: str) -> list[Job]:
    """The owner's runs, newest first, but those POST /runs is still making."""
    return [job for job in await svc.list_jobs(who, FAMILY) if not svc.being_made(job.id)]


async def own_call(svc: Service, who: str, run_id: str) -> tuple[Run, Job]:
    run = await svc.get_run(who, run_id)
    if run.family != FAMILY or run.job_id is None:
        raise NotFound(f"no job {run_id}")
    return run, await own_job(svc, who, run.job_id)


@route("POST", "/runs")
async def create_run(request: web.Request) -> web.Response:
    who = await owner(request)
    fields = await form_fields(request)
    svc = service(request)
    given = required(fields, "function")
    function_id = field_uuid(given, "function")
    try:
        await svc.get_function(who, function_id)
    except NotFound:
        raise does_not_exist("function", given) from None
    parameters = required(fields, "parameters")
    try:
        bid_price = number(required(fields, "bid_price"), "bid_price", minimum=0)
    except FieldInvalid:
        raise
    except Invalid:
        raise FieldInvalid("bid_price", "A valid number (0 or more) is required.") from None
    gpu = fields.get("base_gpu", "").strip()
    if gpu:
        field_uuid(gpu, "base_gpu")
        raise does_not_exist("base_gpu", gpu)
    job, _ = await svc.create_handler_job(
        who,
        FAMILY,
        function_id=function_id,
        parameters=parameters,
        spec={"bid_price": bid_price, "base_gpu": None},
    )
    return web.json_response(run_json(job), status=201)


@route("GET", "/runs")
async def list_runs(request: web.Request) -> web.Response:
    who = await owner(request)
    jobs = await whole_jobs(service(request), who)
    return web.json_response([run_json(job) for job in jobs])


@route("GET", "/runs/{uuid}")
async def get_run(request: web.Request) -> web.Response:
    who = await owner(request)
    job = await own_job(service(request), who, path_uuid(request))
    return web.json_response(run_json(job))


@route("DELETE", "/runs/{uuid}")
async def delete_run(request: web.Request) -> web.Response:
    who = await owner(request)
    svc = service(request)
    job = await own_job(svc, who, path_uuid(request))
    await svc.remove_job(who, job.id)
    return web.Response(status=204)


@route("GET", "/jobs")
async def list_jobs(request: web.Request) -> web.Response:
    who = await owner(request)
    svc = service(request)
    jobs = {job.id: job for job in await whole_jobs(svc, who)}
    calls = await svc.list_runs(who, family=FAMILY, newest_first=True, limit=JOB_LIST_LIMIT)
    return web.json_response(
        [job_json(run, jobs[run.job_id]) for run in calls if run.job_id in jobs]
    )


@route("GET", "/jobs/{uuid}")
async def get_job(request: web.Request) -> web.Response:
    who = await owner(request)
    svc = service(request)
    run, job = await own_call(svc, who, path_uuid(request))
    output = await svc.handler_output(run)
    events = await svc.events(who, run.id)
    return web.json_response(job_detail(run, job, output, events))
