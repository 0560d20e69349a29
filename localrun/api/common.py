"""What every API family shares: tokens from headers, bodies, numbers, pages and routes."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import orjson
from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from localrun.api.keys import ROOT, SERVICE
from localrun.errors import Invalid, NotFound, Unauthorized
from localrun.service import Service

LARGEST = 2**53  # any number beyond is refused: JSON clients and SQLite both stop near it
BODY_LIMIT = 1024 * 1024  # bodies read whole (JSON, forms); uploads are streamed
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
T = TypeVar("T")


def service(request: web.Request) -> Service:
    """The service on the root app (request.config_dict builds a ChainMapProxy at each access:
    a tenth of a status poll's time)."""
    apps = request.match_info.apps
    found = apps[0].get(SERVICE) if apps else None
    return found if found is not None else request.config_dict[SERVICE]


def root(request: web.Request) -> str:
    """The path the request's family is mounted at (/api/v2, /v1, ...)."""
    return request.app[ROOT]


# responses


def dumps(value: Any) -> bytes:
    """JSON that reads back as json.dumps(value) does, several times faster (orjson): status
    polls and listings spent most of their time in json. Past orjson's range (an integer
    beyond 64 bits) the standard library takes over."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        return json.dumps(value).encode()


def json_response(value: Any, status: int = 200) -> web.Response:
    """web.json_response with the faster encoder."""
    return json_bytes(dumps(value), status)


def json_bytes(body: bytes, status: int = 200) -> web.Response:
    """A response of JSON already encoded."""
    return web.Response(body=body, status=status, content_type="application/json", charset="utf-8")


# tokens


def header_token(request: web.Request, scheme: str) -> str:
    """The credential in the request's headers, "" when there is none.

    scheme "Bearer" or "Token" reads `Authorization: <scheme> <token>` (the scheme in any case);
    a header name such as "X-API-Key" reads that header's whole value.
    """
    if "-" in scheme:
        return request.headers.get(scheme, "").strip()
    given, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if given.lower() == scheme.lower() else ""


async def owner_by_header(request: web.Request, scheme: str, *, missing: str, invalid: str) -> str:
    """The owner of the request's token; Unauthorized with the family's words otherwise."""
    token = header_token(request, scheme)
    if not token:
        raise Unauthorized(missing)
    try:
        return await service(request).owner_of(token)
    except Unauthorized:
        raise Unauthorized(invalid) from None


# bodies


async def json_object(
    request: web.Request, allowed: frozenset[str] | None = None
) -> dict[str, Any]:
    """The body's JSON object; {} for no body or an empty one, whatever its content type
    (clients send a JSON content type on a GET or a body-less POST). A field outside
    `allowed` is refused by name."""
    raw = await request.read() if request.can_read_body else b""
    if not raw.strip():
        return {}
    body = _parse_json(raw)
    if not isinstance(body, dict):
        raise Invalid("the request body must be a JSON object")
    if allowed is not None:
        unknown = sorted(set(body) - allowed)
        if unknown:
            takes = ", ".join(sorted(allowed))
            raise Invalid(f"unknown field {unknown[0][:40]!r}; this takes {takes}")
    return body


async def json_value(request: web.Request, empty: Any = None) -> Any:
    """The body as any JSON value; `empty` for no body."""
    raw = await request.read() if request.can_read_body else b""
    if not raw.strip():
        return empty
    return _parse_json(raw)


def _parse_json(raw: bytes) -> Any:
    """JSON in UTF-8 (or UTF-16/32 with a BOM, as json allows), with no lone surrogate in any
    string and no deeper nesting than Python can take."""
    try:
        value = json.loads(raw)
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Invalid(f"the request body is not valid JSON: {exc}") from None
    except UnicodeEncodeError:
        raise Invalid("the request body holds a lone UTF-16 surrogate (\\ud800...)") from None
    except RecursionError:
        raise Invalid("the request body is nested too deeply") from None
    return value


async def form_fields(request: web.Request) -> dict[str, str]:
    """Form fields (urlencoded or multipart, files left out) or a JSON object's fields as
    text; {} for an empty body."""
    if not request.can_read_body:
        return {}
    if request.content_type == "application/json":
        body = await json_object(request)
        return {str(k): str(v) for k, v in body.items() if v is not None}
    if request.content_type not in FORM_TYPES:
        raw = await request.read()
        if not raw.strip():
            return {}
        raise Invalid(
            f"a {request.content_type} body is not a form: send the fields form-encoded "
            "(application/x-www-form-urlencoded or multipart/form-data) or as a JSON object"
        )
    try:
        posted = await request.post()
    except (ValueError, AssertionError, LookupError) as exc:
        raise Invalid(f"the form is malformed: {exc}") from None
    return {k: v for k, v in posted.items() if isinstance(v, str)}


MALFORMED = "the multipart body is malformed"


async def multipart_parts(request: web.Request) -> AsyncIterator[BodyPartReader]:
    """The parts of a multipart/form-data body, each to be read before the next; a broken
    body (no or a wrong boundary, a truncated part, a bad part header) is Invalid."""
    if not request.content_type.startswith("multipart/"):
        raise Invalid("send the files as multipart/form-data")
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise Invalid("nested multipart bodies are not supported")
            yield part
    except (ValueError, AssertionError, LookupError, HttpProcessingError) as exc:
        raise Invalid(f"{MALFORMED}: {exc}") from None


async def part_chunks(part: BodyPartReader, size: int = 1 << 20) -> AsyncIterator[bytes]:
    """A multipart part's bytes as they arrive, never the whole part in memory."""
    try:
        while chunk := await part.read_chunk(size):
            yield chunk
    except (ValueError, AssertionError) as exc:
        raise Invalid(f"{MALFORMED}: {exc}") from None


async def part_text(part: BodyPartReader) -> str:
    try:
        return (await part.text()).strip()
    except (ValueError, AssertionError, LookupError) as exc:
        raise Invalid(f"{MALFORMED}: {exc}") from None


# numbers: one contract for every family


def number(
    value: Any, name: str, minimum: float | None = None, maximum: float | None = None
) -> float:
    """A finite number from a JSON number or its text, within the bounds given."""
    if isinstance(value, bool):
        raise Invalid(f"{name} must be a number, not {value!r}")
    try:
        result = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise Invalid(f"{name} must be a number, not {value!r}") from None
    if not math.isfinite(result):
        raise Invalid(f"{name} must be a finite number, not {value!r}")
    if minimum is not None and result < minimum:
        raise Invalid(f"{name} must be at least {minimum:g}, not {value!r}")
    if maximum is not None and result > maximum:
        raise Invalid(f"{name} must be at most {maximum:g}, not {value!r}")
    if abs(result) > LARGEST:
        raise Invalid(f"{name} is too large: {str(value)[:40]}")
    return result


def integer(value: Any, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """A whole number ("4", 4 and 4.0 alike) within the bounds given."""
    result = number(value, name, minimum, maximum)
    if not result.is_integer():
        raise Invalid(f"{name} must be a whole number, not {value!r}")
    return int(result)


def boolean(value: Any, name: str) -> bool:
    """true/false as JSON, or as the words a form or query sends ("true", "0", ...)."""
    if isinstance(value, bool):
        return value
    words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
    found = words.get(str(value).strip().lower()) if isinstance(value, str | int) else None
    if found is None:
        raise Invalid(f"{name} must be true or false, not {str(value)[:40]!r}")
    return found


def optional_number(fields: dict[str, str], name: str) -> float | None:
    text = fields.get(name, "").strip()
    return None if not text else number(text, name)


# pages


def encode_cursor(seq: int) -> str:
    """An opaque cursor for "after the run with this seq"."""
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "seq" or not value.isdigit() or int(value) > LARGEST:
            raise ValueError(kind)
        return int(value)
    except ValueError:
        raise Invalid("cursor is not one this server gave out") from None


def numbered_page(
    request: web.Request, items: Sequence[T], default_size: int, max_size: int
) -> tuple[list[T], dict[str, Any]]:
    """Page ?page=N&page_size=M of the items, and the DRF envelope without its results:
    {"count", "next", "previous"} with absolute links; a page past the end is NotFound."""
    query = request.query
    wanted = integer(query.get("page", 1), "page", 1)
    size = min(integer(query.get("page_size", default_size), "page_size", 1), max_size)
    pages = max(1, math.ceil(len(items) / size))
    if wanted > pages:
        raise NotFound("Invalid page.")

    def link(n: int) -> str:
        return str(request.url.update_query(page=str(n)))

    envelope = {
        "count": len(items),
        "next": link(wanted + 1) if wanted < pages else None,
        "previous": link(wanted - 1) if wanted > 1 else None,
    }
    return list(items[(wanted - 1) * size : wanted * size]), envelope


# routes


def with_and_without_slash(
    table: web.RouteTableDef, method: str, path: str
) -> Callable[[Handler], Handler]:
    """Register a view at path and at path + "/", so that a client is never redirected.
    path "" is the family's root."""

    def register(handler: Handler) -> Handler:
        table.route(method, path)(handler)
        table.route(method, path + "/")(handler)
        return handler

    return register
