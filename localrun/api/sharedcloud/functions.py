"""Functions, and what a function refers to: images; GPUs and offers (none on this host)."""

from __future__ import annotations

from aiohttp import web

from localrun.api.common import form_fields, service
from localrun.api.sharedcloud.common import (
    does_not_exist,
    field_uuid,
    owner,
    path_uuid,
    required,
    route,
)
from localrun.api.sharedcloud.shapes import IMAGES, function_json, image_json
from localrun.errors import NotFound
from localrun.service import Service


def image_id(value: str) -> str:
    found = field_uuid(value, "image")
    if found not in IMAGES:
        raise does_not_exist("image", value)
    return found


async def _json(svc: Service, who: str, function: dict[str, object]) -> dict[str, object]:
    return function_json(function, await svc.function_runs(who, str(function["id"])))


@route("POST", "/functions")
async def create_function(request: web.Request) -> web.Response:
    who = await owner(request)
    fields = await form_fields(request)
    svc = service(request)
    function = await svc.create_function(
        who,
        name=required(fields, "name"),
        image=image_id(required(fields, "image")),
        code=required(fields, "code"),
    )
    return web.json_response(await _json(svc, who, function), status=201)


@route("GET", "/functions")
async def list_functions(request: web.Request) -> web.Response:
    who = await owner(request)
    svc = service(request)
    return web.json_response([await _json(svc, who, f) for f in await svc.list_functions(who)])


@route("GET", "/functions/{uuid}")
async def get_function(request: web.Request) -> web.Response:
    who = await owner(request)
    svc = service(request)
    function = await svc.get_function(who, path_uuid(request))
    return web.json_response(await _json(svc, who, function))


@route("PATCH", "/functions/{uuid}")
async def update_function(request: web.Request) -> web.Response:
    who = await owner(request)
    function_id = path_uuid(request)
    svc = service(request)
    await svc.get_function(who, function_id)
    fields = await form_fields(request)
    image = fields.get("image") or None
    function = await svc.update_function(
        who,
        function_id,
        name=fields.get("name") or None,
        image=None if image is None else image_id(image),
        code=fields.get("code") or None,
    )
    return web.json_response(await _json(svc, who, function))


@route("DELETE", "/functions/{uuid}")
async def delete_function(request: web.Request) -> web.Response:
    who = await owner(request)
    await service(request).delete_function(who, path_uuid(request))
    return web.Response(status=204)


@route("GET", "/images")
async def list_images(request: web.Request) -> web.Response:
    await owner(request)
    since = service(request).started
    return web.json_response([image_json(image, since) for image in IMAGES.values()])


@route("GET", "/images/{uuid}")
async def get_image(request: web.Request) -> web.Response:
    await owner(request)
    image = IMAGES.get(path_uuid(request))
    if image is None:
        raise NotFound("no such image")
    return web.json_response(image_json(image, service(request).started))


@route("GET", "/gpus")
async def list_gpus(request: web.Request) -> web.Response:
    await owner(request)
    return web.json_response([])


@route("GET", "/offers")
async def list_offers(request: web.Request) -> web.Response:
    await owner(request)
    return web.json_response([])
