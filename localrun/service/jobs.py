"""Jobs: a group of runs made together (one per combination of a sweep's variables), each run
with its index in the job and the values of its variables."""

from __future__ import annotations

import asyncio
import secrets
import shlex
import string
import time
from pathlib import Path
from typing import Any

from localrun import files, sweeps
from localrun.errors import Conflict, Invalid, NotFound
from localrun.runs import Job, Run, State
from localrun.service.runs import Runs

JOB_ID_ALPHABET = string.ascii_lowercase + string.digits


class Jobs(Runs):
    async def create_job(
        self,
        owner: str,
        family: str,
        *,
        name: str,
        model: str,
        version: str,
        command: str,
        cores: int,
        walltime_s: int | None,
        file_ids: list[str],
        variables: list[tuple[str, list[Any]]],
        spec: dict[str, Any],
    ) -> tuple[Job, list[Run]]:
        """A job: one shell run per combination of its variables' values (one when it has none).

        The job's files are put into every run's input/ once (hard links; zip archives
        unpacked, see files.stage_files); each run's command begins by exporting its variables,
        so the command sees them as $name. Nothing is left behind when any part fails.
        """
        if not command.strip():
            raise Invalid("the job needs a command")
        self.check_cores(cores, oversubscribe=False)
        combos = sweeps.combinations(variables)
        sources = [await self.owned_file(owner, file_id) for file_id in file_ids]
        job_id = await self._new_job_id()
        staging = self.settings.data_path / "files" / f".staging-{job_id}"
        made: list[Run] = []
        try:
            await asyncio.to_thread(
                files.stage_files,
                [(f.name, Path(f.path)) for f in sources],
                staging,
                await self.room_for(owner),
            )
            job = await self.store.insert_job(
                Job(job_id, owner, family, name, spec, time.time(), len(combos))
            )
            for index, combo in enumerate(combos, 1):
                exports = " ".join(f"{k}={shlex.quote(text)}" for k, _, text in combo)
                run = await self.create_run(
                    owner,
                    family,
                    name=name if len(combos) == 1 else f"{name} (run {index})",
                    model=model,
                    version=version,
                    cores=cores,
                    walltime_s=walltime_s,
                    kind="shell",
                    command=f"export {exports}; {command}" if combo else command,
                    extra={"variables": [list(item) for item in combo]},
                    job=(job_id, index),
                )
                made.append(run)
                await asyncio.to_thread(files.link_tree, staging, self.paths(run.id).input)
        except BaseException:
            await self.store.delete_job(job_id)
            for run in made:
                files.remove_tree(self.paths(run.id).root)
            raise
        finally:
            files.remove_tree(staging)
        return job, made

    async def get_job(self, owner: str, job_id: str) -> Job:
        job = await self.store.get_job(job_id, owner)
        if job is None:
            raise NotFound(f"no job {job_id}")
        return job

    async def list_jobs(self, owner: str, family: str) -> list[Job]:
        """The owner's jobs in a family, newest first."""
        return await self.store.list_jobs(owner, family)

    async def job_runs(self, owner: str, job_id: str) -> list[Run]:
        """The runs of a job, in order (run 1 first)."""
        job = await self.get_job(owner, job_id)
        return await self.store.job_runs(job.id)

    async def job_run(self, owner: str, job_id: str, index: str | int) -> Run:
        text = str(index)
        number = int(text) if text.isdigit() and len(text) < 16 else None
        found = None if number is None else await self.store.job_run(job_id, number, owner)
        if found is None:
            await self.get_job(owner, job_id)
            raise NotFound(f"no run {text} in job {job_id}")
        return found

    async def submit_job(self, owner: str, job_id: str) -> list[Run]:
        """Queue every run of the job; a job is submitted once."""
        job = await self.job_runs(owner, job_id)
        waiting = [r for r in job if r.state == State.READY]
        if not waiting:
            raise Conflict(f"job {job_id} was submitted already")
        for run in waiting:
            await self.start(owner, run.id)
        return await self.job_runs(owner, job_id)

    async def stop_job(self, owner: str, job_id: str) -> list[Run]:
        """Stop every run of the job that has not ended."""
        job = await self.job_runs(owner, job_id)
        for run in job:
            if not run.terminal:
                await self.stop(owner, run.id)
        return await self.job_runs(owner, job_id)

    async def _new_job_id(self) -> str:
        while True:
            job_id = "".join(secrets.choice(JOB_ID_ALPHABET) for _ in range(6))
            if await self.store.get_job(job_id) is None:
                return job_id
