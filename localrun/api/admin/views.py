"""The admin API's routes and who may call them."""

from __future__ import annotations

import hmac
import ipaddress
import weakref
from typing import Any

from aiohttp import web

from localrun.api.admin.controls import Controls
from localrun.api.admin.scripts import Script, ScriptError
from localrun.api.common import Handler, header_token, json_object, service
from localrun.api.faults import FaultError, Faults
from localrun.errors import Invalid, NotFound

PREFIX = "/localrun/admin/v1"
# each admin sub-application's controls and faults (typed app keys live in api/keys.py)
MOUNTED: weakref.WeakKeyDictionary[web.Application, tuple[Controls, Faults]] = (
    weakref.WeakKeyDictionary()
)
routes = web.RouteTableDef()


def loopback(request: web.Request) -> bool:
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not loopback(request):
        raise web.HTTPForbidden(text="the admin API answers loopback clients only")
    token = service(request).settings.admin_token
    if not token:
        raise web.HTTPForbidden(text="the admin API is off: set the admin_token setting")
    given = header_token(request, "Bearer")
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise web.HTTPUnauthorized(text="a wrong or missing admin token")
    return await handler(request)


def controls(request: web.Request) -> Controls:
    return MOUNTED[request.app][0]


def faults(request: web.Request) -> Faults:
    return MOUNTED[request.app][1]


def script_of(body: dict[str, Any]) -> Script:
    try:
        return Script.from_json(body)
    except ScriptError as exc:
        raise Invalid(str(exc)) from None


@routes.get("/state")
async def state(request: web.Request) -> web.Response:
    c, svc = controls(request), service(request)
    return web.json_response(
        {
            "scripts": c.scripts(),
            "held": sorted(c.held),
            "cores": svc.settings.total_cores,
            "cores_free": svc.cores_free(),
            "faults": [f.to_json() for f in faults(request).rules],
        }
    )


@routes.post("/tokens")
async def create_token(request: web.Request) -> web.Response:
    body = await json_object(request, frozenset({"name", "owner"}))
    name = str(body.get("name") or "")
    if not name:
        raise Invalid("name is required")
    owner = body.get("owner")
    token = await service(request).create_token(name, None if owner is None else str(owner))
    return web.json_response({"name": name, "token": token}, status=201)


@routes.post("/runs/{run_id}/script")
async def script_run(request: web.Request) -> web.Response:
    body = await json_object(request, frozenset({"outcome", "at_percent", "speed"}))
    run_id = request.match_info["run_id"]
    run = await service(request).store.get_run(run_id)
    if run is None:
        raise NotFound(f"no run {run_id}")
    script = script_of(body)
    await controls(request).script_run(run_id, script)
    return web.json_response({"run": run_id, **script.to_json()})


@routes.post("/scripts")
async def script_next(request: web.Request) -> web.Response:
    body = await json_object(request, frozenset({"outcome", "at_percent", "speed", "runs"}))
    try:
        count = int(body.get("runs", 1))
    except (TypeError, ValueError):
        raise Invalid("runs must be a whole number") from None
    if count < 1:
        raise Invalid("runs must be 1 or more")
    script = script_of(body)
    controls(request).next_runs.append([script, count])
    return web.json_response({**script.to_json(), "runs": count}, status=201)


@routes.get("/scripts")
async def list_scripts(request: web.Request) -> web.Response:
    return web.json_response(controls(request).scripts())


@routes.delete("/scripts")
async def clear_scripts(request: web.Request) -> web.Response:
    await controls(request).clear_scripts()
    return web.json_response(controls(request).scripts())


@routes.post("/runs/{run_id}/hold")
async def hold(request: web.Request) -> web.Response:
    run_id = request.match_info["run_id"]
    controls(request).hold(run_id)
    return web.json_response({"held": sorted(controls(request).held)})


@routes.post("/runs/{run_id}/release")
async def release(request: web.Request) -> web.Response:
    controls(request).release(request.match_info["run_id"])
    return web.json_response({"held": sorted(controls(request).held)})


@routes.post("/release")
async def release_all(request: web.Request) -> web.Response:
    controls(request).release(None)
    return web.json_response({"held": []})


@routes.put("/cores")
async def set_cores(request: web.Request) -> web.Response:
    body = await json_object(request, frozenset({"cores"}))
    cores = body.get("cores")
    if type(cores) is not int or cores < 1:
        raise Invalid("cores must be a whole number, 1 or more")
    controls(request).set_cores(cores)
    return web.json_response({"cores": cores})


@routes.post("/faults")
async def add_fault(request: web.Request) -> web.Response:
    body = await json_object(request)
    try:
        fault = faults(request).add(body)
    except FaultError as exc:
        raise Invalid(str(exc)) from None
    return web.json_response(fault.to_json(), status=201)


@routes.get("/faults")
async def list_faults(request: web.Request) -> web.Response:
    f = faults(request)
    return web.json_response(
        {"faults": [x.to_json() for x in f.rules], "injected": f.injected[-100:]}
    )


@routes.delete("/faults")
async def clear_faults(request: web.Request) -> web.Response:
    return web.json_response({"cleared": faults(request).clear()})


@routes.delete("/faults/{fault_id:\\d+}")
async def clear_fault(request: web.Request) -> web.Response:
    cleared = faults(request).clear(int(request.match_info["fault_id"]))
    if not cleared:
        raise NotFound("no such fault")
    return web.json_response({"cleared": cleared})


@routes.post("/reset")
async def reset(request: web.Request) -> web.Response:
    body = await json_object(request, frozenset({"owner", "token", "all"}))
    svc = service(request)
    if body.get("all") is True:
        owner = None
    elif body.get("token"):
        owner = await svc.owner_of(str(body["token"]))
    elif body.get("owner"):
        owner = str(body["owner"])
    else:
        raise Invalid('give "owner", "token" or "all": true')
    done = await controls(request).reset(owner)
    return web.json_response({"owner": owner, **done})
