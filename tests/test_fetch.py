from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from localrun import fetch
from localrun.errors import Invalid
from tests.conftest import free_port


async def collect(url: str, allowed: list[Path], private: bool = True) -> bytes:
    chunks = fetch.url_chunks(url, allowed, private_addresses=private)
    return b"".join([chunk async for chunk in chunks])


async def test_http_streams_the_body_and_names_a_bad_status(aiohttp_server: Any) -> None:
    async def serve(request: web.Request) -> web.Response:
        if request.path == "/namelist.input":
            return web.Response(body=b"x" * 3_000_000)
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/{name}", serve)
    server = await aiohttp_server(app)
    base = f"http://127.0.0.1:{server.port}"
    assert await collect(f"{base}/namelist.input", []) == b"x" * 3_000_000
    with pytest.raises(Invalid, match="answered HTTP 404"):
        await collect(f"{base}/absent", [])
    with pytest.raises(Invalid, match="cannot fetch"):
        await collect(f"http://127.0.0.1:{free_port()}/x", [])


async def test_file_urls_only_below_the_allowed_directories(tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "wrfinput_d01").write_bytes(b"data")
    (cases / "escape").symlink_to("/etc/hostname")
    (tmp_path / "secret").write_text("no")
    allowed = fetch.allowed_dirs(f" /nonexistent , {cases}")
    assert await collect((cases / "wrfinput_d01").as_uri(), allowed) == b"data"
    for url, words in (
        ((cases / "escape").as_uri(), "outside the directories"),
        (f"file://{cases}/../secret", "outside the directories"),
        ((cases / "absent").as_uri(), "not a file"),
        ("file://otherhost/etc/hostname", "only local files"),
        ((cases / "wrfinput_d01").as_uri(), "turned off"),
        ("ftp://example.org/x", "must be http://, https:// or file://"),
    ):
        with pytest.raises(Invalid, match=words):
            await collect(url, [] if words == "turned off" else allowed)


def test_file_name_comes_from_the_url_path() -> None:
    assert fetch.file_name("http://h/a/wrfbdy%5Fd01?x=1") == "wrfbdy_d01"
    with pytest.raises(Invalid, match="names no file"):
        fetch.file_name("http://h/")


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.5.5", "169.254.169.254", "::1", "fe80::1",
     "::ffff:127.0.0.1", "0.0.0.0", "224.0.0.1", "fd00::1"],
)  # fmt: skip
def test_the_daemon_and_the_networks_behind_it_are_refused(address: str) -> None:
    assert fetch.refused(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "151.101.1.69", "2606:4700::1111"])
def test_public_addresses_are_not(address: str) -> None:
    assert not fetch.refused(address)


async def secret(request: web.Request) -> web.Response:
    return web.Response(body=b"secret")


async def test_loopback_is_refused_by_address_and_by_name(aiohttp_server: Any) -> None:
    app = web.Application()
    app.router.add_get("/x", secret)
    server = await aiohttp_server(app)
    for url in (
        f"http://127.0.0.1:{server.port}/x",
        f"http://[::ffff:127.0.0.1]:{server.port}/x",
        f"http://localhost:{server.port}/x",
    ):
        with pytest.raises(Invalid, match="may not") as info:
            await collect(url, [], private=False)
        assert info.value.code == "fetch_failed"
    assert await collect(f"http://127.0.0.1:{server.port}/x", [], private=True) == b"secret"


async def test_no_redirect_leads_to_a_refused_address(
    aiohttp_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner = web.Application()
    inner.router.add_get("/secret", secret)
    hidden = await aiohttp_server(inner, host="127.0.0.2")

    async def bounce(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://127.0.0.2:{hidden.port}/secret")

    outer = web.Application()
    outer.router.add_get("/start", bounce)
    public = await aiohttp_server(outer, host="127.0.0.1")
    monkeypatch.setattr(fetch, "refused", lambda address: address != "127.0.0.1")
    with pytest.raises(Invalid, match=r"127\.0\.0\.2 is a loopback"):
        await collect(f"http://127.0.0.1:{public.port}/start", [], private=False)
