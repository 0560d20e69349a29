"""The use cases every API family and the CLI share. Validation and transitions live here."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localrun import files, runs
from localrun.config import Settings
from localrun.errors import Conflict, Invalid, NotFound, Unauthorized
from localrun.runs import Event, Run, StoredFile
from localrun.store import Store
from localrun.supervisor import Supervisor
from localrun.wrf.checks import check_case
from localrun.wrf.estimate import estimate, options_json
from localrun.wrf.namelist import Case, NamelistError, read_case

NAMELIST = "namelist.input"
TOKEN_PREFIX = "lr_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class LogChunk:
    name: str
    offset: int
    next_offset: int
    size: int
    data: bytes
    eof: bool


class Service:
    def __init__(self, settings: Settings, store: Store, supervisor: Supervisor) -> None:
        self.settings = settings
        self.store = store
        self.supervisor = supervisor
        self.started = time.time()
        self._mpi: dict[str, Any] | None = None

    def mpi_info(self) -> dict[str, Any]:
        if self._mpi is None:
            launcher = self.settings.mpirun
            found = shutil.which(launcher)
            self._mpi = {
                "launcher": found or launcher,
                "found": found is not None,
                "version": mpi_version(launcher) if found else None,
                "library": mpi_library(Path(found)) if found else None,
            }
        return self._mpi

    def models(self) -> list[dict[str, str]]:
        configured = [
            {"model": m, "version": v, "executable": path}
            for (m, v), path in sorted(self.settings.model_paths.items())
        ]
        return [*configured, {"model": "wrf", "version": "*", "executable": "simulator"}]

    async def estimate(self, case: Case, max_cores: int | None = None) -> list[dict[str, Any]]:
        options = estimate(
            case,
            max_cores or self.settings.total_cores,
            self.supervisor.cost_model,
            self.settings.cost_per_core_hour,
        )
        result: list[dict[str, Any]] = options_json(options)
        return result

    # auth

    async def owner_of(self, token: str | None) -> str:
        if not token:
            raise Unauthorized("missing token")
        owner = await self.store.token_owner(hash_token(token))
        if owner is None:
            raise Unauthorized("invalid or revoked token")
        return owner

    async def create_token(self, name: str, owner: str | None = None) -> str:
        if not name.strip():
            raise Invalid("a token needs a name")
        token = new_token()
        await self.store.add_token(name, owner or name, hash_token(token))
        return token

    # runs

    def paths(self, run_id: str) -> files.RunPaths:
        return files.run_paths(self.settings.data_path, run_id)

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
        run_id: str | None = None,
    ) -> Run:
        if cores is not None:
            self._check_cores(cores, oversubscribe=False)
        if walltime_s is not None and walltime_s <= 0:
            raise Invalid("walltime must be a positive number of seconds")
        if kind == "shell" and not command:
            raise Invalid("a shell run needs a command")
        run = Run(
            id=run_id or str(uuid.uuid4()),
            owner=owner,
            family=family,
            name=name or f"{model}-{version}",
            model=model.lower(),
            version=version,
            state=runs.CREATED if kind == "wrf" else runs.READY,
            walltime_s=walltime_s or self.settings.walltime_s,
            created_at=time.time(),
            kind=kind,
            command=command,
            cores=cores or 1,
            extra=extra or {},
        )
        self.paths(run.id).create()
        return await self.store.insert_run(run, "created")

    async def get_run(self, owner: str, run_id: str) -> Run:
        run = await self.store.get_run(run_id, owner)
        if run is None:
            raise NotFound(f"no run {run_id}")
        return run

    async def list_runs(self, owner: str, **filters: Any) -> list[Run]:
        return await self.store.list_runs(owner, **filters)

    async def events(self, owner: str, run_id: str) -> list[Event]:
        await self.get_run(owner, run_id)
        return await self.store.events(run_id)

    async def update_extra(self, run: Run, **values: Any) -> Run:
        extra = {**run.extra, **values}
        await self.store.update_run(run.id, extra=extra)
        return await self.get_run(run.owner, run.id)

    # inputs

    def case(self, run: Run) -> Case | None:
        """The run's namelist, when it has a readable one."""
        path = self.paths(run.id).input / NAMELIST
        try:
            return read_case(path)
        except (FileNotFoundError, NamelistError):
            return None

    def required_inputs(self, run: Run) -> list[str]:
        """What the namelist asks for; kept in the run record when its namelist arrives."""
        if run.kind != "wrf":
            return []
        known = run.extra.get("required_inputs")
        if isinstance(known, list):
            return [str(name) for name in known]
        case = self.case(run)
        return case.required_inputs if case else [NAMELIST]

    def missing_inputs(self, run: Run) -> list[str]:
        input_dir = self.paths(run.id).input
        present = {p.name for p in input_dir.iterdir()} if input_dir.is_dir() else set()
        return [name for name in self.required_inputs(run) if name not in present]

    async def upload_input(
        self, owner: str, run_id: str, filename: str, chunks: AsyncIterator[bytes]
    ) -> StoredFile:
        run = await self.get_run(owner, run_id)
        name = files.safe_filename(filename)
        if run.state not in (runs.CREATED, runs.READY):
            raise Conflict(f"run {run.id} is {run.state}: inputs can only change before it starts")
        paths = self.paths(run.id)
        incoming = paths.input / f".upload-{uuid.uuid4().hex}.in"
        try:
            size, md5 = await files.save_stream(chunks, incoming, self.settings.max_upload_bytes)
            if name == NAMELIST:
                _check_namelist(incoming)
            target = paths.input / name
            incoming.replace(target)
        finally:
            incoming.unlink(missing_ok=True)
        stored = await self.store.add_file(
            run_id=run.id,
            owner=owner,
            kind="input",
            name=name,
            path=str(target),
            size=size,
            md5=md5,
        )
        await self.refresh_readiness(run.id)
        return stored

    async def refresh_readiness(self, run_id: str) -> Run:
        run = await self.store.get_run(run_id)
        assert run is not None
        if run.kind == "wrf":
            case = self.case(run)
            required = case.required_inputs if case else [NAMELIST]
            if run.extra.get("required_inputs") != required:
                run = await self.update_extra(run, required_inputs=required)
        missing = self.missing_inputs(run)
        if run.state == runs.CREATED and not missing:
            await self.store.transition(run.id, [runs.CREATED], runs.READY, "all inputs present")
        elif run.state == runs.READY and missing:
            await self.store.transition(
                run.id, [runs.READY], runs.CREATED, "missing " + ", ".join(missing)
            )
        refreshed = await self.store.get_run(run_id)
        assert refreshed is not None
        return refreshed

    # start / stop / delete

    def _check_cores(self, cores: int, oversubscribe: bool) -> None:
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
        run = await self.get_run(owner, run_id)
        if run.state == runs.CREATED:
            missing = ", ".join(self.missing_inputs(run))
            raise Conflict(f"run {run.id} cannot start: inputs missing: {missing}")
        if run.state != runs.READY:
            raise Conflict(f"run {run.id} is {run.state}; only a ready run can start")
        cores = cores or run.cores
        self._check_cores(cores, oversubscribe)
        self._check_launchable(run, cores)
        moved = await self.store.transition(
            run.id,
            [runs.READY],
            runs.QUEUED,
            f"queued for {cores} core(s)",
            cores=cores,
            oversubscribe=oversubscribe,
            queued_at=time.time(),
        )
        if not moved:
            raise Conflict(f"run {run.id} changed state meanwhile; try again")
        self.supervisor.kick()
        return await self.get_run(owner, run_id)

    def _check_launchable(self, run: Run, cores: int) -> None:
        """Refuse, before any core is spent, what WRF would refuse at start-up."""
        if run.kind != "wrf":
            return
        paths = self.paths(run.id)
        text = (paths.input / NAMELIST).read_text(errors="replace")
        problems = check_case(text, cores=cores, inputs_dir=paths.input)
        if problems:
            message = "; ".join(p.message for p in problems)
            hints = [p.hint for p in problems if p.hint]
            if hints:
                message += " (" + "; ".join(hints) + ")"
            raise Invalid(message, code=problems[0].code)

    async def stop(self, owner: str, run_id: str, reason: str = "stopped by request") -> Run:
        run = await self.get_run(owner, run_id)
        if run.state in (runs.CREATED, runs.READY, runs.QUEUED):
            await self.store.transition(
                run.id, [runs.CREATED, runs.READY, runs.QUEUED], runs.CANCELLED, reason
            )
        elif run.state in runs.LIVE:
            await self.supervisor.request_stop(run.id, "user", reason)
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
        run = await self.get_run(owner, run_id)
        if not run.terminal:
            await self.stop(owner, run_id, "stopped by delete")
            run = await self.wait_terminal(owner, run_id, self.settings.stop_grace_s + 10)
        work = self.paths(run.id).work
        files.remove_tree(work)
        work.mkdir(parents=True, exist_ok=True)
        await self.store.delete_files(run.id, "output")
        await self.store.update_run(run.id, outputs_deleted_at=time.time())
        await self.store.add_event(run.id, run.state, "outputs deleted")
        return await self.get_run(owner, run_id)

    # logs and files

    def output_entries(self, run: Run) -> list[files.Entry]:
        inputs = {p.name for p in self.paths(run.id).input.iterdir()}
        return [
            e
            for e in files.list_tree(self.paths(run.id).work)
            if not (e.path in inputs and (self.paths(run.id).work / e.path).is_symlink())
        ]

    def file_path(self, run: Run, relpath: str) -> Path:
        """A file of the run: what it wrote in work/, then its inputs and launcher logs."""
        paths = self.paths(run.id)
        for base in (paths.work, paths.input, paths.logs):
            candidate = files.resolve_inside(base, relpath)
            if candidate.is_file():
                return candidate
        raise NotFound(f"run {run.id} has no file {relpath}")

    async def read_log(
        self, owner: str, run_id: str, name: str, offset: int, limit: int, wait_s: float
    ) -> LogChunk:
        run = await self.get_run(owner, run_id)
        if offset < 0 or limit <= 0:
            raise Invalid("offset must be >= 0 and limit > 0")
        path = self._log_path(run, name)
        deadline = time.monotonic() + max(0.0, wait_s)
        while True:
            data, size = files.read_from(path, offset, limit) if path.exists() else (b"", 0)
            run = await self.get_run(owner, run_id)
            if data or run.terminal or time.monotonic() >= deadline:
                eof = run.terminal and offset + len(data) >= size
                return LogChunk(name, offset, offset + len(data), size, data, eof)
            await asyncio.sleep(0.2)

    def _log_path(self, run: Run, name: str) -> Path:
        paths = self.paths(run.id)
        if name in ("stdout", "stderr"):
            return paths.logs / f"mpirun.{name}"
        files.safe_filename(name)
        return paths.work / name


def _check_namelist(path: Path) -> None:
    try:
        read_case(path)
    except NamelistError as exc:
        raise Invalid(f"namelist.input: {exc.message}", code="namelist") from None
    except UnicodeDecodeError:
        raise Invalid("namelist.input is not a text file", code="namelist") from None


def mpi_library(launcher: Path) -> str | None:
    """'MPICH 5.0.2' from mpichversion beside the launcher, when it is MPICH."""
    tool = launcher.resolve().parent / "mpichversion"
    if not tool.exists():
        return None
    try:
        out = subprocess.run([tool], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        if line.startswith("MPICH Version:"):
            return "MPICH " + line.split(":", 1)[1].strip()
    return None


def mpi_version(mpirun: str) -> str | None:
    """The launcher's own version line, asked once; None when it cannot run."""
    try:
        out = subprocess.run(
            [mpirun, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        if "Version:" in line or "version" in line.lower():
            return line.split(":", 1)[-1].strip() if "Version:" in line else line.strip()
    return out.strip().splitlines()[0] if out.strip() else None
