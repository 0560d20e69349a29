"""A run's life as its owner drives it: create, list, start, stop, delete its outputs."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

from localrun import files, runs
from localrun.commands import declared_ranks
from localrun.config import Settings
from localrun.errors import Conflict, Forbidden, Invalid
from localrun.runs import Event, Run, State, StopReason
from localrun.service.base import NAMELIST
from localrun.service.inputs import Inputs
from localrun.service.versions import SIMULATOR
from localrun.store import Store
from localrun.supervisor import Supervisor
from localrun.wrf.checks import Problem, check_case

PREPROCESSORS = ("ideal", "real")

NOT_STARTED = frozenset({State.CREATED, State.READY})
CHECKS_KEPT = 256  # pre-start check results remembered, the least recently used dropped

log = logging.getLogger(__name__)


class CaseChecks:
    """The pre-start check's results, by what they were computed from: the run's input
    folder as it is (each entry's name, inode, size, times, mode), the cores and the
    pre-processing step. Any change to an input, an upload included (written under a new
    inode and renamed), makes a new key, so a result is never reused for other inputs.

    It is filled when a run becomes ready, so that its start does not open wrfinput files
    (tens of ms for netCDF's metadata) nor parse the namelist again. Used from threads."""

    def __init__(self, kept: int = CHECKS_KEPT) -> None:
        self.kept = kept
        self._results: OrderedDict[tuple[Any, ...], tuple[Problem, ...]] = OrderedDict()
        self._lock = threading.Lock()
        self.computed = 0  # how many checks ran (the rest were remembered)

    def problems(self, inputs: Path, cores: int, preprocess: str | None) -> list[Problem]:
        key = (str(inputs), cores, preprocess, folder_signature(inputs))
        with self._lock:
            found = self._results.get(key)
            if found is not None:
                self._results.move_to_end(key)
                return list(found)
        text = (inputs / NAMELIST).read_text(errors="replace")
        problems = check_case(text, cores=cores, inputs_dir=inputs, preprocess=preprocess)
        with self._lock:
            self.computed += 1
            self._results[key] = tuple(problems)
            while len(self._results) > self.kept:
                self._results.popitem(last=False)
        return problems


def folder_signature(folder: Path) -> tuple[tuple[Any, ...], ...]:
    """What identifies the folder's entries as they are now; a check read after this was
    taken is stored under it, so a change meanwhile only makes the next lookup miss."""
    entries = []
    with os.scandir(folder) as found:
        for entry in found:
            info = entry.stat(follow_symlinks=False)
            entries.append(
                (
                    entry.name,
                    info.st_ino,
                    info.st_size,
                    info.st_mtime_ns,
                    info.st_ctime_ns,
                    info.st_mode,
                )
            )
    return tuple(sorted(entries))


class Runs(Inputs):
    case_checks: CaseChecks

    def __init__(self, settings: Settings, store: Store, supervisor: Supervisor) -> None:
        super().__init__(settings, store, supervisor)
        self.case_checks = CaseChecks()

    async def refresh_readiness(self, run_id: str) -> Run:
        """Also, for a WRF run that is ready, the pre-start check on its own cores, kept for
        its start (see CaseChecks); an error here is the start's to report."""
        run = await super().refresh_readiness(run_id)
        if run.state == State.READY and run.kind == "wrf":
            preprocess = run.extra.get("preprocess")
            inputs = self.paths(run.id).input
            try:
                await asyncio.to_thread(self.case_checks.problems, inputs, run.cores, preprocess)
            except Exception:
                log.debug("run %s: the pre-start check failed before its start", run.id)
        return run

    async def create_run(
        self,
        owner: str,
        family: str,
        *,
        name: str = "",
        model: str = "wrf",
        version: str = "latest",
        cores: int | None = None,
        walltime_s: int | None = None,
        kind: str = "wrf",
        command: str | None = None,
        extra: dict[str, Any] | None = None,
        job: tuple[str, int] | None = None,
        preprocess: str | None = None,
    ) -> Run:
        """A new run; `job` is (job id, index) for one of a job's runs. A shell command's
        launcher lines count: `mpirun -np 2` takes 2 cores whatever was declared."""
        asked = declared_ranks(command) if kind == "shell" and command else None
        note = None
        if asked is not None and asked > (cores or 1):
            note = (
                f"the command starts {asked} MPI ranks: {asked} cores are counted, not {cores or 1}"
            )
            cores = asked
        resolved = self.resolve_version(model.lower(), version)
        executable = self.executable_of(model.lower(), resolved)
        if resolved != SIMULATOR:
            version = resolved  # the simulator serves any version: the asked one is kept
        if preprocess is not None:
            extra = {**(extra or {}), **self._preprocessor(model.lower(), resolved, preprocess)}
        if kind == "wrf" and self.settings.cfl_retries and "cfl_retries" not in (extra or {}):
            extra = {**(extra or {}), "cfl_retries": self.settings.cfl_retries}
        if cores is not None:
            self.check_cores(cores, oversubscribe=False)
        if walltime_s is not None and walltime_s <= 0:
            raise Invalid("walltime must be a positive number of seconds")
        if kind == "shell" and not command:
            raise Invalid("a shell run needs a command")
        if kind == "shell":
            await self._check_shell_owner(owner)
        run = Run(
            id=str(uuid.uuid4()),
            owner=owner,
            family=family,
            name=name or f"{model}-{version}",
            model=model.lower(),
            version=version,
            state=State.CREATED if kind == "wrf" else State.READY,
            walltime_s=walltime_s or self.settings.walltime_s,
            created_at=time.time(),
            kind=kind,
            command=command,
            cores=cores or 1,
            job_id=job[0] if job else None,
            job_index=job[1] if job else None,
            extra={
                **({"required_inputs": [NAMELIST]} if kind == "wrf" else {}),
                "executable": executable,
                **(extra or {}),
            },
        )
        paths = self.paths(run.id)
        paths.create()
        try:
            return await self.store.insert_run(run, "created" + (f"; {note}" if note else ""))
        except BaseException:
            await asyncio.to_thread(files.remove_tree, paths.root)
            raise

    def _preprocessor(self, model: str, version: str, name: str) -> dict[str, str]:
        """The run's pre-processing step: ideal.exe or real.exe of its version."""
        if model != "wrf" or name not in PREPROCESSORS:
            raise Invalid(f"preprocess must be one of {', '.join(PREPROCESSORS)}, not {name!r}")
        configured = self.settings.model_paths.get((name, version))
        if configured is None and version == SIMULATOR and name == "ideal":
            configured = SIMULATOR
        if configured is None:
            where = "the simulator has none" if version == SIMULATOR else "none is configured"
            raise Invalid(
                f"no {name}.exe for wrf {version}: {where}; add {name}:{version}=/path/{name}.exe "
                "to the models setting"
            )
        return {"preprocess": name, "preprocessor": configured}

    async def _check_shell_owner(self, owner: str) -> None:
        """Without a sandbox a shell command can read and change every run of the host, so it
        is taken from one owner only, unless the host is declared single-user."""
        if self.isolation != "none" or self.settings.single_user:
            return
        others = [o for o in await self.store.shell_owners() if o != owner]
        if others:
            raise Forbidden(
                "this host runs shell commands without a sandbox (bubblewrap is not available), "
                f"and another owner ({others[0]}) has shell runs here: each could read the "
                "other's files. Install bubblewrap, or set single_user = true if every owner "
                "is you"
            )

    async def queue_place(self, run: Run) -> dict[str, Any] | None:
        """Where a run waiting for this host's cores is in line, first come first served:
        {"position": 1 for the next to start, "reason": why it waits}; None for any other run
        (one a scheduler holds says why in its queue_reason)."""
        if run.state != State.QUEUED or run.executor_ref is not None:
            return None
        waiting = [r for r in await self.store.runs_in([State.QUEUED]) if r.executor_ref is None]
        ahead = next((i for i, r in enumerate(waiting) if r.id == run.id), None)
        if ahead is None:
            return None
        free = self.cores_free()
        reason = (
            f"{ahead} run(s) ahead of it"
            if ahead
            else f"waiting for {run.cores} free core(s); {free} of "
            f"{self.settings.total_cores} free now"
        )
        return {"position": ahead + 1, "reason": reason}

    async def list_runs(self, owner: str, **filters: Any) -> list[Run]:
        return await self.store.list_runs(owner, launch=False, **filters)

    async def count_runs(self, owner: str) -> int:
        return await self.store.count_runs(owner)

    async def events(self, owner: str, run_id: str) -> list[Event]:
        await self.get_run(owner, run_id)
        return await self.store.events(run_id)

    def check_cores(self, cores: int, oversubscribe: bool) -> None:
        total = self.settings.total_cores
        if cores < 1:
            raise Invalid("cores must be at least 1")
        if cores > total and not oversubscribe:
            raise Invalid(
                f"{cores} cores asked but this machine hands out {total}; "
                "ask for fewer or set oversubscribe (runs about 12x slower)"
            )

    async def start(
        self, owner: str, run_id: str, cores: int | None = None, oversubscribe: bool = False
    ) -> Run:
        async with self.run_lock(run_id):
            return await self._start(owner, run_id, cores, oversubscribe)

    async def _start(self, owner: str, run_id: str, cores: int | None, oversubscribe: bool) -> Run:
        run = await self.get_run(owner, run_id)
        if run.state == State.CREATED:
            missing = ", ".join(self.missing_inputs(run))
            raise Conflict(f"run {run.id} cannot start: inputs missing: {missing}")
        if run.state != State.READY:
            raise Conflict(f"run {run.id} is {run.state}; only a ready run can start")
        cores = cores or run.cores
        self.check_cores(cores, oversubscribe)
        await asyncio.to_thread(self._check_launchable, run, cores)
        moved = await self.store.transition(
            run.id,
            [State.READY],
            State.QUEUED,
            f"queued for {cores} core(s)",
            cores=cores,
            oversubscribe=oversubscribe,
            queued_at=time.time(),
        )
        if not moved:
            raise Conflict(f"run {run.id} changed state meanwhile; try again")
        self.supervisor.launch_queued()
        return await self.get_run(owner, run_id)

    def _check_launchable(self, run: Run, cores: int) -> None:
        """Refuse, before any core is spent, what WRF would refuse at start-up."""
        if run.kind != "wrf":
            return
        inputs = self.paths(run.id).input
        problems = self.case_checks.problems(inputs, cores, run.extra.get("preprocess"))
        if problems:
            message = "; ".join(p.message for p in problems)
            hints = [p.hint for p in problems if p.hint]
            if hints:
                message += " (" + "; ".join(hints) + ")"
            raise Invalid(message, code=problems[0].code)

    async def stop(
        self,
        owner: str,
        run_id: str,
        reason: str = "stopped by request",
        *,
        started_only: bool = False,
    ) -> Run:
        """Cancel a run that has not started, or stop a live one. started_only refuses a run
        that was never started instead of cancelling it."""
        run = await self.get_run(owner, run_id)
        if started_only and run.state in NOT_STARTED:
            raise Conflict(f"run {run.id} is {run.state}: only a started run can be stopped")
        waiting = [State.CREATED, State.READY, State.QUEUED]
        if run.state in waiting:
            await self.store.transition(run.id, waiting, State.CANCELLED, reason)
        elif run.state in runs.LIVE:
            await self.supervisor.request_stop(run.id, StopReason.USER, reason)
        else:
            raise Conflict(f"run {run.id} is {run.state}; there is nothing to stop")
        return await self.get_run(owner, run_id)

    async def wait_terminal(self, owner: str, run_id: str, timeout_s: float) -> Run:
        deadline = time.monotonic() + timeout_s
        while True:
            run = await self.get_run(owner, run_id)
            if run.terminal or time.monotonic() > deadline:
                return run
            await asyncio.sleep(0.1)

    async def delete_outputs(self, owner: str, run_id: str) -> Run:
        """Stop the run, then remove its files (inputs, outputs, snapshots); its record, its
        events and the list of its inputs stay. Deleting again changes nothing."""
        run = await self.get_run(owner, run_id)
        if not run.terminal:
            await self.stop(owner, run_id, "stopped by delete")
            run = await self.wait_terminal(owner, run_id, self.settings.stop_grace_s + 10)
        if run.outputs_deleted_at is not None:
            return run
        paths = self.paths(run.id)
        for folder in (paths.work, paths.input, paths.root / "snapshots"):
            await asyncio.to_thread(files.remove_tree, folder)
        paths.create()
        for kind in ("output", "snapshot"):  # the inputs' records stay, as the run's metadata
            await self.store.delete_files(run.id, kind)
        await self.store.update_run(run.id, outputs_deleted_at=time.time())
        return await self.get_run(owner, run_id)

    async def delete_run(self, owner: str, run_id: str) -> None:
        """delete_outputs, then the run's folder and its record (events, files) too."""
        run = await self.delete_outputs(owner, run_id)
        await asyncio.to_thread(files.remove_tree, self.paths(run.id).root)
        await self.store.delete_run(run.id)
