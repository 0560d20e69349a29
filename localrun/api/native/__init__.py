"""localrun's own API under /localrun/v1 (runs, events, logs, files, estimate, health), and
/healthz at the root. Errors are {"error": {"status", "code", "message"}}."""

from __future__ import annotations

from aiohttp import web

from localrun.api.errors import error_middleware
from localrun.api.keys import RENDERED, ROOT
from localrun.api.native.shapes import render_error
from localrun.api.native.views import PREFIX, healthz, routes
from localrun.api.rendered import Rendered

errors = error_middleware(render_error)


def mount(app: web.Application) -> None:
    family = web.Application(middlewares=[errors])
    family[ROOT] = PREFIX
    family[RENDERED] = Rendered()
    family.add_routes(routes)
    app.add_subapp(PREFIX, family)
    app.router.add_get("/healthz", healthz)
