from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from localrun import fetch
from localrun.errors import Invalid
from tests.conftest import free_port


async def collect(url: str, allowed: list[Path]) -> bytes:
    return b"".join([chunk async for chunk in fetch.url_chunks(url, allowed)])


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
