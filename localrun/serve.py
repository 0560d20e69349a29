"""Run the daemon: listen, tell systemd it is ready, shut down cleanly leaving runs running."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import socket
import ssl
from collections.abc import AsyncIterator

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
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
    except (OSError, ssl.SSLError) as exc:
        what = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StartupError(
            f"cannot use tls_cert {settings.tls_cert} / tls_key {settings.tls_key}: {what}"
        ) from None
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
    asyncio.run(_serve(settings, demo))


async def _serve(settings: Settings, demo: bool) -> None:
    app = init_app(settings)

    async def demo_task(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(demo_run(app[SERVICE])) if demo else None
        yield
        if task is not None:
            task.cancel()

    app.cleanup_ctx.append(demo_task)
    context = ssl_context(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port, ssl_context=context)
        try:
            await site.start()
        except OSError as exc:
            raise _listen_error(settings, exc) from None
        scheme = "https" if context else "http"
        bound = ", ".join(_url(scheme, address) for address in runner.addresses)
        log.info("localrun listening on %s", bound)
        write_url(settings, scheme, runner.addresses)
        notify_systemd("READY=1")
        await stop.wait()
        log.info("localrun stopping; runs still alive go on and are adopted at the next start")
        notify_systemd("STOPPING=1")
    finally:
        await runner.cleanup()
    log.info("localrun stopped")


def write_url(settings: Settings, scheme: str, addresses: list[object]) -> None:
    """The URL clients reach this daemon at, in DATA_DIR/daemon.url beside the lock, so that
    `token create --save` on the data directory records this daemon's port."""
    for address in addresses:
        if isinstance(address, tuple):
            host, port = str(address[0]), int(address[1])
            if host in {"0.0.0.0", "::"}:
                host = "127.0.0.1" if host == "0.0.0.0" else "::1"
            url = _url(scheme, (host, port))
            tmp = settings.data_path / "daemon.url.tmp"
            tmp.write_text(url + "\n")
            tmp.replace(settings.data_path / "daemon.url")
            return


def _url(scheme: str, address: object) -> str:
    if isinstance(address, tuple):
        host, port = address[0], address[1]
        return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"
    return str(address)


def _listen_error(settings: Settings, exc: OSError) -> Exception:
    if exc.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
        return exc
    reason = os.strerror(exc.errno or 0).lower()
    hint = " (another localrun? choose --port)" if exc.errno == errno.EADDRINUSE else ""
    return StartupError(f"cannot listen on {settings.host}:{settings.port}: {reason}{hint}")
