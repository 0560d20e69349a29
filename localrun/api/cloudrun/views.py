"""Cloudrun's views; paths are relative to PREFIX (see the package's docstring)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from localrun.api.cloudrun.shapes import field_json, run_json
from localrun.api.common import (
    FormReader,
    Handler,
    form_fields,
    header_token,
    integer,
    json_object,
    json_response,
    json_value,
    optional_number,
    service,
    with_and_without_slash,
)
from localrun.errors import Invalid, Unauthorized
from localrun.runs import Run, StoredFile
from localrun.wrf.output import Box, parse_time

PREFIX = "/v1"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
CREATE_FIELDS = frozenset({"model", "version", "run_name"})
routes = web.RouteTableDef()


def both(method: str, path: str) -> Callable[[Handler], Handler]:
    return with_and_without_slash(routes, method, path)


async def owner(request: web.Request) -> str:
    """The token's owner; the client may send `<token>|<user id>`."""
    value = header_token(request, "Bearer")
    if not value:
        raise Unauthorized("no Bearer token: send Authorization: Bearer <token>")
    candidates = [value]
    if "|" in value:
        candidates.append(value.split("|", 1)[0].strip())
    for token in candidates:
        try:
            return await service(request).owner_of(token)
        except Unauthorized:
            continue
    raise Unauthorized("invalid or revoked token")


async def own_run(request: web.Request) -> tuple[str, Run]:
    who = await owner(request)
    return who, await service(request).get_run(who, request.match_info["id"])


async def respond(request: web.Request, run: Run, status: int = 200) -> web.Response:
    return json_response(await run_json(service(request), run), status=status)


def moment(fields: dict[str, str], name: str) -> datetime | None:
    text = fields.get(name, "").strip()
    if not text:
        return None
    try:
        return parse_time(text)
    except ValueError:
        raise Invalid(f"{name} must look like 2018-01-01_00:00:00, not {text!r}") from None


def chosen_option(value: Any) -> dict[str, Any]:
    """choose_option's arguments from what a PATCH puts at /selected_compute_option:
    {"compute_option_id"}, {"cores"} or a bare id."""
    if isinstance(value, dict) and value.get("compute_option_id") is not None:
        return {"option": str(value["compute_option_id"])}
    if isinstance(value, dict) and value.get("cores") is not None:
        return {"cores": integer(value["cores"], "cores")}
    if isinstance(value, str) and value:
        return {"option": value}
    raise Invalid('selected_compute_option takes {"compute_option_id": "<id>"}')


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


def cloudrun_box(
    lon1: float | None, lat1: float | None, lon2: float | None, lat2: float | None
) -> Box:
    """The client leaves out a bound equal to 0, so an axis with one bound given reads the
    missing one as 0."""

    def pair(a: float | None, b: float | None) -> tuple[float | None, float | None]:
        return (a, b) if (a is None) == (b is None) else (a or 0.0, b or 0.0)

    (lon1, lon2), (lat1, lat2) = pair(lon1, lon2), pair(lat1, lat2)
    return Box(lon1, lat1, lon2, lat2)


@both("POST", "/runs")
async def create_run(request: web.Request) -> web.Response:
    who = await owner(request)
    fields = await form_fields(request)
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
    limit = integer(request.query.get("limit", DEFAULT_LIMIT), "limit", 1, MAX_LIMIT)
    before = None
    if "cursor" in request.query:
        before = integer(request.query["cursor"], "cursor", 0)
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
    return json_response(body)


@both("GET", "/runs/{id}")
async def get_run(request: web.Request) -> web.Response:
    _, run = await own_run(request)
    return await respond(request, run)


@both("PATCH", "/runs/{id}")
async def patch_run(request: web.Request) -> web.Response:
    _, run = await own_run(request)
    svc = service(request)
    operations = patch_operations(await json_value(request, empty=[]))
    for _, path, _ in operations:
        if path not in ("/selected_compute_option", "/run_name"):
            raise Invalid(f"{path} cannot be changed; /selected_compute_option and /run_name can")
    for op, path, value in operations:
        if path == "/selected_compute_option":
            clear = op == "remove" or value in (None, {})
            run = await svc.select_option(run, **({} if clear else chosen_option(value)))
        else:
            name = None if op == "remove" or value is None else str(value)
            run = await svc.update_extra(run, run_name=name)
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
        async for part in FormReader.of(request):
            if part.filename:
                # Cloudrun shows no checksum of an input (CLIENTS.md A3): none is computed
                stored = await svc.upload_input(
                    who, run.id, part.filename, part.chunks(), checksum=False
                )
            elif part.name in ("url", "name"):
                fields[part.name] = await part.text()
            else:
                raise Invalid(f"unexpected form field {part.name!r}: send 'file' or 'url'")
    elif request.can_read_body:
        fields = await form_fields(request)
    if stored is None and fields.get("url"):
        stored = await svc.upload_input_url(who, run.id, fields["url"], fields.get("name"))
    if stored is None:
        raise Invalid("send the file as the multipart field 'file', or its URL as the field 'url'")
    body = {"file": {"id": str(stored.id), "name": stored.name, "size": stored.size}}
    return json_response(body, status=200)


@both("POST", "/runs/{id}/start")
@both("POST", "/wrf/{id}/start")
async def start_run(request: web.Request) -> web.Response:
    who, run = await own_run(request)
    svc = service(request)
    fields = await form_fields(request)
    wanted = fields.get("selected_compute_option") or fields.get("compute_option_id")
    if fields.get("cores"):
        chosen: dict[str, Any] = {"cores": integer(fields["cores"], "cores")}
    elif wanted:
        chosen = {"option": wanted}
    elif svc.selected_option(run) is None:
        raise Invalid(
            "choose a compute option first: PATCH /selected_compute_option, or send the form "
            "field cores or selected_compute_option"
        )
    else:
        chosen = {}
    run = await svc.start_on_option(who, run.id, **chosen)
    return await respond(request, run)


@both("POST", "/runs/{id}/stop")
async def stop_run(request: web.Request) -> web.Response:
    who, run = await own_run(request)
    run = await service(request).stop(who, run.id, started_only=True)
    return await respond(request, run)


@both("GET", "/runs/{id}/output/fields/{field}")
async def read_output(request: web.Request) -> web.Response:
    _, run = await own_run(request)
    fields = dict(request.query)
    if request.content_type == "application/json":
        body = await json_object(request)
        fields.update({str(k): str(v) for k, v in body.items() if v is not None})
    elif request.can_read_body:
        raw = (await request.read()).decode("utf-8", "replace")
        fields.update({k: v[-1] for k, v in parse_qs(raw).items()})
    box = cloudrun_box(
        *(optional_number(fields, name) for name in ("lon1", "lat1", "lon2", "lat2"))
    )
    found = await service(request).read_output(
        run,
        request.match_info["field"],
        moment(fields, "time1"),
        moment(fields, "time2"),
        box,
        domain=integer(fields.get("domain", 1), "domain", 1),
    )
    return json_response(field_json(found))
