"""Sharedcloud's API, as `sharedcloud-cli` 0.0.5 speaks it (CLIENTS.md §E), under /api/v1.

Auth is `Authorization: Token <token>` (a localrun token; `api-token-auth` hands one out for a
username and password). Bodies are form-encoded. Errors are DRF's: {"detail": "..."} (401
"Invalid token.", 404 "Not found."), {"<field>": ["..."]} for a refused field and
{"non_field_errors": [...]} for a failed login (400); five failed logins from one address in a
minute make its logins 429 for the rest of that minute. Every path answers with and without
its trailing slash, never with a redirect; ids are UUIDs (any other id is 404).

    POST   /api-token-auth          username, password -> {"token"}
    POST   /users                   email, username, password (only with open_signup) -> 201
    GET    /users                   [the account]
    GET|PATCH|DELETE /users/account email, username, password | 204
    POST   /functions               name, image, code (Python defining handler(event)) -> 201
    GET    /functions[/{uuid}]      PATCH name, image, code; DELETE -> 204
    GET    /images[/{uuid}]         one image, the daemon's Python (24b3a0f8-...)
    GET    /gpus, /offers           [] (this host has none)
    POST   /runs                    function, parameters, bid_price[, base_gpu] -> 201
    GET    /runs[/{uuid}]           newest first, a bare array; DELETE -> 204
    GET    /jobs[/{uuid}]           newest first; one adds stdout, stderr, result, build_logs

A run is a localrun job; each tuple of its `parameters` (a Python literal such as
`((1,), (2,))`, read by ast.literal_eval) is one job, a localrun run of kind shell that calls
handler(tuple) in its own sandboxed process with one core reserved through the queue and the
handler_timeout_s limit. Job statuses: 1 CREATED (waiting for a core too), 2 IN_PROGRESS,
3 SUCCEEDED, 4 FAILED (a raise, a stop, a lost run), 5 TIMEOUT. cost = duration x bid_price / 3600.
Deleting a run stops its live jobs (the stop path of every run) and removes it and them.
"""

from __future__ import annotations

from aiohttp import web

from localrun.api.errors import error_middleware
from localrun.api.keys import ROOT
from localrun.api.sharedcloud import accounts, functions, runs
from localrun.api.sharedcloud.common import PREFIX, routes
from localrun.api.sharedcloud.shapes import render_error
from localrun.service.accounts import Throttled

errors = error_middleware(render_error, {Throttled: 429})
VIEWS = (accounts, functions, runs)  # their routes register on import


def mount(app: web.Application) -> None:
    family = web.Application(middlewares=[errors])
    family[ROOT] = PREFIX
    family.add_routes(routes)
    app.add_subapp(PREFIX, family)
