"""Wherobots' Runs API; paths are relative to its mount (see __init__)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from localrun.api.common import (
    Handler,
    header_token,
    integer,
    json_object,
    service,
    with_and_without_slash,
)
from localrun.api.formats import parse_time
from localrun.api.wherobots.shapes import (
    DEFAULT_RUNTIME,
    RUNTIME_CORES,
    STATUS,
    logs_json,
    metrics_json,
    run_json,
)
from localrun.errors import Invalid, NotFound, Unauthorized
from localrun.runs import Run
from localrun.service.scripts import Script

FAMILY = "wherobots"
DEFAULT_REGION = "local"  # a run made without ?region=
NAME = re.compile(r"[a-zA-Z0-9_.-]{8,255}")  # fullmatch: "$" would let a final "\n" in
MAX_SIZE = 100
LIST_SCAN = 10_000  # runs a listing looks at, newest first; total counts at most these
CREATE_FIELDS = frozenset(
    {"name", "runtime", "version", "timeoutSeconds", "runPython", "runJar", "environment"}
)
MAX_DEPENDENCIES = 50
PACKAGE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,200}[A-Za-z0-9])?(\[[A-Za-z0-9,._-]+\])?$")
VERSION = re.compile(r"^[A-Za-z0-9.+!*_-]{1,64}$")
FILE_KINDS = (".jar", ".whl", ".zip", ".json")
SPARK_NOTE = "sparkConfigs were recorded and ignored: localrun runs the script without Spark"
runs = web.RouteTableDef()


class BadField(Invalid):
    """A field that fails validation: answered 422 with FastAPI's detail."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", code="validation")
        self.field = field


def on(table: web.RouteTableDef, method: str, path: str) -> Callable[[Handler], Handler]:
    return with_and_without_slash(table, method, path)


async def owner(request: web.Request) -> str:
    token = header_token(request, "X-API-Key") or header_token(request, "Bearer")
    if not token:
        raise Unauthorized("send the API key in X-API-Key (or Authorization: Bearer)")
    try:
        return await service(request).owner_of(token)
    except Unauthorized:
        raise Unauthorized("invalid API key") from None


async def own_run(request: web.Request) -> tuple[str, Run]:
    who = await owner(request)
    run = await service(request).get_run(who, request.match_info["id"])
    if run.family != FAMILY:
        raise NotFound(f"no run {run.id}")
    return who, run


def program(body: dict[str, Any]) -> dict[str, Any]:
    """uri, args and mainClass of the runPython or runJar payload (exactly one)."""
    given = [k for k in ("runPython", "runJar") if body.get(k)]
    if len(given) != 1:
        raise BadField("runPython", "give one of runPython and runJar")
    field = given[0]
    spec = body[field]
    if not isinstance(spec, dict) or not isinstance(spec.get("uri"), str):
        raise BadField(field, 'give {"uri": "s3://...", "args": [...]}')
    args = spec.get("args") or []
    if not isinstance(args, list) or not all(isinstance(a, str | int | float) for a in args):
        raise BadField(f"{field}.args", "must be a list of strings")
    if any("\x00" in str(a) for a in args):
        raise BadField(f"{field}.args", "an argument cannot hold a NUL character")
    main_class = spec.get("mainClass") or ""
    if field == "runJar" and (not isinstance(main_class, str) or not main_class):
        raise BadField("runJar.mainClass", "a jar run needs the class to run")
    if field == "runPython" and spec["uri"].lower().endswith(".jar"):
        raise BadField("runPython.uri", "a .jar runs with runJar")
    return {"uri": spec["uri"], "args": tuple(str(a) for a in args), "main_class": main_class}


def dependencies(given: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """PyPI requirements ("name==version") and s3:// file URIs of environment.dependencies."""
    if not given:
        return (), ()
    if not isinstance(given, list) or len(given) > MAX_DEPENDENCIES:
        raise BadField("environment.dependencies", f"must be a list of {MAX_DEPENDENCIES} at most")
    requirements: list[str] = []
    uris: list[str] = []
    for n, item in enumerate(given):
        where = f"environment.dependencies.{n}"
        if not isinstance(item, dict):
            raise BadField(where, "must be an object")
        kind = item.get("sourceType")
        if kind == "PYPI":
            name, version = item.get("libraryName"), item.get("libraryVersion")
            if not isinstance(name, str) or not PACKAGE.fullmatch(name):
                raise BadField(f"{where}.libraryName", "is not a PyPI package name")
            if version is not None and (
                not isinstance(version, str) or not VERSION.fullmatch(version)
            ):
                raise BadField(f"{where}.libraryVersion", "is not a version")
            requirements.append(f"{name}=={version}" if version else name)
        elif kind == "FILE":
            path = item.get("filePath")
            if not isinstance(path, str) or not path.lower().endswith(FILE_KINDS):
                raise BadField(f"{where}.filePath", f"must be an s3:// URI of a {FILE_KINDS} file")
            uris.append(path)
        else:
            raise BadField(f"{where}.sourceType", "must be PYPI or FILE")
    return tuple(requirements), tuple(uris)


def runtime_cores(runtime: Any) -> int:
    name = str(runtime or DEFAULT_RUNTIME).strip().lower()
    name = name.removesuffix("-himem").removesuffix("-hicpu").removesuffix("-matcher")
    if name not in RUNTIME_CORES:
        listing = ", ".join(RUNTIME_CORES)
        raise BadField("runtime", f"{runtime!r} is not a runtime here; they are {listing}")
    return RUNTIME_CORES[name]


@on(runs, "POST", "")
async def create_run(request: web.Request) -> web.Response:
    who = await owner(request)
    body = await json_object(request)
    unknown = sorted(set(body) - CREATE_FIELDS)
    if unknown:
        raise BadField(unknown[0][:40], "is not a field of a run")
    name = body.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise BadField("name", "must be 8-255 characters of letters, digits, '_', '.' and '-'")
    timeout = integer(body.get("timeoutSeconds", 3600), "timeoutSeconds", 1)
    environment = body.get("environment")
    environment = {} if environment is None else environment
    if not isinstance(environment, dict):
        raise BadField("environment", "must be an object")
    if not isinstance(environment.get("sparkConfigs") or {}, dict):
        raise BadField("environment.sparkConfigs", "must be an object")
    version = body.get("version")
    if version is not None and not isinstance(version, str):
        raise BadField("version", "must be a string")
    requirements, file_uris = dependencies(environment.get("dependencies"))
    script = Script(**program(body), requirements=requirements, file_uris=file_uris)
    notes = []
    if environment.get("sparkConfigs"):
        notes.append(SPARK_NOTE)
    region = request.query.get("region") or DEFAULT_REGION
    payload = {**body, "runtime": body.get("runtime") or DEFAULT_RUNTIME, "timeoutSeconds": timeout}
    spec = {"payload": payload, "region": region, "notes": notes}
    run = await service(request).create_script_run(
        who,
        FAMILY,
        name=name,
        script=script,
        walltime_s=timeout,
        cores=runtime_cores(body.get("runtime")),
        extra={"wherobots": spec},
        notes=tuple(notes),
    )
    return web.json_response(run_json(run))


@on(runs, "GET", "")
async def list_runs(request: web.Request) -> web.Response:
    who = await owner(request)
    query = request.query
    size = integer(query.get("size", 50), "size", 0, MAX_SIZE)  # 0: only the total
    filters: dict[str, Any] = {"family": FAMILY, "newest_first": True}
    wanted = query.getall("status", [])
    if wanted:
        words = {w.upper() for w in wanted}
        unknown = sorted(words - set(STATUS.values()))
        if unknown:
            raise BadField("status", f"{unknown[0]!r} is not a status")
        filters["states"] = [s for s, word in STATUS.items() if word in words]
    if query.get("created_after"):
        try:
            filters["created_after"] = parse_time(query["created_after"])
        except ValueError:
            raise BadField("created_after", "must be an ISO-8601 time") from None
    before = integer(query["cursor"], "cursor", 0) if query.get("cursor") else None
    pattern = query.get("name")
    if pattern and pattern.count("*") > 1:
        raise BadField("name", "may hold one * at most")
    # every match, so that total counts them all (the name pattern is applied here)
    found = await service(request).list_runs(who, limit=LIST_SCAN, **filters)
    if pattern:
        found = [r for r in found if name_matches(pattern, r.name)]
    if query.get("region"):
        found = [r for r in found if region_of(r) == query["region"]]
    following_runs = [r for r in found if before is None or r.seq < before]
    page = following_runs[:size]
    more = len(following_runs) > size
    body = {
        "items": [run_json(r) for r in page],
        "total": len(found),
        "next_page": str(page[-1].seq) if more and page else None,
        "previous_page": None,
        "current_page": query.get("cursor"),
        "current_page_backwards": None,
    }
    return web.json_response(body)


def region_of(run: Run) -> str:
    return str((run.extra.get("wherobots") or {}).get("region") or DEFAULT_REGION)


def name_matches(pattern: str, name: str) -> bool:
    head, star, tail = pattern.partition("*")
    if not star:
        return name == pattern
    return len(name) >= len(head) + len(tail) and name.startswith(head) and name.endswith(tail)


@on(runs, "GET", "/{id}")
async def get_run(request: web.Request) -> web.Response:
    _, run = await own_run(request)
    return web.json_response(run_json(run))


@on(runs, "POST", "/{id}/cancel")
async def cancel_run(request: web.Request) -> web.Response:
    who, run = await own_run(request)
    if not run.terminal:
        run = await service(request).stop(who, run.id, "cancelled by request")
    return web.json_response(run_json(run))


@on(runs, "GET", "/{id}/logs")
async def run_logs(request: web.Request) -> web.Response:
    _, run = await own_run(request)
    cursor = integer(request.query.get("cursor", 0) or 0, "cursor", 0)
    size = integer(request.query.get("size", 100), "size", 1, 10_000)
    lines = await service(request).log_lines(run, cursor, size)
    return web.json_response(logs_json(cursor, lines))


@on(runs, "GET", "/{id}/metrics")
async def run_metrics(request: web.Request) -> web.Response:
    _, run = await own_run(request)
    svc = service(request)
    return web.json_response(metrics_json(run, svc.settings.cost_per_core_hour, svc.memory_bytes()))
