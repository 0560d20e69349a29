"""Cloudrun's runs API under /v1, as its official Python client uses it (CLIENTS.md §A).

Every path answers with and without a trailing slash. Auth is `Authorization: Bearer <token>`;
the value may carry `|<user id>` after the token. A missing or bad token is 403, another
owner's run 404, and every error is `{"status": <http status>, "message": "..."}`.

    POST   /v1/runs                         form model, version (, run_name) -> 201 Run
    GET    /v1/runs                         ?limit=20&cursor=C -> {"runs": [Run...], "count":
                                            all of your runs, "next": URL of the next page|null};
                                            newest first; cursor comes from "next"
    GET    /v1/runs/{id}                    -> Run
    PATCH  /v1/runs/{id}                    JSON Patch: replace /selected_compute_option
                                            ({"compute_option_id"} or {"cores"}), /run_name
    DELETE /v1/runs/{id}                    files removed (inputs, outputs), metadata kept -> Run
    POST   /v1/runs/{id}/input              multipart field `file`, or form field `url`
                                            (http(s)://, file:// under input_url_dirs)
                                            -> 200 {"file": {"id", "name", "size"}}
    POST   /v1/runs/{id}/start              form cores | selected_compute_option | nothing (the
                                            PATCHed selection) -> Run; alias /v1/wrf/{id}/start
    POST   /v1/runs/{id}/stop               -> Run (409 unless the run was started)
    GET    /v1/runs/{id}/output/fields/{f}  form body (on the GET) or query: time1, time2
                                            (%Y-%m-%d_%H:%M:%S), lon1, lat1, lon2, lat2, domain
                                            -> {F: {attributes}, "times": [...], "data": [...]}

Run `status`: created (inputs missing), ready, starting (queued or launching), active, done,
stopped, error; `error` is then {"status": <diagnosis code>, "message": <what WRF said>}.
"""

from __future__ import annotations

from aiohttp import web

from localrun.api.cloudrun.shapes import render_error
from localrun.api.cloudrun.views import PREFIX, routes
from localrun.api.errors import error_middleware
from localrun.api.keys import ROOT
from localrun.errors import Unauthorized

errors = error_middleware(render_error, {Unauthorized: 403})


def mount(app: web.Application) -> None:
    family = web.Application(middlewares=[errors])
    family[ROOT] = PREFIX
    family.add_routes(routes)
    app.add_subapp(PREFIX, family)
