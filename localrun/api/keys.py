"""Typed keys for what the application holds, and the helpers every API family shares."""

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from aiohttp import BodyPartReader, web

from localrun.service import Service

SERVICE = web.AppKey("service", Service)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def service(request: web.Request) -> Service:
    return request.app[SERVICE]


def with_and_without_slash(
    table: web.RouteTableDef, method: str, path: str, prefixes: Sequence[str]
) -> Callable[[Handler], Handler]:
    """Register a view at each prefix + path, with and without the trailing slash, so that a
    client is never answered with a redirect."""

    def register(handler: Handler) -> Handler:
        for prefix in prefixes:
            table.route(method, prefix + path)(handler)
            table.route(method, prefix + path + "/")(handler)
        return handler

    return register


async def part_chunks(part: BodyPartReader, size: int = 1 << 20) -> AsyncIterator[bytes]:
    """A multipart part's bytes as they arrive, never the whole part in memory."""
    while chunk := await part.read_chunk(size):
        yield chunk
