"""The test admin API under /localrun/admin/v1, for people testing their clients: scripted
runs (the simulator's speed or "instant", an outcome per run or for the next N runs), held
runs, the cores the host hands out, fault injection per family and route, and reset. Loopback
clients only, with the admin_token as a Bearer token; off when admin_token is empty. Errors
are localrun's own {"error": {"status", "code", "message"}}."""

from __future__ import annotations

from aiohttp import web

from localrun.api.admin.controls import Controls
from localrun.api.admin.views import MOUNTED, PREFIX, guard, routes
from localrun.api.errors import error_middleware
from localrun.api.faults import Faults
from localrun.api.keys import ROOT, SERVICE, SETTINGS
from localrun.api.native.shapes import render_error

errors = error_middleware(render_error)


def mount(app: web.Application) -> None:
    controls = Controls()
    faults = Faults(app[SETTINGS])
    family = web.Application(middlewares=[errors, guard])
    family[ROOT] = PREFIX
    MOUNTED[family] = (controls, faults)
    family.add_routes(routes)
    app.add_subapp(PREFIX, family)
    app.middlewares.insert(0, faults.middleware)

    async def attach(app: web.Application) -> None:
        controls.attach(app[SERVICE])

    async def close(app: web.Application) -> None:
        await controls.close()

    app.on_startup.append(attach)
    app.on_cleanup.append(close)  # after cleanup_ctx: the supervisor has let go
