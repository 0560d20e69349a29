"""Linked runs: a run resumed from its restart files, and a CFL failure retried with a smaller
time_step. Each is a new run with the first run's inputs and a changed namelist; the two runs
name each other (extra `resumed_from`/`resumed_by`, `retry_of`/`retried_by`)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Any

from localrun import files
from localrun.errors import Conflict, Invalid
from localrun.runs import Run, State
from localrun.service.base import NAMELIST
from localrun.service.runs import Runs
from localrun.wrf.namelist import NamelistError, read_case, wrf_time
from localrun.wrf.restart import restart_namelist, restart_point, smaller_time_step

log = logging.getLogger("localrun.chains")

PENDING_RETRY_S = 7 * 86400  # how far back a restarted daemon looks for a retry not yet made
RESUMABLE = frozenset({State.FAILED, State.CANCELLED, State.TIMED_OUT, State.LOST})


class Chains(Runs):
    async def resume(
        self, owner: str, run_id: str, cores: int | None = None, start: bool = True
    ) -> Run:
        """A new run that goes on from the newest restart files the run wrote."""
        run = await self.get_run(owner, run_id)
        if run.kind != "wrf":
            raise Invalid(f"run {run.id} is a command, not a WRF run: it has no restart files")
        if run.state not in RESUMABLE:
            raise Conflict(
                f"run {run.id} is {run.state}: only a failed, stopped, timed-out or lost run "
                "can be resumed"
            )
        if run.extra.get("resumed_by"):
            raise Conflict(f"run {run.id} was already resumed as {run.extra['resumed_by']}")
        text = await self._namelist_of(run)
        paths = self.paths(run.id)
        try:
            case = read_case(text)
        except NamelistError as exc:
            raise Conflict(f"run {run.id}: {exc.message}") from None
        point = await asyncio.to_thread(restart_point, paths.work, case)
        if point is None:
            raise Conflict(
                f"run {run.id} wrote no restart files (wrfrst_d01_*) before it ended, so it "
                "cannot be resumed; set restart_interval in &time_control to make runs resumable"
            )
        stamp = wrf_time(point.at)
        return await self._linked(
            run,
            restart_namelist(text, point.at),
            list(point.files),
            link=("resumed_from", "resumed_by"),
            extra={"restart_at": stamp},
            note=f"resumed from run {run.id} at model time {stamp}",
            told="resumed as run {} from model time " + stamp,
            cores=cores,
            start=start,
        )

    async def retry_after_cfl(self, run: Run) -> Run | None:
        """The next attempt of a run that failed with CFL and has retries left, else None."""
        left = int(run.extra.get("cfl_retries") or 0)  # the setting's value, kept at create
        if run.error_code != "cfl" or left <= 0 or run.extra.get("retried_by"):
            return None
        text = await self._namelist_of(run)
        try:
            smaller, step = smaller_time_step(text, self.settings.cfl_retry_factor)
        except NamelistError as exc:
            await self.store.add_event(run.id, run.state, f"no CFL retry: {exc.message}")
            return None
        attempt = int(run.extra.get("attempt", 1)) + 1
        return await self._linked(
            run,
            smaller,
            [],
            link=("retry_of", "retried_by"),
            extra={"cfl_retries": left - 1, "attempt": attempt, "time_step": step},
            note=f"attempt {attempt} of run {run.id} after CFL, with time_step = {step:g}",
            told=f"retried after CFL as run {{}}, with time_step = {step:g}",
            cores=None,
            start=True,
            preprocess=run.extra.get("preprocess"),
        )

    async def after_end(self, run: Run) -> None:
        await self.retry_after_cfl(run)

    async def retry_pending(self) -> None:
        """The CFL retries that a daemon stop cut off between a failure and its retry."""
        since = time.time() - PENDING_RETRY_S
        failed = await self.store.list_runs(
            None, states=[State.FAILED], created_after=since, limit=100_000, launch=False
        )
        for run in failed:
            if await self.retry_after_cfl(run) is not None:
                log.info("run %s: its CFL retry was made after a daemon restart", run.id)

    async def _namelist_of(self, run: Run) -> str:
        path = self.paths(run.id).input / NAMELIST
        try:
            return await asyncio.to_thread(path.read_text, errors="replace")
        except OSError:
            raise Conflict(f"run {run.id} has no namelist.input any more (deleted)") from None

    async def _linked(
        self,
        first: Run,
        namelist: str,
        restart_files: list[Path],
        *,
        link: tuple[str, str],
        extra: dict[str, Any],
        note: str,
        told: str,
        cores: int | None,
        start: bool,
        preprocess: str | None = None,
    ) -> Run:
        back, forward = link
        new = await self.create_run(
            first.owner,
            first.family,
            name=first.name,
            model=first.model,
            version=first.version,
            cores=cores or first.cores,
            walltime_s=first.walltime_s,
            extra={back: first.id, **extra},
            preprocess=preprocess,
        )
        try:
            await self._stage(first, new, namelist, restart_files)
            await self.refresh_readiness(new.id)
            await self.store.add_event(new.id, State.READY, note)
            if start:
                await self.start(first.owner, new.id, oversubscribe=first.oversubscribe)
        except BaseException:
            await self.delete_run(first.owner, new.id)
            raise
        await self.update_extra(first, **{forward: new.id})
        await self.store.add_event(first.id, first.state, told.format(new.id))
        log.info("run %s: %s", new.id, note)
        return await self.get_run(first.owner, new.id)

    async def _stage(self, first: Run, new: Run, namelist: str, restart_files: list[Path]) -> None:
        target = self.paths(new.id).input
        kept = [f for f in await self.input_files(first) if f.name != NAMELIST]
        sources = [(f.name, Path(f.path)) for f in kept]
        sources += [(p.name, p) for p in restart_files]

        def stage() -> list[tuple[str, Path, int, str]]:
            staged = []
            part = target / f".{NAMELIST}.part"
            part.write_text(namelist)
            os.replace(part, target / NAMELIST)
            for name, source in [(NAMELIST, target / NAMELIST), *sources]:
                if name != NAMELIST:
                    files.link_file(source, target / name)
                path = target / name
                staged.append((name, path, path.stat().st_size, files.md5_of(path)))
            return staged

        for name, path, size, md5 in await asyncio.to_thread(stage):
            await self.store.add_file(
                run_id=new.id,
                owner=new.owner,
                kind="input",
                name=name,
                path=str(path),
                size=size,
                md5=md5,
            )
