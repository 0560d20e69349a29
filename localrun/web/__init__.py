"""The web page at /: a token login, the runs list (live by server-sent events, or polling),
a page per run and Stop, the submit form, and the estimator's table. Server-rendered Jinja2
with autoescape; static files shipped here."""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from localrun.web import live, submit, usage, views

STATIC = Path(__file__).parent / "static"


def mount(app: web.Application) -> None:
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("localrun.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    app.router.add_get("/", views.runs_page)
    app.router.add_post("/ui/login", views.login)
    app.router.add_post("/ui/logout", views.logout)
    app.router.add_get("/ui/runs/{id}", views.run_page)
    app.router.add_post("/ui/runs/{id}/stop", views.stop)
    app.router.add_get("/ui/runs/{id}/files/{path:.+}", views.download)
    app.router.add_get("/ui/submit", submit.submit_page)
    app.router.add_post("/ui/submit", submit.submit)
    app.router.add_get("/ui/estimate", submit.estimate_page)
    app.router.add_post("/ui/estimate", submit.estimate)
    app.router.add_post("/ui/estimate.json", submit.estimate_json)
    stream = live.Streams()
    app.router.add_get("/ui/runs.json", live.runs_json)
    app.router.add_get("/ui/live", stream.handler)
    app.on_shutdown.append(stream.close)
    recorder = usage.Recorder()
    app.on_startup.append(recorder.start)
    app.on_shutdown.append(recorder.close)  # before the store closes
    app.router.add_static("/ui/static", STATIC, name="static", append_version=True)
