"""Cloudrun's runs API under /v1, as its official Python client uses it (CLIENTS.md §A).

Every path answers with and without a trailing slash. Auth is `Authorization: Bearer <token>`;
the value may carry `|<user id>` after the token. A missing or bad token is 403, another
owner's run 404, and every error is `{"status": <http status>, "message": "..."}`.

    POST   /v1/runs                         form model, version (, run_name) -> 201 Run
    GET    /v1/runs                         ?limit=20&cursor=C -> {"runs": [Run...], "count":
                                            all of your runs, "next": URL of the next page|null};
                                            newest first; cursor comes from "next"
    GET    /v1/runs/{id}                    -> Run
    PATCH  /v1/runs/{id}                    JSON Patch: replace /selected_compute_option
                                            ({"compute_option_id"} or {"cores"}), /run_name
    DELETE /v1/runs/{id}                    outputs removed, metadata kept -> Run
    POST   /v1/runs/{id}/input              multipart field `file`, or form field `url`
                                            (http(s)://, file:// under input_url_dirs)
                                            -> 200 {"file": {"id", "name", "size"}}
    POST   /v1/runs/{id}/start              form cores | selected_compute_option | nothing (the
                                            PATCHed selection) -> Run; alias /v1/wrf/{id}/start
    POST   /v1/runs/{id}/stop               -> Run (409 unless the run was started)
    GET    /v1/runs/{id}/output/fields/{f}  form body (on the GET) or query: time1, time2
                                            (%Y-%m-%d_%H:%M:%S), lon1, lat1, lon2, lat2, domain
                                            -> {F: {attributes}, "times": [...], "data": [...]}

Run `status`: created (inputs missing), ready, starting (queued or launching), active, done,
stopped, error; `error` is then {"status": <diagnosis code>, "message": <what WRF said>}.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from aiohttp import BodyPartReader, web

from localrun.api.dialects import Dialect
from localrun.api.formats import iso_z
from localrun.api.keys import Handler, part_chunks, service, with_and_without_slash
from localrun.errors import Conflict, Invalid, ServiceError, Unauthorized
from localrun.runs import Run, State, StoredFile
from localrun.service import NAMELIST, Service
from localrun.wrf.output import Box, parse_time

PREFIX = "/v1"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
routes = web.RouteTableDef()

STATUS = {
    State.CREATED: "created",
    State.READY: "ready",
    State.QUEUED: "starting",
    State.STARTING: "starting",
    State.RUNNING: "active",
    State.SUCCEEDED: "done",
    State.CANCELLED: "stopped",
    State.FAILED: "error",
    State.TIMED_OUT: "error",
    State.LOST: "error",
}
_DEFAULT_ERRORS = {
    State.FAILED: "the run failed",
    State.TIMED_OUT: "the run reached its wall-clock limit",
    State.LOST: "the run's processes are gone and left no outcome",
}
_OPTION_IDS = uuid.UUID("6f1c0b7e-2d4a-4c1e-9b1a-5d3c2b1a0f9e")


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


def cloudrun_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"status": status, "message": message}, status=status)


DIALECT = Dialect(
    "cloudrun", lambda path: path == PREFIX or path.startswith(PREFIX + "/"), cloudrun_error
)


def both(method: str, path: str) -> Callable[[Handler], Handler]:
    return with_and_without_slash(routes, method, path, (PREFIX,))


async def owner(request: web.Request) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        raise Forbidden("no Bearer token: send Authorization: Bearer <token>")
    candidates = [value]
    if "|" in value:
        candidates.append(value.split("|", 1)[0].strip())
    for token in candidates:
        try:
            return await service(request).owner_of(token)
        except Unauthorized:
            continue
    raise Forbidden("invalid or revoked token")


async def own_run(request: web.Request) -> tuple[str, Run]:
    who = await owner(request)
    return who, await service(request).get_run(who, request.match_info["id"])


# the Run object


def option_id(run_id: str, cores: int) -> str:
    return str(uuid.uuid5(_OPTION_IDS, f"{run_id}/{cores}"))


def compute_options(run: Run, estimate: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "compute_option_id": option_id(run.id, int(o["cores"])),
            "cores": int(o["cores"]),
            "cost": o["cost"],
            "time": None if o["time_s"] is None else math.ceil(o["time_s"]),
            "recommended": bool(o.get("recommended")),
        }
        for o in estimate
        if o.get("valid")
    ]


def percent_complete(run: Run) -> float:
    if run.state == State.SUCCEEDED:
        return 100.0
    return run.percent


def remaining_time(run: Run) -> int | None:
    if run.state == State.SUCCEEDED:
        return 0
    left = (run.progress or {}).get("remaining_s")
    if run.terminal or left is None:
        return None
    return math.ceil(float(left))


def error_json(run: Run) -> dict[str, Any] | None:
    if STATUS[run.state] != "error":
        return None
    message = run.error_message or _DEFAULT_ERRORS.get(run.state, "the run failed")
    if run.error_hint:
        message = f"{message} ({run.error_hint})"
    return {"status": run.error_code or run.state, "message": message}


def file_json(stored: StoredFile) -> dict[str, Any]:
    return {"fileid": str(stored.id), "filename": stored.name, "size": stored.size}


async def run_json(svc: Service, run: Run) -> dict[str, Any]:
    options = compute_options(run, await svc.offered_estimate(run))
    selected = run.extra.get("selected_compute_option") or {}
    current = [o for o in options if o["compute_option_id"] == selected.get("compute_option_id")]
    return {
        "compute_config": {},
        "compute_options": options,
        "disk_usage": svc.disk_usage(run),
        "error": error_json(run),
        "id": run.id,
        "input_files": [file_json(f) for f in await svc.input_files(run)],
        "model": run.model,
        "output_files": [{"filename": e.path, "size": e.size} for e in svc.output_entries(run)],
        "percent_complete": percent_complete(run),
        "remaining_time": remaining_time(run),
        "required_input_files": svc.required_inputs(run),
        "run_name": run.extra.get("run_name"),
        "selected_compute_option": current[0] if current else selected,
        "status": STATUS[run.state],
        "time_created": iso_z(run.created_at),
        "time_started": iso_z(run.queued_at or run.started_at),
        "time_stopped": iso_z(run.ended_at),
        "version": run.version,
    }


async def respond(request: web.Request, run: Run, status: int = 200) -> web.Response:
    return web.json_response(await run_json(service(request), run), status=status)


# request bodies


FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


async def form(request: web.Request) -> dict[str, str]:
    """Form fields (urlencoded or multipart) or a JSON object; {} for an empty body."""
    if not request.can_read_body:
        return {}
    if request.content_type == "application/json":
        raw = await request.read()
        body = json.loads(raw) if raw.strip() else {}
        if not isinstance(body, dict):
            raise Invalid("the request body must be a JSON object or a form")
        return {str(k): str(v) for k, v in body.items() if v is not None}
    if request.content_type not in FORM_TYPES:
        raise Invalid(
            f"a {request.content_type} body is not a form: send the fields form-encoded "
            "(application/x-www-form-urlencoded or multipart/form-data) or as a JSON object"
        )
    posted = await request.post()
    return {k: v for k, v in posted.items() if isinstance(v, str)}


def integer(value: Any, name: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise Invalid(f"{name} must be an integer, not {value!r}") from None


def number(fields: dict[str, str], name: str) -> float | None:
    text = fields.get(name, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise Invalid(f"{name} must be a number, not {text!r}") from None
    if not math.isfinite(value):
        raise Invalid(f"{name} must be a finite number")
    return value


def moment(fields: dict[str, str], name: str) -> datetime | None:
    text = fields.get(name, "").strip()
    if not text:
        return None
    try:
        return parse_time(text)
    except ValueError:
        raise Invalid(f"{name} must look like 2018-01-01_00:00:00, not {text!r}") from None


# choosing a compute option


async def offered(svc: Service, run: Run) -> list[dict[str, Any]]:
    options = compute_options(run, await svc.offered_estimate(run))
    if not options:
        raise Conflict(
            f"run {run.id} has no compute options yet: they come from its {NAMELIST}, "
            "so upload that first"
        )
    return options


def choose(options: list[dict[str, Any]], *, option: str = "", cores: int | None = None) -> Any:
    if cores is not None:
        found = [o for o in options if o["cores"] == cores]
        wanted = f"{cores} cores"
    else:
        found = [o for o in options if o["compute_option_id"] == option]
        wanted = f"compute option {option!r}"
    if not found:
        listing = ", ".join(f"{o['compute_option_id']} ({o['cores']} cores)" for o in options)
        raise Invalid(f"{wanted} is not available; the compute options are: {listing}")
    return found[0]


def selection(options: list[dict[str, Any]], value: Any) -> dict[str, Any]:
    """What a PATCH puts at /selected_compute_option: {"compute_option_id"}, {"cores"}, an id."""
    if isinstance(value, dict) and value.get("compute_option_id") is not None:
        chosen: dict[str, Any] = choose(options, option=str(value["compute_option_id"]))
    elif isinstance(value, dict) and value.get("cores") is not None:
        chosen = choose(options, cores=integer(value["cores"], "cores"))
    elif isinstance(value, str) and value:
        chosen = choose(options, option=value)
    else:
        raise Invalid('selected_compute_option takes {"compute_option_id": "<id>"}')
    return chosen


def patch_operations(body: Any) -> list[tuple[str, str, Any]]:
    """(op, path, value) from a JSON Patch array, or from a plain object of fields."""
    if isinstance(body, dict):
        return [("replace", "/" + str(k), v) for k, v in body.items()]
    if not isinstance(body, list):
        raise Invalid("the body must be a JSON Patch array of operations")
    result = []
    for item in body:
        if not isinstance(item, dict) or "op" not in item or "path" not in item:
            raise Invalid('each JSON Patch operation needs "op" and "path"')
        op = str(item["op"])
        if op not in ("replace", "add", "remove"):
            raise Invalid(f"JSON Patch op {op!r} is not supported: use replace, add or remove")
        result.append((op, str(item["path"]).rstrip("/"), item.get("value")))
    return result


# views


CREATE_FIELDS = {"model", "version", "run_name"}


@both("POST", "/runs")
async def create_run(request: web.Request) -> web.Response:
    who = await owner(request)
    fields = await form(request)
    unknown = sorted(set(fields) - CREATE_FIELDS)
    if unknown:
        allowed = ", ".join(sorted(CREATE_FIELDS))
        raise Invalid(f"unknown form field {unknown[0][:40]!r}; a run takes {allowed}")
    model = fields.get("model", "wrf").strip().lower() or "wrf"
    if model != "wrf":
        raise Invalid(f"model {model!r} is not available; the only model is wrf")
    run_name = fields.get("run_name", "").strip() or None
    run = await service(request).create_run(
        who,
        "cloudrun",
        name=run_name or "",
        model=model,
        version=fields.get("version", "").strip() or "latest",
        extra={"run_name": run_name},
    )
    return await respond(request, run, 201)


@both("GET", "/runs")
async def list_runs(request: web.Request) -> web.Response:
    who = await owner(request)
    svc = service(request)
    limit = integer(request.query.get("limit", DEFAULT_LIMIT), "limit")
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}")
    before = None
    if "cursor" in request.query:
        before = integer(request.query["cursor"], "cursor")
    found = await svc.list_runs(who, limit=limit + 1, before_seq=before, newest_first=True)
    page = found[:limit]
    following = None
    if len(found) > limit:
        query = {"limit": str(limit), "cursor": str(page[-1].seq)}
        following = str(request.url.with_query(query))
    body = {
        "runs": [await run_json(svc, r) for r in page],
        "count": await svc.count_runs(who),
        "next": following,
    }
    return web.json_response(body)


@both("GET", "/runs/{id}")
async def get_run(request: web.Request) -> web.Response:
    _, run = await own_run(request)
    return await respond(request, run)


@both("PATCH", "/runs/{id}")
async def patch_run(request: web.Request) -> web.Response:
    _, run = await own_run(request)
    svc = service(request)
    raw = await request.read()
    changes: dict[str, Any] = {}
    for op, path, value in patch_operations(json.loads(raw) if raw.strip() else []):
        if path == "/selected_compute_option":
            if run.state not in (State.CREATED, State.READY):
                raise Conflict(f"run {run.id} has started; its compute option is fixed")
            clear = op == "remove" or value in (None, {})
            changes[path[1:]] = {} if clear else selection(await offered(svc, run), value)
        elif path == "/run_name":
            changes["run_name"] = None if op == "remove" or value is None else str(value)
        else:
            raise Invalid(f"{path} cannot be changed; /selected_compute_option and /run_name can")
    if changes:
        run = await svc.update_extra(run, **changes)
    return await respond(request, run)


@both("DELETE", "/runs/{id}")
async def delete_run(request: web.Request) -> web.Response:
    who = await owner(request)
    run = await service(request).delete_outputs(who, request.match_info["id"])
    return await respond(request, run)


@both("POST", "/runs/{id}/input")
async def upload_input(request: web.Request) -> web.Response:
    who, run = await own_run(request)
    svc = service(request)
    stored: StoredFile | None = None
    fields: dict[str, str] = {}
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise Invalid("nested multipart bodies are not supported")
            if part.filename:
                stored = await svc.upload_input(who, run.id, part.filename, part_chunks(part))
            elif part.name in ("url", "name"):
                fields[part.name] = (await part.text()).strip()
            else:
                raise Invalid(f"unexpected form field {part.name!r}: send 'file' or 'url'")
    elif request.can_read_body:
        fields = await form(request)
    if stored is None and fields.get("url"):
        stored = await svc.upload_input_url(who, run.id, fields["url"], fields.get("name"))
    if stored is None:
        raise Invalid("send the file as the multipart field 'file', or its URL as the field 'url'")
    body = {"file": {"id": str(stored.id), "name": stored.name, "size": stored.size}}
    return web.json_response(body, status=200)


@both("POST", "/runs/{id}/start")
@both("POST", "/wrf/{id}/start")
async def start_run(request: web.Request) -> web.Response:
    who, run = await own_run(request)
    svc = service(request)
    fields = await form(request)
    stored = run.extra.get("selected_compute_option") or {}
    if fields.get("cores"):
        chosen = choose(await offered(svc, run), cores=integer(fields["cores"], "cores"))
    elif fields.get("selected_compute_option") or fields.get("compute_option_id"):
        wanted = fields.get("selected_compute_option") or fields["compute_option_id"]
        chosen = choose(await offered(svc, run), option=wanted)
    elif stored.get("compute_option_id"):
        chosen = choose(await offered(svc, run), option=str(stored["compute_option_id"]))
    else:
        raise Invalid(
            "choose a compute option first: PATCH /selected_compute_option, or send the form "
            "field cores or selected_compute_option"
        )
    run = await svc.start(who, run.id, cores=int(chosen["cores"]))
    if chosen != stored:
        run = await svc.update_extra(run, selected_compute_option=chosen)
    return await respond(request, run)


@both("POST", "/runs/{id}/stop")
async def stop_run(request: web.Request) -> web.Response:
    who, run = await own_run(request)
    if run.state in (State.CREATED, State.READY):
        raise Conflict(f"run {run.id} is {STATUS[run.state]}: only a started run can be stopped")
    run = await service(request).stop(who, run.id)
    return await respond(request, run)


@both("GET", "/runs/{id}/output/fields/{field}")
async def read_output(request: web.Request) -> web.Response:
    _, run = await own_run(request)
    fields = dict(request.query)
    if request.can_read_body:
        raw = (await request.read()).decode("utf-8", "replace")
        if request.content_type == "application/json":
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise Invalid("the request body must be a form or a JSON object")
            fields.update({str(k): str(v) for k, v in body.items() if v is not None})
        else:
            fields.update({k: v[-1] for k, v in parse_qs(raw).items()})
    box = Box(*(number(fields, name) for name in ("lon1", "lat1", "lon2", "lat2")))
    data = await service(request).read_output(
        run,
        request.match_info["field"],
        moment(fields, "time1"),
        moment(fields, "time2"),
        box,
        domain=integer(fields.get("domain", 1), "domain"),
    )
    return web.json_response(data)
