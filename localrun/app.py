"""init_app(settings): the aiohttp application with its store, supervisor and routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from localrun import files
from localrun.api import cloudrun, native, rescale, rescale_jobs, rescale_runs
from localrun.api.dialects import errors_middleware, register
from localrun.api.keys import SERVICE
from localrun.config import Settings
from localrun.executor.local import LocalExecutor
from localrun.launch import launch_spec
from localrun.service import Service
from localrun.store import Store
from localrun.supervisor import Supervisor

log = logging.getLogger("localrun")

SETTINGS = web.AppKey("settings", Settings)
CLIENT_MAX_SIZE = 1024 * 1024  # bodies read whole (JSON, forms); uploads are streamed


async def _runtime(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    # Two daemons on one data directory would both launch the same queued runs.
    with files.exclusive_lock(settings.data_path / "daemon.lock", f"{settings.data_path}"):
        store = await Store.open(settings.data_path / "localrun.db")
        supervisor = Supervisor(settings, store, LocalExecutor(), launch_spec)
        app[SERVICE] = Service(settings, store, supervisor)
        await supervisor.start()
        cores = settings.total_cores
        log.info("data directory %s, %d core(s) to hand out", settings.data_path, cores)
        yield
        await supervisor.close()
        await store.close()


def init_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[errors_middleware], client_max_size=CLIENT_MAX_SIZE)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_runtime)
    app.add_routes(native.routes)
    app.add_routes(cloudrun.routes)
    register(cloudrun.DIALECT)
    app.add_routes(rescale_jobs.routes)
    app.add_routes(rescale_runs.routes)
    register(rescale.DIALECT)
    return app
