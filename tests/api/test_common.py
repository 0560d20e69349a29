from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from localrun.api.common import (
    FormReader,
    decode_cursor,
    encode_cursor,
    header_token,
    integer,
    json_object,
    number,
    with_and_without_slash,
)
from localrun.errors import Invalid, TooLarge


class BufferWriter:
    """What aiohttp's payload writer needs to serialise a form into memory."""

    def __init__(self) -> None:
        self.data = bytearray()

    async def write(self, chunk: bytes | bytearray | memoryview) -> None:
        self.data += chunk


class ProtocolStub:
    """A StreamReader's protocol: flow control that does nothing."""

    _reading_paused = False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self, resume_parser: bool = True) -> None:
        pass


def test_header_token_reads_each_scheme() -> None:
    def request(headers: dict[str, str]) -> web.Request:
        return make_mocked_request("GET", "/", headers=headers)

    assert header_token(request({"Authorization": "Bearer abc"}), "Bearer") == "abc"
    assert header_token(request({"Authorization": "bearer  abc "}), "Bearer") == "abc"
    assert header_token(request({"Authorization": "Token abc"}), "Bearer") == ""
    assert header_token(request({"Authorization": "Token abc"}), "Token") == "abc"
    assert header_token(request({"X-API-Key": " k1 "}), "X-API-Key") == "k1"
    assert header_token(request({}), "X-API-Key") == ""


@pytest.mark.parametrize(
    ("value", "expected"), [("4", 4), (4, 4), (4.0, 4), (" 7 ", 7), ("1e2", 100)]
)
def test_integer_takes_whole_numbers_in_any_spelling(value: Any, expected: int) -> None:
    assert integer(value, "n") == expected


@pytest.mark.parametrize("value", ["x", "", None, True, 2.5, "nan", "inf", [1], {}])
def test_integer_refuses_what_is_not_a_whole_number(value: Any) -> None:
    with pytest.raises(Invalid, match=r"^n must be"):
        integer(value, "n")


def test_bounds_are_part_of_the_contract() -> None:
    assert integer("1", "n", 1, 3) == 1
    with pytest.raises(Invalid, match="at least 1"):
        integer("0", "n", 1)
    with pytest.raises(Invalid, match="at most 3"):
        integer("4", "n", 1, 3)
    with pytest.raises(Invalid, match=r"at least 0\.5"):
        number("0.1", "x", 0.5)


def test_cursors_round_trip_and_refuse_forgeries() -> None:
    assert decode_cursor(encode_cursor(42)) == 42
    for forged in ("", "bm9wZQ", "!!", encode_cursor(1)[:-2] + "zz"):
        with pytest.raises(Invalid, match="cursor"):
            decode_cursor(forged)


async def test_json_object_reads_empty_bodies_and_refuses_others(aiohttp_client: Any) -> None:
    async def echo(request: web.Request) -> web.Response:
        try:
            return web.json_response(await json_object(request, frozenset({"a"})))
        except Invalid as exc:
            return web.json_response({"error": exc.message}, status=400)

    app = web.Application()
    app.router.add_route("*", "/", echo)
    client = await aiohttp_client(app)
    headers = {"Content-Type": "application/json"}
    assert await (await client.get("/", headers=headers)).json() == {}
    assert await (await client.post("/", data=b"", headers=headers)).json() == {}
    assert await (await client.post("/", data=b" \n", headers=headers)).json() == {}
    assert await (await client.post("/", json={"a": 1})).json() == {"a": 1}
    for body, words in ((b"[1]", "JSON object"), (b"{", "not valid JSON"), (b'{"b": 1}', "'b'")):
        resp = await client.post("/", data=body, headers=headers)
        assert resp.status == 400 and words in (await resp.json())["error"]


async def test_a_view_answers_with_and_without_its_slash(aiohttp_client: Any) -> None:
    routes = web.RouteTableDef()

    @with_and_without_slash(routes, "GET", "/things")
    async def things(request: web.Request) -> web.Response:
        return web.json_response(request.path)

    @with_and_without_slash(routes, "GET", "")
    async def top(request: web.Request) -> web.Response:
        return web.json_response("top")

    family = web.Application()
    family.add_routes(routes)
    app = web.Application()
    app.add_subapp("/api", family)
    client = await aiohttp_client(app)
    for path in ("/api/things", "/api/things/"):
        resp = await client.get(path, allow_redirects=False)
        assert resp.status == 200 and await resp.json() == path
    for path in ("/api", "/api/"):
        resp = await client.get(path, allow_redirects=False)
        assert resp.status == 200 and await resp.json() == "top"


def test_booleans_are_never_guessed() -> None:
    from localrun.api.common import boolean

    assert boolean(True, "b") is True and boolean("false", "b") is False
    assert boolean("1", "b") is True and boolean(0, "b") is False
    refused: list[Any] = ["maybe", None, 2, [], "2"]
    for value in refused:
        with pytest.raises(Invalid, match="true or false"):
            boolean(value, "b")


# FormReader: the multipart parser of uploads

FORM = (
    b"preamble a client may send\r\n"
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="file"; filename="namelist.input"\r\n'
    b"Content-Type: application/octet-stream\r\n"
    b"\r\n"
    b"&time_control\r\na--XyZ not a boundary\r\n\r\n--Xy\r\n/\r\n"
    b"--XyZ  \r\n"
    b"Content-Disposition: form-data; name*=utf-8''u%C3%A9rl\n"
    b"\n"
    b"  http://x/a \r\n"
    b"--XyZ\r\n"
    b"Content-Disposition: form-data; name=\"file\"; filename*=utf-8''w%C3%A9.bin\r\n"
    b"\r\n"
    b"\r\n\r\n\x00\xff--XyZ\r"
    b"\r\n--XyZ--\r\n"
    b"epilogue"
)
EXPECTED = [
    ("file", "namelist.input", b"&time_control\r\na--XyZ not a boundary\r\n\r\n--Xy\r\n/"),
    ("uérl", None, b"  http://x/a "),
    ("file", "wé.bin", b"\r\n\r\n\x00\xff--XyZ\r"),
]


async def pieces(body: bytes, cuts: list[int]) -> AsyncIterator[bytes]:
    start = 0
    for cut in [*cuts, len(body)]:
        if cut > start:
            yield body[start:cut]
        start = cut


async def read_form(body: bytes, cuts: list[int], boundary: str = "XyZ") -> list[Any]:
    found = []
    async for part in FormReader(pieces(body, cuts), boundary):
        data = b"".join([bytes(c) async for c in part.chunks()])
        found.append((part.name, part.filename, data))
    return found


async def test_form_reader_finds_every_part_however_the_body_is_cut() -> None:
    """Every place a socket read may end, also inside a boundary or a header, and reads of
    one byte: the same parts, the same bytes."""
    for cut in range(1, len(FORM)):
        assert await read_form(FORM, [cut]) == EXPECTED, cut
    assert await read_form(FORM, list(range(1, len(FORM)))) == EXPECTED
    assert await read_form(FORM, list(range(7, len(FORM), 7))) == EXPECTED


async def test_form_reader_reads_what_aiohttp_reads() -> None:
    """Bodies as aiohttp's writer makes them (what requests and curl send alike): the names,
    file names and bytes its own reader gives."""
    form = aiohttp.FormData()
    form.add_field("file", b"a" * 70_000 + b"\r\n--", filename="wrfinput_d01")
    form.add_field("name", "namelist.input")
    form.add_field("file", b"", filename="empty", content_type="application/octet-stream")
    form.add_field("file", "x\r\n", filename="naïve name.txt")
    payload = form()
    writer = BufferWriter()
    await payload.write(writer)  # type: ignore[arg-type]
    boundary = payload.content_type.partition("boundary=")[2].strip('"')
    ours = await read_form(bytes(writer.data), [1000, 65536, 65537], boundary)
    theirs = []
    stub: Any = ProtocolStub()
    stream = aiohttp.StreamReader(stub, 2**16, loop=asyncio.get_running_loop())
    stream.feed_data(bytes(writer.data))
    stream.feed_eof()
    reader = aiohttp.MultipartReader({"Content-Type": payload.content_type}, stream)
    while (part := await reader.next()) is not None:
        assert isinstance(part, aiohttp.BodyPartReader)
        theirs.append((part.name, part.filename, bytes(await part.read())))
    assert ours == theirs
    names = ["wrfinput_d01", None, "empty", "na%C3%AFve%20name.txt"]  # as aiohttp reads them
    assert [p[1] for p in ours] == names


async def test_form_reader_reads_what_the_cloudrun_client_sends() -> None:
    """The Cloudrun client's body (requests-toolbelt's MultipartEncoder renders each field with
    urllib3, as requests' files= does): one field 'file', the base name, an octet-stream part;
    also a name urllib3 writes in raw UTF-8 and one with a quote it escapes."""
    from urllib3 import encode_multipart_formdata

    data = bytes(range(256)) * 1000
    for filename in ("wrfbdy_d01", "naïve.bin", 'a"b.bin'):
        body, content_type = encode_multipart_formdata(
            {"file": (filename, data, "application/octet-stream")}
        )
        boundary = content_type.partition("boundary=")[2]
        ours = await read_form(body, [100, 1 << 16], boundary)
        stub: Any = ProtocolStub()
        stream = aiohttp.StreamReader(stub, 2**16, loop=asyncio.get_running_loop())
        stream.feed_data(body)
        stream.feed_eof()
        reader = aiohttp.MultipartReader({"Content-Type": content_type}, stream)
        part = await reader.next()
        assert isinstance(part, aiohttp.BodyPartReader)
        assert ours == [(part.name, part.filename, bytes(await part.read()))]
        assert ours[0][0] == "file" and ours[0][2] == data


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"no boundary at all\r\n", "the body ends before the first boundary"),
        (b"x" * 70_000, "no boundary line in its first"),
        (FORM[: FORM.index(b"/\r\n--XyZ  ")], "the body ends inside a part"),
        (FORM[: FORM.index(b"Content-Type")], "the body ends in a part's headers"),
        (b"--XyZ", "the body ends after a boundary"),
        (b"--XyZ garbage\r\n\r\n--XyZ--", "unexpected b' garbage' after a boundary"),
        (b"--XyZ\r\nno colon here\r\n\r\nx\r\n--XyZ--", "a part's header"),
        (b"--XyZ\r\nX-Long: " + b"v" * 70_000 + b"\r\n\r\n", "a part's headers exceed"),
        (b"--XyZ\r\nX-Long: " + b"v" * 70_000, "a line longer than"),
        (
            b"--XyZ\r\nContent-Type: multipart/mixed; boundary=Q\r\n\r\n--Q--\r\n--XyZ--",
            "nested multipart bodies are not supported",
        ),
    ],
)
async def test_form_reader_refuses_broken_bodies(body: bytes, words: str) -> None:
    with pytest.raises(Invalid, match=re.escape(words)):
        await read_form(body, [3, 100])


async def test_form_reader_skips_a_part_not_read_and_caps_text() -> None:
    reader = FormReader(pieces(FORM, [50]), "XyZ")
    names = []
    while (part := await reader.next()) is not None:
        names.append(part.filename)
    assert names == ["namelist.input", None, "wé.bin"]
    reader = FormReader(pieces(FORM, []), "XyZ")
    part = await reader.next()
    assert part is not None
    with pytest.raises(TooLarge, match="longer than 10 bytes"):
        await part.text(limit=10)


async def test_form_reader_of_a_request_needs_a_boundary(aiohttp_client: Any) -> None:
    async def view(request: web.Request) -> web.Response:
        try:
            parts = [(p.name, await p.text()) async for p in FormReader.of(request)]
        except Invalid as exc:
            return web.Response(status=400, text=exc.message)
        return web.json_response(parts)

    app = web.Application()
    app.router.add_post("/", view)
    client = await aiohttp_client(app)
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("a", "1")
    form.add_field("b", "été")
    resp = await client.post("/", data=form)
    assert await resp.json() == [["a", "1"], ["b", "été"]]
    for kind in ("multipart/form-data", "multipart/form-data; boundary=" + "b" * 71, "text/plain"):
        resp = await client.post("/", data=b"x", headers={"Content-Type": kind})
        assert resp.status == 400
        assert "boundary" in await resp.text() or "multipart/form-data" in await resp.text()
