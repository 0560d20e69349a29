"""init_app(settings): the aiohttp application, one sub-application per API family, with the
store, supervisor and service they share."""

from __future__ import annotations

import asyncio
import logging
import shlex
import shutil
from collections.abc import AsyncIterator

from aiohttp import web

from localrun import files
from localrun.api import admin, cloudrun, metrics, native, rescale, s3, sharedcloud, wherobots
from localrun.api.common import BODY_LIMIT
from localrun.api.keys import SERVICE, SETTINGS
from localrun.api.native import errors as native_errors
from localrun.config import Settings
from localrun.executor.local import LocalExecutor
from localrun.executor.local.sandbox import choose_sandbox
from localrun.executor.prepare import launch_request
from localrun.executor.slurm import SlurmExecutor, SlurmTools
from localrun.executor.slurm.script import JobOptions
from localrun.service import Service
from localrun.store import Store
from localrun.supervisor import Supervisor
from localrun.web import mount as mount_page

log = logging.getLogger("localrun")

FAMILIES = (native, cloudrun, rescale, wherobots, s3, sharedcloud, admin)


async def _runtime(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    # Two daemons on one data directory would both launch the same queued runs.
    with files.exclusive_lock(settings.data_path / "daemon.lock", f"{settings.data_path}"):
        sandbox = await asyncio.to_thread(
            choose_sandbox,
            settings.sandbox,
            data_dir=settings.data_path,
            programs=[
                shutil.which(settings.mpirun) or settings.mpirun,
                *settings.model_paths.values(),
            ],
            secrets=[settings.tls_key],
            network=settings.sandbox_network,
        )
        left = await asyncio.to_thread(files.remove_leftovers, settings.data_path)
        if left:
            log.info("removed %d part file(s) left by an interrupted upload", len(left))
        store = await Store.open(settings.data_path / "localrun.db")
        recorded = await store.run_ids()
        empty = await asyncio.to_thread(files.remove_unrecorded_runs, settings.data_path, recorded)
        if empty:
            log.info("removed %d empty run folder(s) that no run record names", len(empty))
        executor: LocalExecutor | SlurmExecutor = (
            slurm_executor(settings)
            if settings.executor == "slurm"
            else LocalExecutor(settings.mpirun, sandbox)
        )
        supervisor = Supervisor(settings, store, executor, launch_request)
        app[SERVICE] = Service(settings, store, supervisor)
        try:
            await supervisor.start()
        except BaseException:  # nothing may be left that keeps the process alive
            await supervisor.close()
            executor.close()
            await store.close()
            raise
        cores = settings.total_cores
        if executor.counts_cores:
            log.info("data directory %s, %d core(s) to hand out", settings.data_path, cores)
        else:
            log.info("data directory %s; the scheduler hands out the cores", settings.data_path)
        log.info("runs are isolated by: %s", executor.isolation)
        log.info("runs are executed by: %s", settings.executor)
        yield
        await supervisor.close()
        executor.close()
        await store.close()


def slurm_executor(settings: Settings) -> SlurmExecutor:
    tools = SlurmTools(
        sbatch=settings.slurm_sbatch,
        squeue=settings.slurm_squeue,
        scancel=settings.slurm_scancel,
        sacct=settings.slurm_sacct,
        scontrol=settings.slurm_scontrol,
        sinfo=settings.slurm_sinfo,
    )
    options = JobOptions(
        mpi=settings.slurm_mpi,
        mpirun=shutil.which(settings.mpirun) or settings.mpirun,
        partition=settings.slurm_partition,
        account=settings.slurm_account,
        extra_args=shlex.split(settings.slurm_extra_args),
    )
    return SlurmExecutor(tools, options)


def init_app(settings: Settings) -> web.Application:
    # Paths no family claims are answered in localrun's own dialect.
    app = web.Application(middlewares=[native_errors], client_max_size=BODY_LIMIT)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_runtime)
    for family in FAMILIES:
        family.mount(app)
    metrics.mount(app)
    mount_page(app)
    return app
