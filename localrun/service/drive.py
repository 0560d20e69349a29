"""An owner's files as a drive: the object store's folders and files, plus a read-only folder
runs/<run id>/ that shows what each of the owner's runs wrote in its working directory.
Paths are the store's keys; "" is the top."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from localrun import files
from localrun.errors import Conflict, Invalid, NotFound
from localrun.service.objects import Objects
from localrun.service.outputs import Outputs

RUNS = "runs"
RUNS_LISTED = 1000


class Drive(Outputs, Objects):
    async def drive_list(self, owner: str, path: str) -> list[files.Entry]:
        """The entries directly in the folder `path`, folders and files sorted by name;
        NotFound for a folder that does not exist."""
        path = path.strip("/")
        top, _, rest = path.partition("/")
        if top == RUNS and (rest or not await self._stored_folder(owner, RUNS)):
            return await self._run_listing(owner, rest)
        entries = await self.list_objects(owner, path)
        if path and not entries and not await self._stored_folder(owner, path):
            raise NotFound(f"no folder {path} in your files")
        if not path and not any(e.path == RUNS for e in entries):
            newest = await self.list_runs(owner, limit=1, newest_first=True)
            changed = newest[0].created_at if newest else self.started
            entries.append(files.Entry(RUNS, 0, changed, True))
        return sorted(entries, key=lambda e: e.path)

    async def drive_file(self, owner: str, path: str) -> Path:
        """The file at `path`: a stored object, or under runs/<run id>/ a file of that run's
        working directory; NotFound when there is none."""
        path = path.strip("/")
        top, _, rest = path.partition("/")
        run_id, _, inside = rest.partition("/")
        if top == RUNS and run_id and inside:
            run = await self.get_run(owner, run_id)
            return await asyncio.to_thread(self.work_file, run, inside)
        return await self.existing_object(owner, path)

    async def _stored_folder(self, owner: str, key: str) -> bool:
        return await asyncio.to_thread(self.object_path(owner, key).is_dir)

    async def _run_listing(self, owner: str, rest: str) -> list[files.Entry]:
        run_id, _, inside = rest.partition("/")
        if not run_id:
            found = await self.list_runs(owner, limit=RUNS_LISTED, newest_first=True)
            return sorted(
                (files.Entry(r.id, 0, r.created_at, True) for r in found), key=lambda e: e.path
            )
        run = await self.get_run(owner, run_id)
        outputs = await asyncio.to_thread(self.output_entries, run)
        prefix = inside.strip("/") + "/" if inside.strip("/") else ""
        children: dict[str, files.Entry] = {}
        for entry in outputs:
            if not entry.path.startswith(prefix):
                continue
            name, below, _ = entry.path[len(prefix) :].partition("/")
            if below:
                children.setdefault(name, files.Entry(name, 0, entry.mtime, True))
            else:
                children[name] = files.Entry(name, entry.size, entry.mtime, False)
        if prefix and not children:
            raise NotFound(f"run {run.id} has no folder {inside}")
        return sorted(children.values(), key=lambda e: e.path)

    def _writable(self, path: str) -> str:
        path = path.strip("/")
        if not path:
            raise Invalid("give the path of a file or folder")
        files.safe_relpath(path)
        if path.split("/")[0] == RUNS:
            raise Invalid("runs/ shows your runs' outputs; it cannot be changed here")
        return path

    async def drive_delete(self, owner: str, path: str, folder: bool) -> None:
        """Remove a file, or a folder with everything in it."""
        key = self._writable(path)
        target = self.object_path(owner, key)

        def remove() -> None:
            if folder:
                if not target.is_dir() or target.is_symlink():
                    raise NotFound(f"no folder {key} in your files")
                shutil.rmtree(target)
            else:
                if not target.is_file():
                    raise NotFound(f"no file {key} in your files")
                target.unlink()

        await asyncio.to_thread(remove)

    async def drive_rename(self, owner: str, path: str, new_name: str) -> str:
        """Give a file or folder a new name in the same folder; the new key."""
        key = self._writable(path)
        name = files.safe_filename(new_name)
        source = self.object_path(owner, key)
        new_key = f"{key.rsplit('/', 1)[0]}/{name}" if "/" in key else name
        target = self.object_path(owner, new_key)

        def rename() -> None:
            if not source.exists():
                raise NotFound(f"no file or folder {key} in your files")
            if target.exists():
                raise Conflict(f"{new_key} exists already")
            os.rename(source, target)

        await asyncio.to_thread(rename)
        return new_key

    async def drive_mkdir(self, owner: str, path: str) -> None:
        key = self._writable(path)
        target = self.object_path(owner, key)

        def make() -> None:
            for parent in [*reversed(Path(key).parents), Path(key)]:
                if str(parent) != "." and self.object_path(owner, str(parent)).is_file():
                    raise Conflict(f"{parent} is a file")
            target.mkdir(parents=True, exist_ok=True)

        await asyncio.to_thread(make)
