"""Each owner's object store: files under <data>/objects/<owner>/, named by key, written
whole (a temporary name, then a rename), so that they survive a restart. A key cannot leave its
owner's folder. Families show it as s3://localrun/<owner>/<key>."""

from __future__ import annotations

import asyncio
import json
import stat
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from localrun import files
from localrun.errors import Invalid, NotFound
from localrun.service.inputs import Inputs

BUCKET = "localrun"
MULTIPART = "multipart"  # under the data directory: parts of multipart uploads under way
READ_CHUNK = 1 << 20
NAME_MAX = 255  # bytes of one key segment: a file or folder name on disk
KEY_MAX = 1024  # bytes of a whole key, as S3 allows


def check_length(key: str) -> None:
    """Invalid ("key_too_long") for a key the file system cannot hold as a path: a segment
    over NAME_MAX bytes, or more than KEY_MAX bytes in all."""
    size = len(key.encode("utf-8", "surrogatepass"))
    longest = max(len(part.encode("utf-8", "surrogatepass")) for part in key.split("/"))
    if size > KEY_MAX or longest > NAME_MAX:
        shown = key[:60] + ("..." if len(key) > 60 else "")
        raise Invalid(
            f"{shown!r} is longer than a key may be: {KEY_MAX} bytes in all, {NAME_MAX} "
            "for each name in it",
            code="key_too_long",
        )


class Objects(Inputs):
    def store_uri(self, owner: str) -> str:
        return f"s3://{BUCKET}/{owner}"

    def object_key(self, owner: str, uri: str) -> str:
        """The key of an s3:// URI in the owner's store; Invalid for any other place."""
        prefix = self.store_uri(owner) + "/"
        if not uri.startswith(prefix) or len(uri) == len(prefix):
            raise Invalid(f"{uri} is not in your store: scripts live under {prefix}")
        key = uri[len(prefix) :]
        files.safe_relpath(key)
        return key

    def object_path(self, owner: str, key: str) -> Path:
        check_length(key)
        files.safe_relpath(key)
        return files.resolve_inside(self.objects_root(owner), key)

    async def put_object(self, owner: str, key: str, chunks: AsyncIterator[bytes]) -> int:
        path = self.object_path(owner, key)
        if await asyncio.to_thread(path.is_dir):
            raise Invalid(f"{key} is a folder")
        size, _ = await files.save_stream(chunks, path, await self.room_for(owner))
        return size

    async def existing_object(self, owner: str, key: str) -> Path:
        path = self.object_path(owner, key)
        if not await asyncio.to_thread(path.is_file):
            raise NotFound(f"no object {key} in your store")
        return path

    async def list_objects(self, owner: str, prefix: str) -> list[files.Entry]:
        """Files and folders directly in the folder `prefix` ("" for the top)."""
        folder = self.object_path(owner, prefix) if prefix else self.objects_root(owner)
        if not await asyncio.to_thread(folder.is_dir):
            return []
        entries = await asyncio.to_thread(files.list_tree, folder, True)
        return [e for e in entries if "/" not in e.path]

    # what the S3-compatible endpoint needs: single objects, a recursive listing, and
    # multipart uploads staged in <data>/multipart/<upload id>/, outside every owner's store

    async def object_entry(self, owner: str, key: str) -> files.Entry:
        """The object's size and time; NotFound when `key` is no file."""
        path = self.object_path(owner, key)
        try:
            info = await asyncio.to_thread(path.stat)
        except OSError:
            info = None
        if info is None or not stat.S_ISREG(info.st_mode):
            raise NotFound(f"no object {key} in your store")
        return files.Entry(key, info.st_size, info.st_mtime, False)

    async def read_object(
        self, owner: str, key: str, start: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        """The object's bytes from `start`, `length` of them (all the rest for None)."""
        path = await self.existing_object(owner, key)
        handle = await asyncio.to_thread(path.open, "rb")
        try:
            await asyncio.to_thread(handle.seek, start)
            left = length
            while left is None or left > 0:
                want = READ_CHUNK if left is None else min(READ_CHUNK, left)
                chunk = await asyncio.to_thread(handle.read, want)
                if not chunk:
                    break
                if left is not None:
                    left -= len(chunk)
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    async def delete_object(self, owner: str, key: str) -> bool:
        """Remove one object; False when there was none (a folder is not an object)."""
        path = self.object_path(owner, key)

        def remove() -> bool:
            if not path.is_file():
                return False
            path.unlink()
            return True

        return await asyncio.to_thread(remove)

    async def object_entries(self, owner: str, prefix: str = "") -> list[files.Entry]:
        """Every object whose key starts with `prefix`, at any depth, sorted by key as bytes."""
        folder, _, _ = prefix.rpartition("/")
        base = self.objects_root(owner)
        top = self.object_path(owner, folder) if folder else base

        def walk() -> list[files.Entry]:
            found = []
            for entry in files.list_tree(top):
                key = f"{folder}/{entry.path}" if folder else entry.path
                if key.startswith(prefix):
                    found.append(files.Entry(key, entry.size, entry.mtime, False))
            return sorted(found, key=lambda e: e.path.encode())

        return await asyncio.to_thread(walk)

    def _multipart_dir(self, upload_id: str) -> Path:
        return files.resolve_inside(
            self.settings.data_path / MULTIPART, files.safe_filename(upload_id)
        )

    async def start_multipart(self, owner: str, key: str) -> str:
        path = self.object_path(owner, key)
        if await asyncio.to_thread(path.is_dir):
            raise Invalid(f"{key} is a folder")
        upload_id = uuid.uuid4().hex
        folder = self._multipart_dir(upload_id)

        def make() -> None:
            folder.mkdir(parents=True)
            (folder / "upload.json").write_text(json.dumps({"owner": owner, "key": key}))

        await asyncio.to_thread(make)
        return upload_id

    async def _multipart(self, owner: str, key: str, upload_id: str) -> Path:
        """The staging folder of an upload of `key` by `owner`; NotFound for any other."""
        try:
            folder = self._multipart_dir(upload_id)
            text = await asyncio.to_thread((folder / "upload.json").read_text)
        except (Invalid, OSError):
            raise NotFound(f"no upload {upload_id[:64]}", code="no_upload") from None
        if json.loads(text) != {"owner": owner, "key": key}:
            raise NotFound(f"no upload {upload_id[:64]}", code="no_upload")
        return folder

    async def put_part(
        self, owner: str, key: str, upload_id: str, number: int, chunks: AsyncIterator[bytes]
    ) -> tuple[int, str]:
        """Stage part `number` (1-10000) of an upload; (size, md5 hex)."""
        folder = await self._multipart(owner, key, upload_id)
        size, md5 = await files.save_stream(
            chunks, folder / f"part-{number:05d}", await self.room_for(owner)
        )
        await asyncio.to_thread((folder / f"part-{number:05d}.md5").write_text, f"{md5} {size}")
        return size, md5

    async def multipart_parts(
        self, owner: str, key: str, upload_id: str
    ) -> dict[int, tuple[str, int]]:
        """{part number: (md5 hex, size)} of the parts staged so far."""
        folder = await self._multipart(owner, key, upload_id)

        def read() -> dict[int, tuple[str, int]]:
            found = {}
            for path in folder.glob("part-[0-9][0-9][0-9][0-9][0-9].md5"):
                md5, _, size = path.read_text().partition(" ")
                found[int(path.name[5:10])] = (md5, int(size))
            return found

        return await asyncio.to_thread(read)

    async def complete_multipart(
        self, owner: str, key: str, upload_id: str, numbers: list[int]
    ) -> int:
        """Join the named parts, in order, into the object (written whole); the object's size.
        The staging folder is removed."""
        folder = await self._multipart(owner, key, upload_id)

        async def joined() -> AsyncIterator[bytes]:
            for number in numbers:
                handle = await asyncio.to_thread((folder / f"part-{number:05d}").open, "rb")
                try:
                    while chunk := await asyncio.to_thread(handle.read, READ_CHUNK):
                        yield chunk
                finally:
                    await asyncio.to_thread(handle.close)

        size = await self.put_object(owner, key, joined())
        await asyncio.to_thread(files.remove_tree, folder)
        return size

    async def abort_multipart(self, owner: str, key: str, upload_id: str) -> None:
        folder = await self._multipart(owner, key, upload_id)
        await asyncio.to_thread(files.remove_tree, folder)

    def remove_object_leftovers(self) -> int:
        """At start-up: the staged parts of unfinished multipart uploads and the part files of
        interrupted object writes. Returns how many were removed."""
        data = self.settings.data_path
        found = [*data.glob(f"{MULTIPART}/*"), *data.glob("objects/**/.upload-*.part")]
        for path in found:
            if path.is_dir() and not path.is_symlink():
                files.remove_tree(path)
            else:
                path.unlink(missing_ok=True)
        return len(found)
