from __future__ import annotations

from typing import Any

from aiohttp import web

from localrun.api.dialects import Dialect, dialect_for, errors_middleware, native_error, register


async def test_unexpected_exception_is_a_json_500(aiohttp_client: Any) -> None:
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret detail")

    app = web.Application(middlewares=[errors_middleware])
    app.router.add_get("/x", boom)
    client = await aiohttp_client(app)
    resp = await client.get("/x")
    assert resp.status == 500
    body = await resp.json()
    assert body["error"]["code"] == "internal"
    assert "secret" not in body["error"]["message"]


def test_a_registered_dialect_answers_for_its_paths() -> None:
    def render(status: int, code: str, message: str) -> web.Response:
        return web.json_response({"detail": message}, status=status)

    register(Dialect("test-only", lambda path: path.startswith("/only-test/"), render))
    assert dialect_for("/only-test/a").name == "test-only"
    assert dialect_for("/localrun/v1/runs").render is native_error
