"""Each owner's object store: files under <data>/objects/<owner>/, named by key, written
whole (a temporary name, then a rename), so that they survive a restart. A key cannot leave its
owner's folder. Families show it as s3://localrun/<owner>/<key>."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

from localrun import files
from localrun.errors import Invalid, NotFound
from localrun.service.inputs import Inputs

BUCKET = "localrun"


class Objects(Inputs):
    def objects_root(self, owner: str) -> Path:
        try:
            folder = files.safe_filename(owner)
        except Invalid:
            folder = "h-" + hashlib.sha256(owner.encode()).hexdigest()[:24]
        return self.settings.data_path / "objects" / folder

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
