"""The pages: the runs list (or the login form), a run's page, and the forms they post."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from localrun.api.common import service
from localrun.api.errors import status_of
from localrun.errors import Invalid, NotFound, ServiceError, Unauthorized
from localrun.runs import Run
from localrun.service import Service
from localrun.service.outputs import LAUNCHER_LOGS
from localrun.web import auth
from localrun.web.listing import filters, find
from localrun.web.plot import plot, step_times
from localrun.web.rows import STATE_CLASSES, domains, summary
from localrun.web.usage import usage_plot

Page = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAIN_LOG = "rsl.out.0000"
PLOTTED_BYTES = 16 << 20
TAIL_BYTES = 16 << 10
MAX_FORM = 64 << 10
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def render(
    request: web.Request, template: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    csrf, new = auth.csrf_token(request)
    context = {"csrf": csrf, "who": None, "state_classes": STATE_CLASSES, **context}
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    response.headers.update(HEADERS)
    if new:
        auth.remember_csrf(request, response, csrf)
    return response


def page(handler: Page) -> Page:
    """A service error becomes a page saying what went wrong, with its status."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except Unauthorized:
            return render(request, "login.html", {"message": "Log in first."}, 401)
        except ServiceError as exc:
            who = await auth.owner(request)
            context = {"message": exc.message, "who": who}
            return render(request, "error.html", context, status_of(exc, {}))

    return wrapped


async def form(request: web.Request) -> dict[str, str]:
    """A posted form's fields, its CSRF token checked."""
    if request.content_length is not None and request.content_length > MAX_FORM:
        raise Invalid("the form is too large")
    try:
        posted = await request.post()
    except (ValueError, AssertionError, LookupError, web.HTTPException) as exc:
        raise Invalid(f"the form is malformed: {exc}") from None
    fields = {k: v for k, v in posted.items() if isinstance(v, str)}
    auth.check_csrf(request, fields)
    return fields


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


@page
async def runs_page(request: web.Request) -> web.StreamResponse:
    who = await auth.owner(request)
    if who is None:
        return render(request, "login.html", {"message": ""})
    wanted = filters(request)
    rows = await find(request, who, wanted)
    svc = service(request)
    context = {
        "who": who,
        "runs": rows,
        "filters": wanted,
        "cores_free": svc.cores_free(),
        "cores_total": svc.settings.total_cores,
    }
    return render(request, "runs.html", context)


@page
async def login(request: web.Request) -> web.StreamResponse:
    fields = await form(request)
    token = fields.get("token", "").strip()
    who = None
    if token and len(token) <= auth.MAX_TOKEN:
        try:
            who = await service(request).owner_of(token)
        except Unauthorized:
            who = None
    if who is None:
        return render(request, "login.html", {"message": "That token is not valid."}, 401)
    response = see_other("/")
    auth.log_in(request, response, token)
    return response


@page
async def logout(request: web.Request) -> web.StreamResponse:
    await form(request)
    response = see_other("/")
    auth.log_out(response)
    return response


async def _log_text(svc: Service, run: Run, name: str, limit: int) -> tuple[str, int]:
    """The last `limit` bytes of a log of the run as text, and the log's size."""
    first = await svc.read_log(run.owner, run.id, name=name, offset=0, limit=1, wait_s=0)
    offset = max(0, first.size - limit)
    chunk = await svc.read_log(run.owner, run.id, name=name, offset=offset, limit=limit, wait_s=0)
    return chunk.data.decode("utf-8", "replace"), first.size


def _logs(svc: Service, run: Run) -> list[str]:
    found = [
        e.path for e in svc.work_entries(run) if "/" not in e.path and e.path.startswith("rsl.")
    ]
    return [*sorted(found), *LAUNCHER_LOGS]


@page
async def run_page(request: web.Request) -> web.StreamResponse:
    who = await auth.required(request)
    svc = service(request)
    run = await svc.get_run(who, request.match_info["id"])
    logs = _logs(svc, run)
    chosen = request.query.get("log", MAIN_LOG)
    if chosen not in logs:
        chosen = MAIN_LOG if MAIN_LOG in logs else logs[0]
    text, size = await _log_text(svc, run, chosen, TAIL_BYTES)
    plotted = text if chosen == MAIN_LOG and size <= TAIL_BYTES else None
    if plotted is None:
        plotted, _ = await _log_text(svc, run, MAIN_LOG, PLOTTED_BYTES)
    outputs = svc.output_entries(run) if run.outputs_deleted_at is None else []
    context = {
        "who": who,
        "run": summary(run, time.time()),
        "record": run,
        "domains": domains(run),
        "plot": plot(step_times(plotted)),
        "usage": usage_plot(run),
        "events": await svc.events(who, run.id),
        "logs": logs,
        "log": chosen,
        "tail": text,
        "outputs": outputs,
        "stoppable": not run.terminal,
        "format_time": lambda at: time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at)),
    }
    return render(request, "run.html", context)


@page
async def stop(request: web.Request) -> web.StreamResponse:
    await form(request)
    who = await auth.required(request)
    run = await service(request).stop(who, request.match_info["id"], "stopped from the web page")
    return see_other(f"/ui/runs/{run.id}")


@page
async def download(request: web.Request) -> web.StreamResponse:
    who = await auth.required(request)
    svc = service(request)
    run = await svc.get_run(who, request.match_info["id"])
    relpath = request.match_info["path"]
    if relpath not in {e.path for e in svc.output_entries(run)}:
        raise NotFound(f"run {run.id} has no output {relpath}")
    path = svc.file_path(run, relpath)
    name = re.sub(r"[^A-Za-z0-9._+-]", "_", relpath.rsplit("/", 1)[-1])
    headers = {
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Content-Type-Options": "nosniff",
    }
    return web.FileResponse(path, headers=headers)
