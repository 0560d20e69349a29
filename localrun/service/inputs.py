"""A run's inputs: uploads (streamed, checked, then renamed into place), fetched URLs, files
kept for later jobs, and whether the run has everything its namelist asks for."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from localrun import fetch, files
from localrun.errors import Conflict, Invalid, NoSpace, NotFound, TooLarge
from localrun.runs import Run, State, StoredFile
from localrun.service.base import NAMELIST, ServiceBase
from localrun.store.reserve import RESERVE_BYTES
from localrun.wrf.namelist import Case, NamelistError, read_case

PART_PREFIX = ".upload-"  # a file being received; what a crash leaves is removed at start


class Inputs(ServiceBase):
    def objects_root(self, owner: str) -> Path:
        """The owner's object store folder, which counts toward the quota like uploads."""
        try:
            folder = files.safe_filename(owner)
        except Invalid:
            folder = "h-" + hashlib.sha256(owner.encode()).hexdigest()[:24]
        return self.settings.data_path / "objects" / folder

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
        return case.inputs_before(run.extra.get("preprocess")) if case else [NAMELIST]

    def inputs_recorded(self, run: Run) -> bool:
        """Whether required_inputs(run) reads only the run record, not its namelist."""
        return run.kind != "wrf" or isinstance(run.extra.get("required_inputs"), list)

    def missing_inputs(self, run: Run) -> list[str]:
        input_dir = self.paths(run.id).input
        present = {p.name for p in input_dir.iterdir()} if input_dir.is_dir() else set()
        return [name for name in self.required_inputs(run) if name not in present]

    async def room_for(self, owner: str) -> int:
        """The most bytes one more upload (or what a job's archives unpack to) may take: the
        upload limit, and what is left of the owner's quota."""
        room = self.settings.max_upload_bytes
        free = (await asyncio.to_thread(shutil.disk_usage, self.settings.data_path)).free
        if free <= 2 * RESERVE_BYTES:
            raise NoSpace("the disk holding localrun's data is full")
        quota = self.settings.quota_bytes
        if quota > 0:
            used = await self.store.owner_bytes(owner)
            stored = await asyncio.to_thread(files.disk_usage, self.objects_root(owner))
            left = quota - used - stored
            if left <= 0:
                raise TooLarge(
                    f"{owner} has used the whole quota of {quota} bytes ({used} in runs and "
                    f"uploads, {stored} in the object store); delete runs or objects to make room"
                )
            room = min(room, left)
        return room

    async def input_files(self, run: Run) -> list[StoredFile]:
        return await self.store.files(run.id, "input")

    async def upload_input(
        self,
        owner: str,
        run_id: str,
        filename: str,
        chunks: AsyncIterator[files.Buffer],
        size: int | None = None,
        checksum: bool = True,
    ) -> StoredFile:
        """One input, streamed to a part file and renamed into place under the run's lock;
        size, when the client announced it (Content-Length), is refused before any byte is
        read if it does not fit. Without checksum no md5 is computed (the file's md5 is then
        None: for an API that shows none, where it would bound the upload's speed)."""
        run = await self.get_run(owner, run_id)
        name = files.safe_filename(filename)
        if run.state not in (State.CREATED, State.READY):
            raise Conflict(f"run {run.id} is {run.state}: inputs can only change before it starts")
        paths = self.paths(run.id)
        incoming = paths.input / f"{PART_PREFIX}{uuid.uuid4().hex}.part"
        room = await self.room_for(owner)
        if size is not None and size > room:
            raise TooLarge(f"upload of {size} bytes exceeds the limit of {room} bytes")
        try:
            size, md5 = await files.save_stream(chunks, incoming, room, checksum)
            if name == NAMELIST:
                await asyncio.to_thread(_check_namelist, incoming)
            async with self.run_lock(run.id):
                run = await self.get_run(owner, run_id)
                if run.state not in (State.CREATED, State.READY):
                    raise Conflict(
                        f"run {run.id} became {run.state} during the upload: inputs can only "
                        "change before it starts"
                    )
                target = paths.input / name
                incoming.replace(target)
                stored = await self.store.add_file(
                    run_id=run.id,
                    owner=owner,
                    kind="input",
                    name=name,
                    path=str(target),
                    size=size,
                    md5=md5 or None,
                )
                await self.refresh_readiness(run.id)
        finally:
            incoming.unlink(missing_ok=True)
        return stored

    async def upload_input_url(
        self, owner: str, run_id: str, url: str, filename: str | None = None
    ) -> StoredFile:
        """An input fetched from http(s)://, or read from file:// under an allowed directory."""
        run = await self.get_run(owner, run_id)
        name = filename or fetch.file_name(url)
        chunks = fetch.url_chunks(
            url,
            fetch.allowed_dirs(self.settings.input_url_dirs),
            private_addresses=self.settings.fetch_private_addresses,
        )
        return await self.upload_input(owner, run.id, name, chunks)

    async def refresh_readiness(self, run_id: str) -> Run:
        run = await self.store.get_run(run_id)
        assert run is not None
        if run.kind == "wrf":
            case = self.case(run)
            required = case.inputs_before(run.extra.get("preprocess")) if case else [NAMELIST]
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

    async def store_upload(
        self, owner: str, filename: str, chunks: AsyncIterator[bytes]
    ) -> StoredFile:
        """A file kept for later jobs, before any run exists: <data_dir>/files/<key>/<name>."""
        name = files.safe_filename(filename)
        folder = self.settings.data_path / "files" / uuid.uuid4().hex
        try:
            size, md5 = await files.save_stream(chunks, folder / name, await self.room_for(owner))
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
        number = int(file_id) if file_id.isdigit() and len(file_id) < 16 else None
        found = None if number is None else await self.store.get_file(number, owner)
        if found is None or not await asyncio.to_thread(Path(found.path).is_file):
            raise NotFound(f"no file {file_id}")
        return found


def _check_namelist(path: Path) -> None:
    try:
        read_case(path)
    except NamelistError as exc:
        raise Invalid(f"namelist.input: {exc.message}", code="namelist") from None
    except UnicodeDecodeError:
        raise Invalid("namelist.input is not a text file", code="namelist") from None
