from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from localrun.api.common import (
    decode_cursor,
    encode_cursor,
    header_token,
    integer,
    json_object,
    number,
    with_and_without_slash,
)
from localrun.errors import Invalid


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
