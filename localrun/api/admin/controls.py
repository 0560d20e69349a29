"""The admin API's hold on the daemon: scripted runs, held runs, the cores handed out, and
reset. It wraps the supervisor's launch preparation and scheduling at start-up."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

from localrun import files
from localrun.api.admin.scripts import KILLED, Script
from localrun.config import Settings
from localrun.executor.base import LaunchRequest
from localrun.executor.local.processes import kill_run
from localrun.runs import LIVE, Run, State
from localrun.service import Service

log = logging.getLogger("localrun.admin")
TRASH = ".reset-trash"
SCRIPT_KEY = "admin_script"  # a run's own script in its extra


class Controls:
    def __init__(self) -> None:
        self.service: Service | None = None
        self.per_run: dict[str, Script] = {}
        self.next_runs: list[list[Any]] = []  # [Script, runs left], first first
        self.held: set[str] = set()
        self.to_kill: dict[str, Script] = {}  # scripted killed or lost, until done
        self.lost_refs: dict[str, str] = {}  # run id -> executor ref, killed at shutdown
        self._task: asyncio.Task[None] | None = None

    # start-up

    def attach(self, service: Service) -> None:
        self.service = service
        # what a reset left to delete when the daemon stopped
        trash = service.settings.data_path / TRASH
        asyncio.get_running_loop().run_in_executor(None, files.remove_tree, trash)
        supervisor = service.supervisor
        prepare = supervisor.prepare

        def scripted(settings: Settings, run: Run) -> LaunchRequest:
            request = prepare(settings, run)
            script = self.script_for(run)
            if script is None:
                return request
            script.apply(Path(request.work_dir))
            if script.outcome in KILLED:
                self.to_kill[run.id] = script
            log.info("run %s launched as scripted: %s", run.id, script.to_json())
            return dataclasses.replace(request, env={**request.env, **script.env()})

        supervisor.prepare = scripted
        supervisor.held = self.held
        self._task = asyncio.create_task(self._killer(), name="localrun-admin-killer")

    async def close(self) -> None:
        """After the supervisor has closed: the runs scripted lost lose their processes."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for run_id, ref in self.lost_refs.items():
            log.info("run %s: its processes killed as the daemon stops (scripted lost)", run_id)
            await asyncio.to_thread(kill_run, ref, run_id)

    async def _killer(self) -> None:
        while True:
            await asyncio.sleep(self.svc.settings.poll_interval_s / 2)
            for run_id, script in list(self.to_kill.items()):
                try:
                    await self._maybe_kill(run_id, script)
                except Exception:
                    log.exception("run %s: the scripted kill failed", run_id)

    async def _maybe_kill(self, run_id: str, script: Script) -> None:
        run = await self.svc.store.get_run(run_id)
        if run is None or run.terminal:
            self.to_kill.pop(run_id, None)
            return
        if run.state != State.RUNNING or run.executor_ref is None:
            return
        if script.outcome == "lost":  # killed when the daemon stops, wherever it is then
            self.lost_refs[run_id] = run.executor_ref
            self.to_kill.pop(run_id)
            return
        if run.percent < script.at_percent - 5.0:  # the hang is at at_percent
            return
        self.to_kill.pop(run_id)
        log.info("run %s: every process killed at %.0f%% (scripted)", run_id, run.percent)
        await asyncio.to_thread(kill_run, run.executor_ref, run_id)

    @property
    def svc(self) -> Service:
        assert self.service is not None, "the admin API's controls are attached at start-up"
        return self.service

    # scripts

    def script_for(self, run: Run) -> Script | None:
        """The run's own script (kept in its extra too, so a restart before its launch keeps
        it), else the first of the next-N scripts."""
        if run.id in self.per_run:
            return self.per_run.pop(run.id)
        kept = run.extra.get(SCRIPT_KEY)
        if isinstance(kept, dict):
            return Script.from_json(kept)
        if self.next_runs:
            script, left = self.next_runs[0]
            if left <= 1:
                self.next_runs.pop(0)
            else:
                self.next_runs[0][1] = left - 1
            return script  # type: ignore[no-any-return]
        return None

    def scripts(self) -> dict[str, Any]:
        return {
            "runs": {rid: s.to_json() for rid, s in self.per_run.items()},
            "next": [{**s.to_json(), "runs": left} for s, left in self.next_runs],
        }

    async def script_run(self, run_id: str, script: Script) -> None:
        self.per_run[run_id] = script
        await self.svc.store.merge_extra(run_id, {SCRIPT_KEY: script.to_json()})

    async def clear_scripts(self) -> None:
        for run_id in list(self.per_run):
            await self.svc.store.merge_extra(run_id, {SCRIPT_KEY: None})
        self.per_run.clear()
        self.next_runs.clear()

    # holding

    def hold(self, run_id: str) -> None:
        self.held.add(run_id)

    def release(self, run_id: str | None) -> None:
        if run_id is None:
            self.held.clear()
        else:
            self.held.discard(run_id)
        self.svc.supervisor.kick()

    # cores

    def set_cores(self, cores: int) -> None:
        svc = self.svc
        settings = dataclasses.replace(svc.settings, cores=cores)
        svc.settings = settings
        svc.supervisor.settings = settings
        svc.supervisor.kick()
        log.info("the host hands out %d core(s) now", cores)

    # reset

    async def reset(self, owner: str | None) -> dict[str, Any]:
        """Every run, job, file, object and function of owner (None = of everyone) gone, as if
        never made; tokens and accounts stay. Live runs' processes are killed first."""
        began = time.perf_counter()
        svc = self.svc
        store, supervisor = svc.store, svc.supervisor
        rows = await store.owner_runs(owner)
        deadline = time.monotonic() + 5.0
        while any(r["state"] == State.STARTING for r in rows) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)  # a launch in progress: its process is known in a moment
            rows = await store.owner_runs(owner)
        ids = [r["id"] for r in rows]
        live = [r for r in rows if r["state"] in (*LIVE, State.QUEUED) and r["executor_ref"]]
        for row in live:
            supervisor.unwatch(row["id"])
        await asyncio.gather(
            *(supervisor.executor.stop(r["executor_ref"], 0.0) for r in live),
            return_exceptions=True,
        )
        loose = [Path(p) for p in await store.delete_owner_rows(owner)]
        for row in live:
            with contextlib.suppress(Exception):
                supervisor.executor.forget(row["executor_ref"])
        for run_id in ids:
            self.per_run.pop(run_id, None)
            self.to_kill.pop(run_id, None)
            self.lost_refs.pop(run_id, None)
            self.held.discard(run_id)
        data = svc.settings.data_path
        objects = svc.objects_root(owner) if owner is not None else data / "objects"
        paths = [files.run_paths(data, i).root for i in ids] + loose + [objects]
        trash = await asyncio.to_thread(_to_trash, data, paths)
        asyncio.get_running_loop().run_in_executor(None, files.remove_tree, trash)
        took = time.perf_counter() - began
        log.info(
            "reset %s: %d run(s), %d loose file(s) removed in %.1f ms",
            owner if owner is not None else "every owner",
            len(ids),
            len(loose),
            took * 1000,
        )
        return {"runs": len(ids), "files": len(loose), "ms": round(took * 1000, 3)}


def _to_trash(data_dir: Path, paths: list[Path]) -> Path:
    """Each path renamed into a new trash folder at once (emptied after the answer)."""
    trash = data_dir / TRASH / uuid.uuid4().hex
    trash.mkdir(parents=True)
    for i, path in enumerate(paths):
        with contextlib.suppress(FileNotFoundError):
            os.rename(path, trash / str(i))
    return trash
