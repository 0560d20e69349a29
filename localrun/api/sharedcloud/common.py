"""What Sharedcloud's views share: the route table, the token, ids that must be UUIDs."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from aiohttp import web

from localrun.api.common import Handler, owner_by_header, service, with_and_without_slash
from localrun.errors import NotFound
from localrun.service.accounts import FieldInvalid

PREFIX = "/api/v1"
FAMILY = "sharedcloud"
routes = web.RouteTableDef()


def route(method: str, path: str) -> Callable[[Handler], Handler]:
    return with_and_without_slash(routes, method, path)


async def owner(request: web.Request) -> str:
    """The token's owner, whose runs cut short by a daemon's death are settled first."""
    who = await owner_by_header(
        request,
        "Token",
        missing="Authentication credentials were not provided.",
        invalid="Invalid token.",
    )
    await service(request).settle_interrupted_jobs(who, FAMILY)
    return who


def path_uuid(request: web.Request, name: str = "uuid") -> str:
    """The path's id in canonical form; one that is no UUID names nothing (404)."""
    try:
        return str(uuid.UUID(request.match_info[name]))
    except ValueError:
        raise NotFound(f"{request.match_info[name][:60]!r} is not a UUID") from None


def field_uuid(value: str, field: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise FieldInvalid(field, f'"{value[:60]}" is not a valid UUID.') from None


def required(fields: dict[str, str], name: str) -> str:
    value = fields.get(name)
    if value is None:
        raise FieldInvalid(name, "This field is required.")
    return value


def does_not_exist(field: str, value: str) -> FieldInvalid:
    return FieldInvalid(field, f'Invalid pk "{value}" - object does not exist.')
