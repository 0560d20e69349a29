"""The use cases every API family and the CLI share. Validation and transitions live here."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import secrets
import shlex
import string
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from localrun import fetch, files, mpi, runs, sweeps
from localrun.config import Settings
from localrun.errors import Conflict, Invalid, NotFound, Unauthorized
from localrun.runs import Event, Run, State, StopReason, StoredFile
from localrun.store import Store
from localrun.supervisor import Supervisor
from localrun.wrf import output
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
            self._mpi = mpi.describe(self.settings.mpirun)
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
            state=State.CREATED if kind == "wrf" else State.READY,
            walltime_s=walltime_s or self.settings.walltime_s,
            created_at=time.time(),
            kind=kind,
            command=command,
            cores=cores or 1,
            extra={**({"required_inputs": [NAMELIST]} if kind == "wrf" else {}), **(extra or {})},
        )
        self.paths(run.id).create()
        return await self.store.insert_run(run, "created")

    async def get_run(self, owner: str, run_id: str) -> Run:
        run = await self.store.get_run(run_id, owner)
        if run is None:
            raise NotFound(f"no run {run_id}")
        return run

    async def list_runs(self, owner: str, **filters: Any) -> list[Run]:
        return await self.store.list_runs(owner, launch=False, **filters)

    async def events(self, owner: str, run_id: str) -> list[Event]:
        await self.get_run(owner, run_id)
        return await self.store.events(run_id)

    async def update_extra(self, run: Run, **values: Any) -> Run:
        await self.store.merge_extra(run.id, values)
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
        if run.state not in (State.CREATED, State.READY):
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
        if run.state == State.CREATED and not missing:
            await self.store.transition(run.id, [State.CREATED], State.READY, "all inputs present")
        elif run.state == State.READY and missing:
            await self.store.transition(
                run.id, [State.READY], State.CREATED, "missing " + ", ".join(missing)
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
        if run.state == State.CREATED:
            missing = ", ".join(self.missing_inputs(run))
            raise Conflict(f"run {run.id} cannot start: inputs missing: {missing}")
        if run.state != State.READY:
            raise Conflict(f"run {run.id} is {run.state}; only a ready run can start")
        cores = cores or run.cores
        self._check_cores(cores, oversubscribe)
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
        if run.state in (State.CREATED, State.READY, State.QUEUED):
            await self.store.transition(
                run.id, [State.CREATED, State.READY, State.QUEUED], State.CANCELLED, reason
            )
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
        files.safe_relpath(relpath)
        root = self.paths(run.id).root
        for folder in ("work", "input", "logs"):
            # Inside the run's root, so that work/'s links to its staged inputs resolve.
            candidate = files.resolve_inside(root, f"{folder}/{relpath}")
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

    # Cloudrun

    async def input_files(self, run: Run) -> list[StoredFile]:
        return await self.store.files(run.id, "input")

    async def count_runs(self, owner: str) -> int:
        return await self.store.count_runs(owner)

    def disk_usage(self, run: Run) -> int:
        """Bytes the run's directory holds on disk: inputs, outputs and logs."""
        return files.disk_usage(self.paths(run.id).root)

    async def offered_estimate(self, run: Run) -> list[dict[str, Any]]:
        """The estimate for the run's current namelist, worked out once per namelist upload and
        kept in the run record; [] while the run has no readable namelist."""
        stored = [f for f in await self.store.files(run.id, "input") if f.name == NAMELIST]
        if not stored:
            return []
        cached = run.extra.get("estimate")
        if isinstance(cached, dict) and cached.get("namelist_file") == stored[-1].id:
            return list(cached.get("options") or [])
        case = self.case(run)
        if case is None:
            return []
        options = await self.estimate(case)
        fresh = await self.get_run(run.owner, run.id)
        await self.update_extra(
            fresh, estimate={"namelist_file": stored[-1].id, "options": options}
        )
        return options

    async def upload_input_url(
        self, owner: str, run_id: str, url: str, filename: str | None = None
    ) -> StoredFile:
        """An input fetched from http(s)://, or read from file:// under an allowed directory."""
        run = await self.get_run(owner, run_id)
        name = filename or fetch.file_name(url)
        chunks = fetch.url_chunks(url, fetch.allowed_dirs(self.settings.input_url_dirs))
        return await self.upload_input(owner, run.id, name, chunks)

    async def read_output(
        self,
        run: Run,
        field: str,
        time1: datetime | None,
        time2: datetime | None,
        box: output.Box | None,
        domain: int = 1,
    ) -> dict[str, Any]:
        """A slice of one field of the run's wrfout files (see localrun.wrf.output)."""
        paths = output.history_files(self.paths(run.id).work, domain)
        if not paths:
            raise NotFound(f"run {run.id} has no wrfout_d{domain:02d} output")
        return await asyncio.to_thread(
            output.read_output, paths, field, time1, time2, box, skip_unreadable=not run.terminal
        )

    # Rescale

    async def store_upload(
        self, owner: str, filename: str, chunks: AsyncIterator[bytes]
    ) -> StoredFile:
        """A file kept for later jobs, before any run exists: <data_dir>/files/<key>/<name>."""
        name = files.safe_filename(filename)
        folder = self.settings.data_path / "files" / uuid.uuid4().hex
        try:
            size, md5 = await files.save_stream(
                chunks, folder / name, self.settings.max_upload_bytes
            )
        except BaseException:
            files.remove_tree(folder)
            raise
        return await self.store.add_file(
            run_id=None,
            owner=owner,
            kind="upload",
            name=name,
            path=str(folder / name),
            size=size,
            md5=md5,
            replace=False,
        )

    async def owned_file(self, owner: str, file_id: str) -> StoredFile:
        """One of the owner's files (an upload or a run's output) that is still on disk."""
        found = await self.store.get_file(int(file_id), owner) if file_id.isdigit() else None
        if found is None or not self._on_disk(found.path):
            raise NotFound(f"no file {file_id}")
        return found

    @staticmethod
    def _on_disk(path: str) -> bool:
        return Path(path).is_file()

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
        extra: dict[str, Any],
    ) -> list[Run]:
        """A job: one shell run per combination of its variables' values (one when it has none).

        Run k of job J has the id "J-k" and extra["job"] = {"id", "index", "runs", "variables"}
        beside the caller's `extra`. The job's files are put into every run's input/ once (hard
        links; zip archives unpacked, see files.stage_files); each run's command begins by exporting
        its variables, so the command sees them as $name.
        """
        if not command.strip():
            raise Invalid("the job needs a command")
        self._check_cores(cores, oversubscribe=False)
        combos = sweeps.combinations(variables)
        sources = [await self.owned_file(owner, file_id) for file_id in file_ids]
        job_id = await self._new_job_id()
        staging = self.settings.data_path / "files" / f".staging-{job_id}"
        made: list[Run] = []
        try:
            await asyncio.to_thread(
                files.stage_files, [(f.name, Path(f.path)) for f in sources], staging
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
                    extra={
                        **extra,
                        "job": {
                            "id": job_id,
                            "index": index,
                            "runs": len(combos),
                            "variables": [list(item) for item in combo],
                        },
                    },
                    run_id=f"{job_id}-{index}",
                )
                made.append(run)
                await asyncio.to_thread(files.link_tree, staging, self.paths(run.id).input)
        except BaseException as exc:
            for run in made:
                await self.store.transition(
                    run.id, [State.READY], State.CANCELLED, f"job creation failed: {exc}"
                )
            raise
        finally:
            files.remove_tree(staging)
        return made

    async def job_runs(self, owner: str, job_id: str) -> list[Run]:
        """The runs of a job, in order (run 1 first)."""
        first = await self.job_run(owner, job_id, "1")
        count = int(first.extra["job"]["runs"])
        return [first, *[await self.job_run(owner, job_id, str(k)) for k in range(2, count + 1)]]

    async def job_run(self, owner: str, job_id: str, index: str) -> Run:
        run = await self.store.get_run(f"{job_id}-{index}", owner)
        job = run.extra.get("job") if run is not None else None
        if run is None or not isinstance(job, dict) or job.get("id") != job_id:
            what = f"job {job_id}" if index == "1" else f"run {index} in job {job_id}"
            raise NotFound(f"no {what}")
        return run

    async def list_jobs(self, owner: str, family: str) -> list[Run]:
        """The first run of each of the owner's jobs in a family, newest job first."""
        found = await self.store.list_runs(
            owner, family=family, limit=1_000_000, newest_first=True, launch=False
        )
        return [r for r in found if (r.extra.get("job") or {}).get("index") == 1]

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

    async def output_files(self, run: Run) -> list[StoredFile]:
        """What the run wrote in work/ (not its staged inputs), its launcher's stdout and stderr
        as process_output.log and process_error.log, and its snapshots; each with a stable id
        and its size now. Ids are given the first time a file is listed."""
        paths = self.paths(run.id)
        found = [(e.path, str(paths.work / e.path), e.size) for e in self.output_entries(run)]
        taken = {name for name, _, _ in found}
        for name, stream in (("process_output.log", "stdout"), ("process_error.log", "stderr")):
            log = paths.logs / f"mpirun.{stream}"
            if name not in taken and log.is_file():
                found.append((name, str(log), log.stat().st_size))
        rows = await self.store.register_files(run.id, run.owner, "output", found)
        now = [dataclasses.replace(row, size=e[2]) for row, e in zip(rows, found, strict=True)]
        if run.terminal:
            now = await self._with_md5(now)
        return now + await self.store.files(run.id, "snapshot")

    async def _with_md5(self, rows: list[StoredFile]) -> list[StoredFile]:
        """Checksums of a finished run's outputs, computed once, the first time they are listed."""
        sums: dict[int, str] = {}
        for row in rows:
            if row.md5 is None:
                with contextlib.suppress(OSError):
                    sums[row.id] = await asyncio.to_thread(files.md5_of, Path(row.path))
        if sums:
            await self.store.set_md5(sums)
        return [dataclasses.replace(r, md5=sums.get(r.id, r.md5)) for r in rows]

    def work_entries(self, run: Run) -> list[files.Entry]:
        """Every file in the run's working directory now, staged inputs included."""
        return files.list_tree(self.paths(run.id).work)

    def work_file(self, run: Run, relpath: str) -> Path:
        """A file of the working directory; a staged input (a link into input/) counts."""
        files.safe_relpath(relpath)
        path = files.resolve_inside(self.paths(run.id).root, "work/" + relpath)
        if not path.is_file():
            raise NotFound(f"run {run.id} has no file {relpath} in its working directory")
        return path

    async def snapshot(self, owner: str, run_id: str) -> StoredFile:
        """A zip of what a live run has written so far, added to its output files."""
        run = await self.get_run(owner, run_id)
        if run.state not in runs.LIVE:
            raise Conflict(f"run {run.id} is {run.state}: snapshots are taken of runs in progress")
        paths = self.paths(run.id)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target = paths.root / "snapshots" / f"snapshot-{stamp}-{uuid.uuid4().hex[:6]}.zip"
        members = [e.path for e in self.output_entries(run)]
        size = await asyncio.to_thread(files.zip_members, paths.work, members, target)
        return await self.store.add_file(
            run_id=run.id,
            owner=owner,
            kind="snapshot",
            name=f"snapshots/{target.name}",
            path=str(target),
            size=size,
            replace=False,
        )

    async def _new_job_id(self) -> str:
        alphabet = string.ascii_lowercase + string.digits
        while True:
            job_id = "".join(secrets.choice(alphabet) for _ in range(6))
            if await self.store.get_run(f"{job_id}-1") is None:
                return job_id


def _check_namelist(path: Path) -> None:
    try:
        read_case(path)
    except NamelistError as exc:
        raise Invalid(f"namelist.input: {exc.message}", code="namelist") from None
    except UnicodeDecodeError:
        raise Invalid("namelist.input is not a text file", code="namelist") from None
