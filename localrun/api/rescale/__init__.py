"""Rescale's API, as `rescalepy` 0.4.2 speaks it (CLIENTS.md §D) and as seed 002 documents runs.

The views are in jobs.py (the v2 job flow) and runs.py (the runs of a job); the JSON shapes and
statuses in shapes.py, the job body in job_spec.py.

Auth is `Authorization: Token <token>`; a missing or bad token is 401, another owner's job or
file 404. Errors are DRF's `{"detail": "..."}`. Every path answers with and without its trailing
slash, never with a redirect. Every list is `{"count", "next", "previous", "results"}`, with
absolute `next`/`previous` URLs built from the request's host; `?page=N&page_size=M` (default
20, at most 1000); a page past the end is 404.

How Rescale's objects map onto localrun:
* An uploaded file is kept on its own, owned by the token's owner, until jobs use it; its id
  is the store's file id. A job links it into each of its runs (so one upload serves any
  number of jobs), and unpacks a `.zip` there: an archive whose members all sit in one folder
  named like the archive (`ics.zip` holding `ics/...`, which is how rescalepy uploads a
  directory) gives that folder's contents, so `ics/wrfinput_d01` lands as `wrfinput_d01` in the
  working directory; any other archive is unpacked as it is. No member may land outside.
* A job is a localrun job with one run of kind "shell" per combination of its variables; the
  run's id in Rescale's API is its index in the job, "1", "2", ... The command runs with
  `/bin/sh -c`, under `set -e` (a failing step, such as a `cd` into a folder that is not
  there, ends the run failed with its exit status), in the run's work/, where `wrf.exe`,
  `mpirun` and `mpiexec` name the configured model and launcher.
  A run reserves `hardware.coresPerSlot` cores in a sweep and `hardware.cores` otherwise;
  `walltime` is in hours. Analyses: `wrf` (any version; versions without a configured
  executable run the built-in simulator) and `user_included` (your own command; `wrf.exe` is
  the newest configured WRF).
* Variables (a sweep): `jobvariables` of the job, or `variables` of its analysis, each
  `{"name", "values": [...]}` or Rescale's `{"name", "variableType": "Param",
  "valueGeneration": {"type": "FixedRange", "minValue", "maxValue", "increment"}}`. Every
  combination is one run listing its `variables`; its command starts with
  `export name=value ...;`, so the command and its scripts read them as `$name`.
* Statuses, newest first: Pending (created), Queued (submitted), Started and Validated (being
  launched), Executing (running), Stopping (a stop was asked), Completed once every run has
  ended, whatever the outcome: rescalepy waits for Completed only. A run that failed or timed
  out says so in `statusReason` with localrun's diagnosis of the WRF logs.
* Output files of a run: what it wrote in work/ (staged inputs left out), the launcher's
  stdout and stderr as `process_output.log`/`process_error.log`, and its snapshots
  (`snapshots/snapshot-<time>.zip`, what the run had written when the snapshot was asked).
  Each gets its id the first time it is listed and keeps it. In a job with several runs the
  `relativePath` starts with `run<k>/`.
"""

from __future__ import annotations

from aiohttp import web

from localrun.api.errors import error_middleware
from localrun.api.keys import ROOT
from localrun.api.rescale import jobs, runs
from localrun.api.rescale.common import SEED, V2, both_routes, v2_routes
from localrun.api.rescale.shapes import render_error

errors = error_middleware(render_error)
VIEWS = (jobs, runs)  # their routes register on import


def mount(app: web.Application) -> None:
    for root, tables in ((V2, (v2_routes, both_routes)), (SEED, (both_routes,))):
        family = web.Application(middlewares=[errors])
        family[ROOT] = root
        for table in tables:
            family.add_routes(table)
        app.add_subapp(root, family)
