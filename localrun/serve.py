"""Run the daemon: listen, tell systemd it is ready, shut down cleanly leaving runs running."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import re
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from localrun.api.keys import SERVICE
from localrun.app import init_app
from localrun.config import Settings
from localrun.demo import demo_run
from localrun.errors import StartupError

log = logging.getLogger("localrun")


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    if not settings.tls:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.tls_cert, settings.tls_key)
    return context


def notify_systemd(message: str) -> None:
    """sd_notify without libsystemd: one datagram to $NOTIFY_SOCKET."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(message.encode())


def serve(settings: Settings, demo: bool = False) -> None:
    app = init_app(settings)

    def listening(banner: str) -> None:
        """run_app's banner comes once every socket is bound: only then is the daemon ready."""
        found = re.search(r"Running on (\S+)", banner)
        log.info("localrun listening on %s", found.group(1) if found else banner.strip())
        notify_systemd("READY=1")

    async def ready(app: web.Application) -> AsyncIterator[None]:
        task = None
        if demo:
            task = asyncio.create_task(demo_run(app[SERVICE]))
        yield
        notify_systemd("STOPPING=1")
        if task is not None:
            task.cancel()

    app.cleanup_ctx.append(ready)
    try:
        web.run_app(
            app,
            host=settings.host,
            port=settings.port,
            ssl_context=ssl_context(settings),
            print=listening,
            access_log=None,
            shutdown_timeout=5,
            handle_signals=True,
        )
    except OSError as exc:
        if exc.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            raise
        reason = os.strerror(exc.errno or 0).lower()
        hint = " (another localrun? choose --port)" if exc.errno == errno.EADDRINUSE else ""
        raise StartupError(
            f"cannot listen on {settings.host}:{settings.port}: {reason}{hint}"
        ) from None


def data_dir_hint(settings: Settings) -> Path:
    return settings.data_path
