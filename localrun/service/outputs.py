"""What a run wrote: its files with stable ids, its logs read from an offset, snapshots of a
live run, and slices of its wrfout fields."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from localrun import files, runs
from localrun.errors import Conflict, Invalid, NotFound
from localrun.runs import Run, StoredFile
from localrun.service.runs import Runs
from localrun.wrf import output

LAUNCHER_LOGS = ("stdout", "stderr")


@dataclass(frozen=True)
class LogChunk:
    name: str
    offset: int
    next_offset: int
    size: int
    data: bytes
    eof: bool


class Outputs(Runs):
    def launcher_log(self, run: Run, stream: str) -> Path:
        """The launcher's stdout or stderr."""
        return self.paths(run.id).logs / f"mpirun.{stream}"

    def output_entries(self, run: Run) -> list[files.Entry]:
        """What the run wrote in work/: every file there but the links to its inputs."""
        paths = self.paths(run.id)
        inputs = paths.input.resolve()

        def staged(entry: files.Entry) -> bool:
            path = paths.work / entry.path
            return path.is_symlink() and path.resolve().is_relative_to(inputs)

        return [e for e in files.list_tree(paths.work) if not staged(e)]

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

    def disk_usage(self, run: Run) -> int:
        """Bytes the run's directory holds on disk: inputs, outputs and logs."""
        return files.disk_usage(self.paths(run.id).root)

    async def read_log(
        self, owner: str, run_id: str, name: str, offset: int, limit: int, wait_s: float
    ) -> LogChunk:
        """Bytes of a log from offset; waits up to wait_s for more while the run is live.
        name is a file of work/, or "stdout"/"stderr" for the launcher's."""
        run = await self.get_run(owner, run_id)
        if offset < 0 or limit <= 0:
            raise Invalid("offset must be >= 0 and limit > 0")
        if name in LAUNCHER_LOGS:
            path = self.launcher_log(run, name)
        else:
            path = self.paths(run.id).work / files.safe_filename(name)
        deadline = time.monotonic() + max(0.0, wait_s)
        while True:
            data, size = files.read_from(path, offset, limit) if path.exists() else (b"", 0)
            run = await self.get_run(owner, run_id)
            if data or run.terminal or time.monotonic() >= deadline:
                eof = run.terminal and offset + len(data) >= size
                return LogChunk(name, offset, offset + len(data), size, data, eof)
            await asyncio.sleep(0.2)

    async def output_files(
        self, run: Run, launcher_logs: Mapping[str, str] | None = None
    ) -> list[StoredFile]:
        """What the run wrote in work/ (not its staged inputs), the launcher's logs under the
        names given ({"stdout": name, "stderr": name}), and its snapshots; each with a stable
        id and its size now. Ids are given the first time a file is listed."""
        paths = self.paths(run.id)
        found = [(e.path, str(paths.work / e.path), e.size) for e in self.output_entries(run)]
        taken = {name for name, _, _ in found}
        for stream, name in (launcher_logs or {}).items():
            log = self.launcher_log(run, stream)
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

    async def read_output(
        self,
        run: Run,
        field: str,
        time1: datetime | None,
        time2: datetime | None,
        box: output.Box | None,
        domain: int = 1,
    ) -> output.FieldSlice:
        """A slice of one field of the run's wrfout files (see localrun.wrf.output)."""
        paths = output.history_files(self.paths(run.id).work, domain)
        if not paths:
            raise NotFound(f"run {run.id} has no wrfout_d{domain:02d} output")
        return await asyncio.to_thread(
            output.read_output, paths, field, time1, time2, box, skip_unreadable=not run.terminal
        )
