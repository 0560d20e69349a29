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
from localrun.api.admin.scripts import Script
from localrun.config import Settings
from localrun.executor.base import LaunchRequest
from localrun.runs import LIVE, Run, State
from localrun.service import Service
from localrun.supervisor import Supervisor

log = logging.getLogger("localrun.admin")
TRASH = ".reset-trash"


class Controls:
    def __init__(self) -> None:
        self.service: Service | None = None
        self.per_run: dict[str, Script] = {}
        self.next_runs: list[list[Any]] = []  # [Script, runs left], first first
        self.held: set[str] = set()

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
            script = self.script_for(run.id)
            if script is None:
                return request
            script.apply(Path(request.work_dir))
            log.info("run %s launched as scripted: %s", run.id, script.to_json())
            return dataclasses.replace(request, env={**request.env, **script.env()})

        supervisor.prepare = scripted
        schedule = supervisor._schedule

        async def holding() -> None:
            if not self.held:
                return await schedule()
            await _schedule_unheld(supervisor, self.held)

        supervisor._schedule = holding  # type: ignore[method-assign]

    @property
    def svc(self) -> Service:
        assert self.service is not None, "the admin API's controls are attached at start-up"
        return self.service

    # scripts

    def script_for(self, run_id: str) -> Script | None:
        if run_id in self.per_run:
            return self.per_run.pop(run_id)
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
        where, params = ("WHERE owner = ?", (owner,)) if owner is not None else ("", ())
        db = store._db  # the store has no bulk delete; one write transaction below
        rows = list(
            await db.execute_fetchall(f"SELECT id, state, executor_ref FROM runs {where}", params)
        )
        ids = [r["id"] for r in rows]
        live = [r for r in rows if r["state"] in (*LIVE, State.QUEUED) and r["executor_ref"]]
        for row in live:
            supervisor._watches.pop(row["id"], None)
        await asyncio.gather(
            *(supervisor.executor.stop(r["executor_ref"], 0.0) for r in live),
            return_exceptions=True,
        )
        loose_sql = "SELECT path FROM files WHERE run_id IS NULL" + (
            " AND owner = ?" if where else ""
        )
        loose = [Path(r["path"]) for r in await db.execute_fetchall(loose_sql, params)]
        in_runs = "SELECT id FROM runs " + where
        await store._run_write(
            [
                (f"DELETE FROM events WHERE run_id IN ({in_runs})", params),
                (f"DELETE FROM files {where}", params),
                (f"DELETE FROM runs {where}", params),
                (f"DELETE FROM jobs {where}", params),
                (f"DELETE FROM functions {where}", params),
            ]
        )
        for run_id in ids:
            self.per_run.pop(run_id, None)
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


async def _schedule_unheld(supervisor: Supervisor, held: set[str]) -> None:
    """Supervisor._schedule with held runs passed over (they stay queued)."""
    total = supervisor.settings.total_cores
    for run in await supervisor.store.runs_in([State.QUEUED]):
        if run.executor_ref is not None or run.id in held:
            continue
        need = min(run.cores, total)
        if supervisor.executor.counts_cores and supervisor.cores_in_use + need > total:
            return
        await supervisor._launch(run)


def _to_trash(data_dir: Path, paths: list[Path]) -> Path:
    """Each path renamed into a new trash folder at once (emptied after the answer)."""
    trash = data_dir / TRASH / uuid.uuid4().hex
    trash.mkdir(parents=True)
    for i, path in enumerate(paths):
        with contextlib.suppress(FileNotFoundError):
            os.rename(path, trash / str(i))
    return trash
