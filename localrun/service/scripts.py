"""Runs of a script from the owner's object store: the script linked into
the run's inputs, run with the configured Python and its arguments, stdout and stderr as one
log, and that log read by line number."""

from __future__ import annotations

import asyncio
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localrun import files
from localrun.errors import Invalid
from localrun.runs import Run
from localrun.service.objects import Objects
from localrun.service.runs import Runs

LINE_LIMIT = 1 << 20  # a longer "line" is cut there


@dataclass
class _LineIndex:
    starts: list[int] = field(default_factory=lambda: [0])  # byte offset of each line
    scanned: int = 0


class Scripts(Runs, Objects):
    async def create_script_run(
        self,
        owner: str,
        family: str,
        *,
        name: str,
        uri: str,
        args: list[str],
        walltime_s: int,
        cores: int,
        extra: dict[str, Any],
    ) -> Run:
        """Create the run and queue it at once: a script run starts when it is made."""
        if cores > self.settings.total_cores:
            raise Invalid(
                f"this runtime needs {cores} cores and this host hands out "
                f"{self.settings.total_cores}; choose a smaller runtime"
            )
        key = self.object_key(owner, uri)
        source = await self.existing_object(owner, key)
        script = files.safe_filename(key.rsplit("/", 1)[-1])
        words = [sys.executable, script, *(str(a) for a in args)]
        command = "exec 2>&1; exec " + " ".join(shlex.quote(w) for w in words)
        run = await self.create_run(
            owner,
            family,
            name=name,
            cores=cores,
            walltime_s=walltime_s,
            kind="shell",
            command=command,
            extra=extra,
        )
        await asyncio.to_thread(files.link_file, source, self.paths(run.id).input / script)
        return await self.start(owner, run.id, cores=cores)

    async def log_lines(self, run: Run, after: int, size: int) -> list[tuple[int, str]]:
        """Up to `size` lines of the run's log after line number `after` (lines count from
        1), as (number, text); a line still being written is left for later while the run is
        live."""
        path = self.paths(run.id).logs / "mpirun.stdout"
        index = self.line_indexes.setdefault(run.id, _LineIndex())
        return await asyncio.to_thread(_read_lines, path, index, after, size, run.terminal)


def _read_lines(
    path: Path, index: _LineIndex, after: int, size: int, ended: bool
) -> list[tuple[int, str]]:
    try:
        handle = open(path, "rb")  # noqa: SIM115
    except FileNotFoundError:
        return []
    with handle:
        handle.seek(index.scanned)
        while chunk := handle.read(1 << 20):
            position = chunk.find(b"\n")
            while position >= 0:
                index.starts.append(index.scanned + position + 1)
                position = chunk.find(b"\n", position + 1)
            index.scanned += len(chunk)
        starts = index.starts
        complete = len(starts) - 1
        last = complete + (1 if ended and index.scanned > starts[-1] else 0)
        found = []
        for number in range(after + 1, min(last, after + size) + 1):
            begin = starts[number - 1]
            end = starts[number] if number < len(starts) else index.scanned
            handle.seek(begin)
            data = handle.read(min(end - begin, LINE_LIMIT))
            found.append((number, data.decode("utf-8", "replace").rstrip("\n").rstrip("\r")))
        return found
