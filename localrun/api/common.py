"""What every API family shares: tokens from headers, bodies, numbers, pages and routes."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import orjson
from aiohttp import BodyPartReader, web
from aiohttp.hdrs import CONTENT_DISPOSITION, CONTENT_TYPE
from aiohttp.helpers import parse_mimetype
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.http_parser import HeadersParser
from aiohttp.multipart import content_disposition_filename, parse_content_disposition
from multidict import CIMultiDictProxy

from localrun.api.keys import ROOT, SERVICE
from localrun.errors import Invalid, NotFound, TooLarge, Unauthorized
from localrun.files import Buffer
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


# streamed bodies: raw uploads and multipart forms read in large pieces

READ_AHEAD = 1 << 20  # the socket's reads pause past twice this, resume below it
HEAD_LIMIT = 64 << 10  # a part's headers, or what comes before the first boundary


async def body_chunks(request: web.Request) -> AsyncIterator[bytes]:
    """The request body as the socket's reads gave it (no copies, no joins), with up to twice
    READ_AHEAD bytes read ahead (aiohttp's default: 128 KiB); a body shorter than its
    Content-Length is an HttpProcessingError (a 400 from every family's error middleware)."""
    content = request.content
    content.set_read_chunk_size(READ_AHEAD)
    while True:
        chunk, _ = await content.readchunk()
        if chunk:
            yield chunk
        elif content.at_eof():
            return


class FormPart:
    """One part of a multipart/form-data body read by FormReader: its headers now, its
    bytes through chunks() or text(), once, before the next part."""

    def __init__(self, reader: FormReader, headers: CIMultiDictProxy[str]) -> None:
        self.headers = headers
        _, params = parse_content_disposition(headers.get(CONTENT_DISPOSITION))
        self.name = content_disposition_filename(params, "name")
        self.filename = content_disposition_filename(params, "filename")
        self._reader = reader

    def chunks(self) -> AsyncIterator[Buffer]:
        return self._reader.body()

    async def text(self, limit: int = BODY_LIMIT) -> str:
        data = bytearray()
        async for chunk in self.chunks():
            data += chunk
            if len(data) > limit:
                raise TooLarge(f"form field {self.name!r} is longer than {limit} bytes")
        charset = parse_mimetype(self.headers.get(CONTENT_TYPE, "")).parameters.get("charset")
        try:
            return data.decode(charset or "utf-8").strip()
        except (LookupError, UnicodeDecodeError) as exc:
            raise Invalid(f"{MALFORMED}: form field {self.name!r}: {exc}") from None


class FormReader:
    """A lean multipart/form-data parser over body_chunks: the boundary is searched for in
    the socket's own buffers with bytes.find, and a part's bytes come out as views of them,
    where aiohttp's BodyPartReader reads lines and copies each chunk a few times. The same
    framing as aiohttp's reader: a preamble before the first boundary line, whitespace after
    a boundary, part headers with CRLF or LF line ends, names and file names read from
    Content-Disposition alike (filename*=). A body cut short, a missing boundary or a
    broken part header is Invalid; nothing is held but the socket's buffers."""

    def __init__(self, chunks: AsyncIterator[bytes], boundary: str) -> None:
        self._source = chunks
        self._delimiter = b"\r\n--" + boundary.encode("latin-1")
        self._buf = b"\r\n"  # the first boundary line is then found like every other
        self._pos = 0
        self._in_part = False
        self._done = False
        self._started = False

    @classmethod
    def of(cls, request: web.Request) -> FormReader:
        if not request.content_type.startswith("multipart/"):
            raise Invalid("send the files as multipart/form-data")
        boundary = parse_mimetype(request.headers[CONTENT_TYPE]).parameters.get("boundary", "")
        if not boundary or len(boundary) > 70:
            raise Invalid(f"{MALFORMED}: the Content-Type needs a boundary of 1 to 70 characters")
        return cls(body_chunks(request), boundary)

    async def __aiter__(self) -> AsyncIterator[FormPart]:
        while (part := await self.next()) is not None:
            yield part

    async def next(self) -> FormPart | None:
        """The next part, its headers read; None after the closing boundary."""
        if self._in_part:
            async for _ in self.body():  # the part before, unread, is skipped
                pass
        if self._done:
            return None
        if not self._started:
            self._started = True
            await self._find_first_boundary()
        if not await self._after_boundary():
            self._done = True
            return None
        headers = await self._headers()
        if headers.get(CONTENT_TYPE, "").lower().startswith("multipart/"):
            raise Invalid("nested multipart bodies are not supported")
        self._in_part = True
        return FormPart(self, headers)

    async def body(self) -> AsyncIterator[Buffer]:
        """The current part's bytes up to the next boundary, as views of the socket's buffers;
        only the last len(boundary) + 3 bytes of a buffer wait for the next one."""
        if not self._in_part:
            return
        delimiter, width = self._delimiter, len(self._delimiter)
        while True:
            buf, pos = self._buf, self._pos
            found = buf.find(delimiter, pos)
            if found >= 0:
                if found > pos:
                    yield memoryview(buf)[pos:found]
                self._pos, self._in_part = found + width, False
                return
            keep = max(pos, len(buf) - width + 1)  # might be the start of the boundary
            if keep > pos:
                yield memoryview(buf)[pos:keep]
            tail = buf[keep:]
            chunk = await self._next_chunk("inside a part")
            if len(chunk) < width:  # a boundary could reach past it: join the two
                self._buf, self._pos = tail + chunk, 0
                continue
            joint = tail + chunk[: width - 1]
            found = joint.find(delimiter)  # a boundary across the two buffers
            if found >= 0:
                if found:
                    yield tail[:found]
                self._buf, self._pos = chunk, found + width - len(tail)
                self._in_part = False
                return
            if tail:
                yield tail
            self._buf, self._pos = chunk, 0

    async def _next_chunk(self, where: str) -> bytes:
        try:
            chunk = await anext(self._source, b"")
        except HttpProcessingError as exc:
            raise Invalid(f"{MALFORMED}: {exc.message or exc}") from None
        if not chunk:
            raise Invalid(f"{MALFORMED}: the body ends {where}")
        return chunk

    async def _more(self, where: str) -> None:
        """The next buffer appended to what is unread (only for boundaries and headers)."""
        chunk = await self._next_chunk(where)
        self._buf = self._buf[self._pos :] + chunk
        self._pos = 0

    async def _find_first_boundary(self) -> None:
        while (found := self._buf.find(self._delimiter, self._pos)) < 0:
            if len(self._buf) - self._pos > HEAD_LIMIT:
                raise Invalid(f"{MALFORMED}: no boundary line in its first {HEAD_LIMIT} bytes")
            await self._more("before the first boundary")
        self._pos = found + len(self._delimiter)

    async def _line(self, where: str) -> bytes:
        while (end := self._buf.find(b"\n", self._pos)) < 0:
            if len(self._buf) - self._pos > HEAD_LIMIT:
                raise Invalid(f"{MALFORMED}: a line longer than {HEAD_LIMIT} bytes {where}")
            await self._more(where)
        line = self._buf[self._pos : end]
        self._pos = end + 1
        return line.rstrip(b"\r")

    async def _after_boundary(self) -> bool:
        """Past a boundary: True when a part follows, False after the closing one."""
        while len(self._buf) - self._pos < 2:
            await self._more("after a boundary")
        if self._buf[self._pos : self._pos + 2] == b"--":
            return False
        rest = await self._line("after a boundary")
        if rest.strip():
            raise Invalid(f"{MALFORMED}: unexpected {rest[:40]!r} after a boundary")
        return True

    async def _headers(self) -> CIMultiDictProxy[str]:
        lines, size = [], 0
        while line := await self._line("in a part's headers"):
            lines.append(line)
            size += len(line)
            if size > HEAD_LIMIT:
                raise Invalid(f"{MALFORMED}: a part's headers exceed {HEAD_LIMIT} bytes")
        try:
            headers, _ = HeadersParser().parse_headers([*lines, b""])
        except (ValueError, HttpProcessingError) as exc:
            raise Invalid(f"{MALFORMED}: a part's header: {exc}") from None
        return headers


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
