"""Room kept back on the database's disk, so that a full disk cannot freeze the records."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger("localrun.store")

RESERVE_BYTES = 16 << 20


class DiskReserve:
    """A file of `size` bytes beside the database. When the disk fills, it is released so
    that state transitions can still be written; it is made again once there is room."""

    def __init__(self, path: Path, size: int = RESERVE_BYTES) -> None:
        self.path = path
        self.size = size

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.path.parent).free

    def ensure(self) -> bool:
        """Make the reserve when it is missing and the disk has twice its size free."""
        if self.path.exists():
            return True
        if self.free_bytes() < 2 * self.size:
            return False
        part = self.path.with_suffix(".part")
        try:
            with part.open("wb") as handle:
                os.posix_fallocate(handle.fileno(), 0, self.size)
            part.replace(self.path)
        except OSError:
            part.unlink(missing_ok=True)
            return False
        return True

    def release(self) -> bool:
        """Free the reserve; False when there was none left to free."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        log.error(
            "the disk holding %s is full (%d bytes free): released the %d-byte reserve so that "
            "runs can still be recorded; free some space",
            self.path.parent,
            self.free_bytes(),
            self.size,
        )
        return True
