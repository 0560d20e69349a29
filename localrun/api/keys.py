"""Typed keys for what the application holds."""

from aiohttp import web

from localrun.service import Service

SERVICE = web.AppKey("service", Service)
