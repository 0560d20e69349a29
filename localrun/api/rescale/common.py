"""What Rescale's views share: the token, the route tables and the paginated listing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

from localrun.api.common import (
    Handler,
    json_response,
    numbered_page,
    owner_by_header,
    with_and_without_slash,
)

V2 = "/api/v2"
SEED = "/api"  # seed 002's root, where the runs of a job and file contents also answer
FAMILY = "rescale"
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 1000

v2_routes = web.RouteTableDef()
both_routes = web.RouteTableDef()


def route(method: str, path: str, *, seed: bool = False) -> Callable[[Handler], Handler]:
    """A view under /api/v2, and under the seed's /api too when seed is true."""
    return with_and_without_slash(both_routes if seed else v2_routes, method, path)


async def owner(request: web.Request) -> str:
    return await owner_by_header(
        request,
        "Token",
        missing="Authentication credentials were not provided.",
        invalid="Invalid token.",
    )


def listing(request: web.Request, items: Sequence[dict[str, Any]]) -> web.Response:
    results, envelope = numbered_page(request, items, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    return json_response({**envelope, "results": results})
