"""Runs as Slurm batch jobs: sbatch to start, one squeue call per tick for every live job,
scancel to stop. The job id is the run's reference.

Slurm's commands run on the executor's one worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from localrun.executor.base import Exited, LaunchRequest, Queued, Sample
from localrun.executor.local.command import status_from_file
from localrun.executor.slurm.cluster import SINFO_FORMAT, Cluster, cluster_name, parse_sinfo
from localrun.executor.slurm.queue import (
    SACCT_FIELDS,
    SQUEUE_FORMAT,
    JobStatus,
    parse_sacct,
    parse_scontrol,
    parse_squeue,
)
from localrun.executor.slurm.script import (
    JobOptions,
    batch_script,
    job_id,
    sbatch_argv,
    script_path,
    write_script,
)
from localrun.executor.slurm.tools import SlurmError, SlurmTools, run_tool

T = TypeVar("T")
CLUSTER_TTL_S = 30.0
STOP_POLL_S = 0.25
AFTER_KILL_S = 5.0
# Slurm checks time limits about every 30 s and then gives KillWait; its TIMEOUT should be
# what ends a run, the supervisor's own timer only a backstop.
WALLTIME_SLACK_S = 180.0


class SlurmExecutor:
    def __init__(self, tools: SlurmTools, options: JobOptions) -> None:
        self.tools = tools
        self.options = options
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="localrun-slurm")
        self._status: dict[str, JobStatus] = {}
        self._asked: set[str] = set()  # the jobs the last squeue call asked about
        self._requests: dict[str, LaunchRequest] = {}
        self._ended: dict[str, Exited] = {}
        self._sacct: bool | None = None
        self._cluster: tuple[float, Cluster] | None = None

    async def _off_loop(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    def close(self) -> None:
        self._thread.shutdown(wait=False)

    @property
    def isolation(self) -> str:
        return "none"  # a job runs as the daemon's user on a compute node: see the README

    @property
    def counts_cores(self) -> bool:
        return False

    @property
    def walltime_slack_s(self) -> float:
        return WALLTIME_SLACK_S

    def command(self, request: LaunchRequest) -> list[str]:
        return sbatch_argv(self.tools.sbatch, request, self.options)

    def describe(self, ref: str) -> str:
        return f"Slurm job {ref}"

    # spawn, adopt, find

    async def spawn(self, request: LaunchRequest) -> str:
        return await self._off_loop(self._spawn, request)

    def _spawn(self, request: LaunchRequest) -> str:
        Path(request.exit_file).unlink(missing_ok=True)
        write_script(request, self.options)
        out = run_tool(self.command(request), env={**os.environ, **request.env})
        ref = job_id(out)
        self._requests[ref] = request
        return ref

    async def adopt(self, ref: str, request: LaunchRequest) -> bool:
        self._requests[ref] = request  # its exit status may still be on disk
        await self.refresh([ref])
        status = self._status.get(ref)
        return status is not None and not status.ended and self._same(status, request)

    def _same(self, status: JobStatus, request: LaunchRequest) -> bool:
        """The job is this request's: its name, its work dir, and its batch script."""
        try:
            script = script_path(request).read_text()
        except OSError:
            return False
        return (
            status.name == request.run_id
            and status.work_dir == request.work_dir
            and script == batch_script(request, self.options)
        )

    async def find(self, request: LaunchRequest) -> str | None:
        return await self._off_loop(self._find, request)

    def _find(self, request: LaunchRequest) -> str | None:
        argv = [self.tools.squeue, "--noheader", "--states=all", f"--name={request.run_id}"]
        found = parse_squeue(run_tool([*argv, f"--format={SQUEUE_FORMAT}"]))
        mine = [s.job_id for s in found.values() if not s.ended and self._same(s, request)]
        return max(mine, key=int) if mine else None

    # refresh, poll and sample

    async def refresh(self, refs: Sequence[str]) -> None:
        await self._off_loop(self._refresh, list(refs))

    def _refresh(self, refs: list[str]) -> None:
        """One squeue call for every job asked about; a job it does not list has left
        Slurm's memory."""
        wanted = sorted({r for r in refs if r not in self._ended}, key=int)
        if not wanted:
            return
        argv = [self.tools.squeue, "--noheader", "--states=all", f"--format={SQUEUE_FORMAT}"]
        try:
            found = parse_squeue(run_tool([*argv, f"--jobs={','.join(wanted)}"]))
        except SlurmError as exc:
            if "Invalid job id" not in str(exc):  # what it says when it knows none of them
                raise
            found = {}
        for ref in wanted:
            if ref in found:
                self._status[ref] = found[ref]
            else:
                self._status.pop(ref, None)
        self._asked = set(wanted)

    async def poll(self, ref: str) -> Exited | Queued | None:
        if ref in self._ended:
            return self._ended[ref]
        if ref not in self._asked:
            await self.refresh([ref])
        status = self._status.get(ref)
        self._asked.discard(ref)  # the next poll of it asks Slurm again
        if status is not None and status.hopeless:
            await self._off_loop(self._cancel, ref)
            why = f"Slurm cannot run job {ref}: {status.reason}"
            return self._end(ref, Exited(None, status.state, why))
        if status is not None and status.waiting:
            return Queued(status.reason or status.state.title())
        if status is not None and not status.ended:
            return None
        if status is None:
            status = await self._off_loop(self._ended_status, ref)
        return self._end(
            ref, Exited(self._exit_code(ref, status), None if status is None else status.state)
        )

    def _end(self, ref: str, exited: Exited) -> Exited:
        self._ended[ref] = exited
        return exited

    def _exit_code(self, ref: str, status: JobStatus | None) -> int | None:
        """The wrapper's file first; else what Slurm recorded; else COMPLETED means 0."""
        request = self._requests.get(ref)
        if request is not None:
            try:
                recorded = status_from_file(Path(request.exit_file).read_text())
            except OSError:
                recorded = None
            if recorded is not None:
                return recorded
        if status is None:
            return None
        if status.exit_code is not None:
            return status.exit_code
        return 0 if status.state == "COMPLETED" else None

    def _ended_status(self, ref: str) -> JobStatus | None:
        """A job squeue no longer lists: sacct when accounting is there, else scontrol."""
        if self._sacct is not False:
            argv = [self.tools.sacct, "--noheader", "--parsable2", "--allocations"]
            try:
                text = run_tool([*argv, f"--format={SACCT_FIELDS}", f"--jobs={ref}"])
                self._sacct = True
                if ref in (found := parse_sacct(text)):
                    return found[ref]
            except SlurmError:
                self._sacct = False  # "Slurm accounting storage is disabled"
        try:
            return parse_scontrol(run_tool([self.tools.scontrol, "--oneliner", "show", "job", ref]))
        except SlurmError:
            return None

    async def sample(self, ref: str) -> Sample:
        status = self._status.get(ref)
        return Sample(alive=status is not None and not status.waiting and not status.ended)

    # stop

    async def stop(self, ref: str, grace_s: float) -> None:
        """scancel --signal=TERM --full, the grace, then --signal=KILL and a plain scancel;
        a job still pending is simply cancelled. Returns once Slurm has ended the job."""
        await self.refresh([ref])
        status = self._status.get(ref)
        if status is None or status.ended:
            return
        if status.waiting:
            await self._off_loop(self._cancel, ref)
            await self._until_ended(ref, AFTER_KILL_S)
            return
        await self._off_loop(self._signal, ref, "TERM")
        if await self._until_ended(ref, grace_s):
            return
        await self._off_loop(self._signal, ref, "KILL")
        await self._off_loop(self._cancel, ref)
        await self._until_ended(ref, AFTER_KILL_S)

    async def _until_ended(self, ref: str, within_s: float) -> bool:
        deadline = time.monotonic() + within_s
        while True:
            await self.refresh([ref])
            status = self._status.get(ref)
            if status is None or status.ended:
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(STOP_POLL_S)

    def _signal(self, ref: str, signal: str) -> None:
        with contextlib.suppress(SlurmError):  # it ended meanwhile: nothing to signal
            run_tool([self.tools.scancel, f"--signal={signal}", "--full", ref])

    def _cancel(self, ref: str) -> None:
        with contextlib.suppress(SlurmError):  # it ended meanwhile
            run_tool([self.tools.scancel, ref])

    def forget(self, ref: str) -> None:
        for table in (self._status, self._requests, self._ended):
            table.pop(ref, None)
        self._asked.discard(ref)

    # the cluster

    async def cluster(self) -> Cluster:
        """The cluster as sinfo shows it, asked at most every CLUSTER_TTL_S."""
        if self._cluster is not None and time.monotonic() - self._cluster[0] < CLUSTER_TTL_S:
            return self._cluster[1]
        found = await self._off_loop(self._ask_cluster)
        self._cluster = (time.monotonic(), found)
        return found

    def _ask_cluster(self) -> Cluster:
        parts = parse_sinfo(run_tool([self.tools.sinfo, "--noheader", f"--format={SINFO_FORMAT}"]))
        try:
            name = cluster_name(run_tool([self.tools.scontrol, "show", "config"]))
        except SlurmError:
            name = ""
        return Cluster(name, parts)

    async def capacity(self) -> int | None:
        """The partition's cores per node times its nodes."""
        try:
            part = (await self.cluster()).partition(self.options.partition)
        except SlurmError:
            return None
        return None if part is None else part.cores_per_node * part.nodes

    async def health(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": "slurm", "partition": self.options.partition or None}
        try:
            body["cluster"] = (await self.cluster()).json()
        except SlurmError as exc:
            body["cluster"] = None
            body["error"] = str(exc)
        return body
