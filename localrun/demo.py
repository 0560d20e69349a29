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


async def _demo(service: Service) -> None:
    run = await service.create_run(DEMO_OWNER, "localrun", name="example")
    source = resources.files("localrun") / "example_case"
    for name in EXAMPLE:
        data = (source / name).read_bytes()
        await service.upload_input(DEMO_OWNER, run.id, name, _file_chunks(data))
    cores = min(2, service.settings.total_cores)
    run = await service.start(DEMO_OWNER, run.id, cores=cores)
    log.info("demo: example run %s submitted on %d core(s)", run.id, cores)
    last = -1.0
    while not run.terminal:
        await asyncio.sleep(1)
        run = await service.get_run(DEMO_OWNER, run.id)
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
    log.info("demo: create a token with `localrun token create NAME --save` to use the CLI")
