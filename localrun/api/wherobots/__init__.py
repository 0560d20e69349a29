"""Wherobots' Runs API and Files drive, as wherobots-python-sdk 0.5.1 and
airflow-providers-wherobots 1.8.1 use them (CLIENTS.md §B, §C). Both need HTTPS.

Mounted at <wherobots_prefix>/runs and <wherobots_prefix>/storage. Auth is `X-API-Key: <key>`
or `Authorization: Bearer <key>`; errors are {"message": ...} (a 422 adds FastAPI's detail).

    POST /runs[?region=r]          {"name" (8-255 of [A-Za-z0-9_.-]), "runtime"?, "timeoutSeconds"?,
                                   "runPython": {"uri": "s3://localrun/<owner>/<key>", "args"}}
                                   -> the Run; it is queued at once
    GET  /runs                     ?size<=100 &status=S (repeated) &name=a*b &created_after &cursor
    GET  /runs/{id}                the Run
    POST /runs/{id}/cancel         (no body)
    GET  /runs/{id}/logs           ?cursor=c&size=n: the script's stdout and stderr, one item per
                                   line; timestamp = line number; lines after c
    GET  /runs/{id}/metrics        CPU, memory and cost from the supervisor's samples
    GET  /storage                  the owner's one MANAGED store, s3://localrun/<owner>
    POST /storage/{sid}/file-upload-url/{path}  -> a one-time https URL for a plain PUT
    GET  /storage/{sid}/directories/{path}?limit&cursor   a folder's entries; runs/<id>/ shows
                                   what each run wrote in its work/ directory (read-only)
    PUT|DELETE /storage/{sid}/directories/{path}   mkdir | remove a folder and what is in it
    GET|DELETE /storage/{sid}/files/{path}   302 to a one-time https URL (of a stored file, or of
                                   a run's file under runs/<id>/) | remove a stored file
    POST /storage/{sid}/file-rename/{path}?new_name=n

A run is the script under the daemon's Python in the run's work/ directory, sandboxed like any
run, with `mpirun`, `mpiexec` and `wrf.exe` on its PATH. Runtimes map to cores: micro and tiny 1,
small 2, medium 4, large 8, x-large 16, 2x-large 32, 4x-large 64 (suffixes -himem, -hicpu
ignored); more than the host hands out is refused, more than is free waits PENDING.
"""

from __future__ import annotations

from aiohttp import web

from localrun.api.errors import error_middleware
from localrun.api.keys import ROOT, SETTINGS
from localrun.api.wherobots.credentials import credentials
from localrun.api.wherobots.drive import storage
from localrun.api.wherobots.shapes import render_error
from localrun.api.wherobots.views import BadField, runs

errors = error_middleware(render_error, {BadField: 422})


def mount(app: web.Application) -> None:
    prefix = app[SETTINGS].wherobots_prefix.rstrip("/")
    for name, table in (("/runs", runs), ("/storage", [*credentials, *storage])):
        family = web.Application(middlewares=[errors])
        family[ROOT] = prefix + name
        family.add_routes(table)
        app.add_subapp(prefix + name, family)
