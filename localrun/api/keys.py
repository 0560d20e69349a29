"""Every typed key the applications hold, in one place."""

from aiohttp import web

from localrun.api.rendered import Rendered
from localrun.config import Settings
from localrun.service import Service

SETTINGS = web.AppKey("settings", Settings)
SERVICE = web.AppKey("service", Service)
ROOT = web.AppKey("root", str)  # the path a family's sub-application is mounted at
RENDERED = web.AppKey("rendered", Rendered)  # a family's bodies of runs, by (seq, rev)
