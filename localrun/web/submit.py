"""The submit form (a case folder or files, uploaded and started on the cores chosen from the
estimator's options) and the estimator's table for a namelist pasted or uploaded."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import unquote

from aiohttp import BodyPartReader, web

from localrun.api.common import multipart_parts, part_chunks, service
from localrun.api.errors import status_of
from localrun.errors import Forbidden, Invalid, ServiceError
from localrun.runs import Run
from localrun.service import Service
from localrun.service.base import NAMELIST
from localrun.web import auth
from localrun.web.views import page, render, see_other
from localrun.wrf.estimate_table import format_duration
from localrun.wrf.namelist import NamelistError, read_case

MAX_NAMELIST = 1 << 20  # a namelist pasted or uploaded to the estimator
MAX_ESTIMATE_FORM = MAX_NAMELIST * 2 + (64 << 10)
MAX_FIELD = 4096
FIELDS = ("csrf", "name", "cores")


def money(value: float | None) -> str:
    """As `localrun estimate` prints a cost: 4 decimals under 0.01, else 2."""
    if value is None:
        return "-"
    return f"{value:.4f}" if 0 < value < 0.01 else f"{value:.2f}"


def rows(options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The estimator's options as the table and the cores menu show them."""
    shown = []
    for o in options:
        time_s, cost, core_hours = o.get("time_s"), o.get("cost"), o.get("core_hours")
        shown.append(
            {
                "cores": int(o["cores"]),
                "valid": bool(o.get("valid")),
                "layout": str(o.get("layout") or ""),
                "time": format_duration(time_s),
                "core_hours": "-" if core_hours is None else f"{core_hours:.3f}",
                "cost": money(cost),
                "recommended": bool(o.get("recommended")),
                "reason": str(o.get("reason") or ""),
            }
        )
    return shown


async def estimate_rows(request: web.Request, text: str) -> list[dict[str, Any]]:
    """The table of POST /localrun/v1/estimate's options, from the same service call."""
    if len(text.encode()) > MAX_NAMELIST:
        raise Invalid(f"the namelist is larger than {MAX_NAMELIST >> 10} KiB")
    try:
        case = await asyncio.to_thread(read_case, text)
    except NamelistError as exc:
        raise Invalid(exc.message, code="namelist") from None
    return rows(await service(request).estimate(case))


# the estimator's table


@page
async def estimate_page(request: web.Request) -> web.StreamResponse:
    who = await auth.required(request)
    return render(request, "estimate.html", {"who": who, "namelist": "", "options": None})


@page
async def estimate(request: web.Request) -> web.StreamResponse:
    who = await auth.required(request)
    if request.content_length is not None and request.content_length > MAX_ESTIMATE_FORM:
        raise Invalid("the form is too large")
    try:
        posted = await request.post()
    except (ValueError, AssertionError, LookupError, web.HTTPException) as exc:
        raise Invalid(f"the form is malformed: {exc}") from None
    auth.check_csrf(request, {k: v for k, v in posted.items() if isinstance(v, str)})
    text = str(posted.get("namelist") or "")
    upload = posted.get("file")
    if isinstance(upload, web.FileField):
        data = upload.file.read(MAX_NAMELIST + 1)
        if data:
            text = data.decode("utf-8", "replace")
    context: dict[str, Any] = {"who": who, "namelist": text[:MAX_NAMELIST], "options": None}
    if not text.strip():
        context["message"] = f"Paste a namelist or choose a {NAMELIST} file."
        return render(request, "estimate.html", context, 400)
    try:
        context["options"] = await estimate_rows(request, text)
    except ServiceError as exc:
        context["message"] = exc.message
        return render(request, "estimate.html", context, status_of(exc, {}))
    return render(request, "estimate.html", context)


async def estimate_json(request: web.Request) -> web.Response:
    """The options for the submit form's cores menu, from the namelist the browser picked."""
    if await auth.owner(request) is None:
        body = {"error": {"status": 401, "code": "unauthorized", "message": "log in first"}}
        return web.json_response(body, status=401)
    auth.check_csrf(request, {"csrf": request.headers.get("X-CSRF-Token", "")})
    if request.content_length is not None and request.content_length > MAX_NAMELIST:
        return _json_error(Invalid(f"the namelist is larger than {MAX_NAMELIST >> 10} KiB"))
    text = (await request.content.read(MAX_NAMELIST + 1)).decode("utf-8", "replace")
    try:
        options = await estimate_rows(request, text)
    except ServiceError as exc:
        return _json_error(exc)
    return web.json_response({"options": options}, headers={"Cache-Control": "no-store"})


def _json_error(exc: ServiceError) -> web.Response:
    status = status_of(exc, {})
    body = {"error": {"status": status, "code": exc.code, "message": exc.message}}
    return web.json_response(body, status=status)


# the submit form


@page
async def submit_page(request: web.Request) -> web.StreamResponse:
    who = await auth.required(request)
    return render(request, "submit.html", _form_context(request, who, {}))


def _form_context(request: web.Request, who: str, fields: dict[str, str]) -> dict[str, Any]:
    svc = service(request)
    return {
        "who": who,
        "name": fields.get("name", ""),
        "cores": fields.get("cores", ""),
        "cores_total": svc.settings.total_cores,
        "cores_free": svc.cores_free(),
        "message": "",
    }


async def field_text(part: BodyPartReader) -> str:
    """A text field of the form, read up to MAX_FIELD bytes (part.text() would hold any)."""
    data = bytearray()
    async for chunk in part_chunks(part, MAX_FIELD):
        data += chunk
        if len(data) > MAX_FIELD:
            raise Invalid(f"the form's {part.name} is longer than {MAX_FIELD} bytes")
    return data.decode("utf-8", "replace").strip()


def case_file_name(filename: str) -> str | None:
    """The input name of a file of the case: a plain file's own name, or a file directly in
    the chosen folder (`case/namelist.input`); None for what is skipped: files in subfolders
    and hidden ones (.DS_Store)."""
    parts = _path_parts(filename)
    if not parts or len(parts) > 2 or parts[-1].startswith("."):
        return None
    return parts[-1]


def _path_parts(filename: str) -> list[str]:
    """A browser sends a folder's file as `folder/name`; aiohttp's client quotes the slash."""
    if "/" not in filename and "%2F" in filename.upper():
        filename = unquote(filename)
    return [p for p in filename.replace("\\", "/").split("/") if p]


def folder_name(filename: str) -> str:
    parts = _path_parts(filename)
    return parts[0] if len(parts) == 2 else ""


def chosen_cores(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        cores = int(text)
    except ValueError:
        raise Invalid(f"cores must be a whole number, not {text[:40]!r}") from None
    if cores < 1:
        raise Invalid("cores must be at least 1")
    return cores


@page
async def submit(request: web.Request) -> web.StreamResponse:
    """Make a run, upload the case into it as it streams in, and start it; any refusal
    removes the run and answers the form again with why."""
    who = await auth.required(request)
    svc = service(request)
    fields: dict[str, str] = {}
    run_id: str | None = None
    cores: int | None = None
    try:
        uploaded = 0
        async for part in multipart_parts(request):
            if part.filename is None:
                if part.name in FIELDS and part.name not in fields:
                    fields[str(part.name)] = await field_text(part)
                else:
                    await part.release()
                continue
            name = case_file_name(part.filename)
            if name is None:
                await part.release()
                continue
            if run_id is None:  # the form's fields come before its files
                auth.check_csrf(request, fields)
                cores = chosen_cores(fields.get("cores", ""))
                if cores is not None:
                    svc.check_cores(cores, oversubscribe=False)  # before any byte is stored
                run_name = fields.get("name", "").strip() or folder_name(part.filename)
                run_id = (await svc.create_run(who, "localrun", name=run_name)).id
            await svc.upload_input(who, run_id, name, part_chunks(part))
            uploaded += 1
        auth.check_csrf(request, fields)
        if run_id is None or not uploaded:
            raise Invalid(f"choose a case folder or its files ({NAMELIST} and its inputs)")
        run = await svc.get_run(who, run_id)
        missing = svc.missing_inputs(run)
        if missing:
            raise Invalid(f"the case lacks {', '.join(missing)}: add it and submit again")
        await svc.start(who, run_id, cores=cores or await _recommended(svc, run))
    except Forbidden:
        await _forget(svc, who, run_id)
        raise
    except ServiceError as exc:
        await _forget(svc, who, run_id)
        context = _form_context(request, who, fields)
        context["message"] = exc.message
        return render(request, "submit.html", context, status_of(exc, {}))
    except (Exception, asyncio.CancelledError):  # the browser went away mid-upload
        await asyncio.shield(_forget(svc, who, run_id))
        raise
    return see_other(f"/ui/runs/{run_id}")


async def _forget(svc: Service, who: str, run_id: str | None) -> None:
    """The run a refused submit made, with its folder: nothing is left behind."""
    if run_id is not None:
        with contextlib.suppress(ServiceError):
            await svc.delete_run(who, run_id)


async def _recommended(svc: Service, run: Run) -> int | None:
    """Without a choice (a browser without JavaScript): the estimator's recommended option."""
    for option in await svc.compute_options(run):
        if option.recommended:
            return option.cores
    return None
