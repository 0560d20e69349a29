"""What every use case stands on: the settings, the store, the supervisor, a run's folders."""

from __future__ import annotations

import asyncio
import secrets
import time
import weakref
from collections.abc import Sequence
from typing import Any

from localrun import files
from localrun.config import Settings
from localrun.errors import NotFound
from localrun.executor.local import machine, mpi
from localrun.runs import Event, Run
from localrun.service.versions import SIMULATOR, newest_first, resolve
from localrun.store import Store
from localrun.supervisor import Supervisor

NAMELIST = "namelist.input"


class ServiceBase:
    def __init__(self, settings: Settings, store: Store, supervisor: Supervisor) -> None:
        self.settings = settings
        self.store = store
        self.supervisor = supervisor
        self.started = time.time()
        self._mpi: dict[str, Any] | None = None
        self._mpi_linked: dict[str, dict[str, Any]] | None = None
        self.line_indexes: dict[str, Any] = {}  # per run, where its log's lines begin
        self._grants: dict[str, tuple[str, str, str, float]] = {}
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def run_lock(self, run_id: str) -> asyncio.Lock:
        """Held while a run's inputs are committed or its start decided, so that an upload
        never lands in a run that started meanwhile."""
        lock = self._locks.get(run_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[run_id] = lock
        return lock

    def paths(self, run_id: str) -> files.RunPaths:
        return files.run_paths(self.settings.data_path, run_id)

    async def get_run(self, owner: str, run_id: str, launch: bool = True) -> Run:
        """launch=False leaves out the launch record (argv, environment), which no API shows."""
        run = await self.store.get_run(run_id, owner, launch)
        if run is None:
            raise NotFound(f"no run {run_id}")
        return run

    async def run_key(self, owner: str, run_id: str) -> tuple[int, int]:
        """(seq, rev) of the owner's run: which version of its row is stored."""
        key = await self.store.run_key(run_id, owner)
        if key is None:
            raise NotFound(f"no run {run_id}")
        return key

    async def events_of(self, run: Run) -> list[Event]:
        """The events of a run the caller holds already (its owner checked)."""
        return await self.store.events(run.id)

    async def run_keys(self, owner: str, **filters: Any) -> list[tuple[int, int]]:
        """(seq, rev) of the page of runs list_runs would return."""
        return await self.store.run_keys(owner, **filters)

    async def runs_at(self, owner: str, seqs: Sequence[int]) -> dict[int, Run]:
        return await self.store.runs_at(owner, seqs)

    async def update_extra(self, run: Run, **values: Any) -> Run:
        await self.store.merge_extra(run.id, values)
        return await self.get_run(run.owner, run.id)

    @property
    def isolation(self) -> str:
        return self.supervisor.executor.isolation

    def grant(self, owner: str, key: str, action: str, ttl_s: float = 3600) -> str:
        """A one-time secret that lets a plain, unauthenticated request do `action` ("put"
        or "get") to one object."""
        now = time.time()
        self._grants = {k: v for k, v in self._grants.items() if v[3] > now}
        grant = secrets.token_urlsafe(24)
        self._grants[grant] = (owner, key, action, now + ttl_s)
        return grant

    def redeem(self, grant: str, action: str) -> tuple[str, str]:
        """(owner, key) of a grant for `action`, which cannot be used again."""
        found = self._grants.get(grant)
        if found is None or found[2] != action or found[3] < time.time():
            raise NotFound("this URL was used already, or has expired")
        del self._grants[grant]
        return found[0], found[1]

    def memory_bytes(self) -> int:
        return machine.memory_bytes()

    def cores_free(self) -> int:
        return max(0, self.settings.total_cores - self.supervisor.cores_in_use)

    def mpi_info(self) -> dict[str, Any]:
        if self._mpi is None:
            self._mpi = mpi.describe(self.settings.mpirun)
        return self._mpi

    def models(self) -> list[dict[str, str]]:
        configured = [
            {"model": m, "version": v, "executable": path}
            for (m, v), path in sorted(self.settings.model_paths.items())
        ]
        return [*configured, {"model": "wrf", "version": "*", "executable": SIMULATOR}]

    def linked_mpi(self) -> dict[str, dict[str, Any]]:
        """{executable: the MPI library it links, from ldd}; ldd runs once per executable.
        A library of another MPI than the launcher's gets a warning: such a run fails at
        start-up, or runs N copies of one rank."""
        if self._mpi_linked is None:
            launcher = str(self.mpi_info().get("library") or "")
            linked = {p: mpi.linked_mpi(p) for p in set(self.settings.model_paths.values())}
            linked[SIMULATOR] = mpi.simulator_mpi()
            for found in linked.values():
                family = found.get("family")
                if family and launcher and not launcher.startswith(family):
                    found["warning"] = (
                        f"links {family} ({found['library']}) but the launcher is {launcher}"
                    )
            self._mpi_linked = linked
        return self._mpi_linked

    def versions(self, model: str = "wrf") -> list[str]:
        """The configured versions of a model, newest first."""
        return newest_first([v for m, v in self.settings.model_paths if m == model])

    def default_version(self, model: str = "wrf") -> str:
        """What a run gets when it names no version: the newest configured, else the
        simulator."""
        return (self.versions(model) or [SIMULATOR])[0]

    def resolve_version(self, model: str, asked: str) -> str:
        """The configured version (or SIMULATOR) that `asked` names; Invalid for none."""
        return resolve(asked, self.versions(model), self.settings.version_fallback)

    def executable_of(self, model: str, version: str) -> str:
        """The path of the executable a run of this version starts, or "simulator"."""
        return self.settings.model_paths.get((model, version)) or SIMULATOR
