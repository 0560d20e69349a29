"""`localrun serve --demo`: submit the shipped example case and report its progress."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from importlib import resources

from localrun.service import Service

log = logging.getLogger("localrun.demo")
DEMO_OWNER = "demo"
EXAMPLE = ("namelist.input", "wrfinput_d01")


async def _file_chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def demo_run(service: Service) -> None:
    try:
        await _demo(service)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("the demo run could not be completed")


async def demo_owner(service: Service) -> str:
    """The owner of the first token made, so that its CLI sees the demo run; else "demo"."""
    active = [t for t in await service.tokens.listing() if not t.get("revoked_at")]
    return str(active[0]["owner"]) if active else DEMO_OWNER


async def _demo(service: Service) -> None:
    owner = await demo_owner(service)
    run = await service.create_run(owner, "localrun", name="example")
    source = resources.files("localrun") / "example_case"
    for name in EXAMPLE:
        data = (source / name).read_bytes()
        await service.upload_input(owner, run.id, name, _file_chunks(data))
    cores = min(2, service.settings.total_cores)
    run = await service.start(owner, run.id, cores=cores)
    log.info("demo: example run %s of %s submitted on %d core(s)", run.id, owner, cores)
    last = -1.0
    while not run.terminal:
        await asyncio.sleep(1)
        run = await service.get_run(owner, run.id)
        progress = run.progress or {}
        percent = float(progress.get("percent") or 0.0)
        if percent != last:
            left = progress.get("remaining_s")
            left_text = "?" if left is None else f"{float(left):.0f} s"
            log.info(
                "demo: run %s %s %5.1f%% model time %s, time left %s",
                run.id,
                run.state,
                percent,
                progress.get("model_time") or "-",
                left_text,
            )
            last = percent
    message = f": {run.error_message}" if run.error_message else ""
    log.info("demo: run %s ended %s%s", run.id, run.state, message)
    outputs = service.output_entries(run)
    log.info("demo: it wrote %d files in %s", len(outputs), service.paths(run.id).work)
    if owner == DEMO_OWNER:
        log.info(
            "demo: the run belongs to %r; see it with `localrun token create NAME --owner %s "
            "--save`, then `localrun list`",
            DEMO_OWNER,
            DEMO_OWNER,
        )
    else:
        log.info("demo: see it with `localrun status %s` (a token of %s)", run.id, owner)
