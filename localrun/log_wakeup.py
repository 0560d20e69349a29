"""Wake-ups when a live run's WRF log grows (inotify), so that its progress is read as the
line is written, not at the supervisor's next tick; the tick stays for sampling.

Where inotify is missing (not Linux, a file system that gives no events, the watches used up)
nothing is woken and the tick reads the logs as before."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

from inotify_simple import INotify, flags

log = logging.getLogger(__name__)

LOGS = frozenset({"rsl.out.0000", "rsl.error.0000"})  # what the run's monitor reads
EVENTS = flags.MODIFY | flags.CREATE | flags.MOVED_TO


class LogWakeup:
    def __init__(self, woken: Callable[[str], None]) -> None:
        self._woken = woken
        self._inotify: INotify | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runs: dict[int, str] = {}  # watch descriptor -> run id
        self._watches: dict[str, int] = {}

    def watch(self, run_id: str, folder: Path) -> bool:
        """Wake for run_id when a log in folder (its work/) grows; False when it cannot."""
        try:
            if self._inotify is None:
                self._inotify = INotify(nonblocking=True)
                self._loop = asyncio.get_running_loop()
                self._loop.add_reader(self._inotify.fileno(), self._read)
            wd = self._inotify.add_watch(str(folder), EVENTS)
        except OSError as exc:
            log.debug("no wake-up for run %s's logs: %s", run_id, exc)
            return False
        self.unwatch(run_id)
        self._runs[wd] = run_id
        self._watches[run_id] = wd
        return True

    def unwatch(self, run_id: str) -> None:
        wd = self._watches.pop(run_id, None)
        if wd is None:
            return
        if self._runs.get(wd) == run_id:
            del self._runs[wd]
            if self._inotify is not None and wd not in self._runs:
                with contextlib.suppress(OSError):  # the folder is gone: the watch went with it
                    self._inotify.rm_watch(wd)

    def close(self) -> None:
        if self._inotify is None:
            return
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._inotify.fileno())
        self._inotify.close()
        self._inotify = None
        self._runs.clear()
        self._watches.clear()

    def _read(self) -> None:
        assert self._inotify is not None
        try:
            events = self._inotify.read(timeout=0)
        except OSError:
            return
        woken = {self._runs.get(e.wd) for e in events if e.name in LOGS}
        for run_id in woken:
            if run_id is not None:
                self._woken(run_id)
