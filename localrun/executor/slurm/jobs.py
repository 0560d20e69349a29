"""Runs as Slurm batch jobs: sbatch to start, one squeue call per tick for every live job,
scancel to stop. The job id is the run's reference.

Slurm's commands run on the executor's worker threads, never on the event loop: one for the
jobs, one for what sinfo says of the cluster. While Slurm gives no answer (slurmctld down or
unreachable) nothing is decided: every job keeps the state last seen, a stop waits until
scancel gets through, and the outage is logged once and shown in health().
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from localrun.executor.base import Exited, LaunchRequest, Queued, Sample
from localrun.executor.environment import run_environment
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
from localrun.executor.slurm.tools import SlurmError, SlurmTools, SlurmUnreachable, run_tool

log = logging.getLogger("localrun.executor.slurm")

T = TypeVar("T")
CLUSTER_TTL_S = 30.0
STOP_POLL_S = 0.25
AFTER_KILL_S = 5.0
SCANCEL_RETRY_S = 2.0  # between attempts of a stop's scancel while Slurm does not answer
# Slurm checks time limits about every 30 s and then gives KillWait; its TIMEOUT should be
# what ends a run, the supervisor's own timer only a backstop.
WALLTIME_SLACK_S = 180.0


class SlurmExecutor:
    def __init__(self, tools: SlurmTools, options: JobOptions) -> None:
        self.tools = tools
        self.options = options
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="localrun-slurm")
        self._info_thread = ThreadPoolExecutor(1, thread_name_prefix="localrun-slurm-info")
        self._status: dict[str, JobStatus] = {}
        self._asked: set[str] = set()  # the jobs the last squeue call asked about
        self._requests: dict[str, LaunchRequest] = {}
        self._ended: dict[str, Exited] = {}
        self._unverified: set[str] = set()  # adopted while Slurm gave no answer
        self._sacct: bool | None = None
        self._cluster: tuple[float, Cluster] | None = None
        self._asking: asyncio.Task[None] | None = None
        self._silent: str | None = None  # what Slurm said when it last gave no answer

    async def _off_loop(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    def close(self) -> None:
        self._thread.shutdown(wait=False)
        self._info_thread.shutdown(wait=False)
        if self._asking is not None:
            self._asking.cancel()

    def _no_answer(self, exc: SlurmError) -> None:
        if self._silent is None:
            log.warning(
                "Slurm does not answer (%s); runs keep the state last seen until it does", exc
            )
        self._silent = str(exc)

    def _heard(self) -> None:
        if self._silent is not None:
            log.warning("Slurm answers again")
        self._silent = None

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
        out = run_tool(self.command(request), env=run_environment(request.env))
        ref = job_id(out)
        self._requests[ref] = request
        return ref

    async def adopt(self, ref: str, request: LaunchRequest) -> bool:
        """A job Slurm lists as live with the request's name, work dir and batch script.
        While Slurm gives no answer, a job whose batch script is the request's is taken on
        trust (running once Slurm has opened its output, else pending) and checked at
        Slurm's first answer."""
        self._requests[ref] = request  # its exit status may still be on disk
        await self.refresh([ref])
        status = self._status.get(ref)
        if status is None and self._silent is not None:
            return await self._off_loop(self._adopt_unheard, ref, request)
        return status is not None and not status.ended and self._same(status, request)

    def _adopt_unheard(self, ref: str, request: LaunchRequest) -> bool:
        try:
            if script_path(request).read_text() != batch_script(request, self.options):
                return False
        except OSError:
            return False
        started = Path(request.stdout).exists()  # Slurm creates --output as the job starts
        state = "RUNNING" if started else "PENDING"
        self._status[ref] = JobStatus(ref, state, "", request.run_id, request.work_dir)
        self._unverified.add(ref)
        return True

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
        self._asked = set(wanted)
        try:
            found = parse_squeue(run_tool([*argv, f"--jobs={','.join(wanted)}"]))
        except SlurmError as exc:
            if "Invalid job id" not in str(exc):  # what it says when it knows none of them
                self._no_answer(exc)  # no news: every job stays as last seen
                return
            found = {}
        self._heard()
        for ref in wanted:
            if ref in found:
                self._status[ref] = found[ref]
                self._check_unverified(ref)
            else:
                self._status.pop(ref, None)

    def _check_unverified(self, ref: str) -> None:
        """A job adopted on trust is the request's after all, or it is another job that got
        the id (Slurm's state was reset): then the run's own job is over."""
        if ref not in self._unverified:
            return
        self._unverified.discard(ref)
        request = self._requests.get(ref)
        if request is not None and not self._same(self._status[ref], request):
            del self._status[ref]
            self._end(ref, Exited(self._exit_code(ref, None)))

    async def poll(self, ref: str) -> Exited | Queued | None:
        if ref in self._ended:
            return self._ended[ref]
        if ref not in self._asked:
            await self.refresh([ref])
        if ref in self._ended:  # found meanwhile to be another job's id
            return self._ended[ref]
        status = self._status.get(ref)
        self._asked.discard(ref)  # the next poll of it asks Slurm again
        if self._silent is not None and (status is None or not status.ended):
            if status is None or status.waiting:
                return Queued(f"no answer from Slurm ({self._silent})")
            return None  # running, as last seen
        if status is not None and status.hopeless:
            await self._off_loop(self._scancel, ref, None)
            why = f"Slurm cannot run job {ref}: {status.reason}"
            return self._end(ref, Exited(None, status.state, why))
        if status is not None and status.waiting:
            return Queued(status.reason or status.state.title())
        if status is not None and not status.ended:
            return None
        if status is None:
            try:
                status = await self._off_loop(self._ended_status, ref)
            except SlurmUnreachable:
                return None  # gone from squeue, but how it ended is asked again next time
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
        """A job squeue no longer lists: sacct when accounting is there, else scontrol;
        None when neither knows it. SlurmUnreachable when scontrol gives no answer."""
        if self._sacct is not False:
            argv = [self.tools.sacct, "--noheader", "--parsable2", "--allocations"]
            try:
                text = run_tool([*argv, f"--format={SACCT_FIELDS}", f"--jobs={ref}"])
                self._sacct = True
                if ref in (found := parse_sacct(text)):
                    return found[ref]
            except SlurmError as exc:
                if "disabled" in str(exc):  # "Slurm accounting storage is disabled"
                    self._sacct = False
        try:
            return parse_scontrol(run_tool([self.tools.scontrol, "--oneliner", "show", "job", ref]))
        except SlurmUnreachable:
            raise
        except SlurmError:
            return None  # "Invalid job id specified"

    async def sample(self, ref: str) -> Sample:
        status = self._status.get(ref)
        return Sample(alive=status is not None and not status.waiting and not status.ended)

    # stop

    async def stop(self, ref: str, grace_s: float) -> None:
        """scancel --signal=TERM --full, the grace, then --signal=KILL and a plain scancel;
        a job still pending is simply cancelled. Returns once Slurm has ended the job. While
        Slurm gives no answer each scancel is tried again until it gets through, and the
        grace counts from the TERM Slurm took."""
        await self.refresh([ref])
        status = self._status.get(ref)
        if status is not None and status.ended:
            return
        if status is None and self._silent is None:
            return  # Slurm no longer knows it
        if status is None or status.waiting:
            await self._scancel_until_taken(ref, None)
            await self._until_ended(ref, AFTER_KILL_S)
            return
        await self._scancel_until_taken(ref, "TERM")
        if await self._until_ended(ref, grace_s):
            return
        await self._scancel_until_taken(ref, "KILL")
        await self._scancel_until_taken(ref, None)
        await self._until_ended(ref, AFTER_KILL_S)

    async def _scancel_until_taken(self, ref: str, signal: str | None) -> None:
        while True:
            if await self._off_loop(self._scancel, ref, signal):
                return
            await asyncio.sleep(SCANCEL_RETRY_S)

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

    def _scancel(self, ref: str, signal: str | None) -> bool:
        """scancel with --signal=SIGNAL --full, or plain; False when Slurm gave no answer.
        An error Slurm answers with ("Invalid job id specified") means it ended meanwhile."""
        argv = [self.tools.scancel, ref]
        if signal is not None:
            argv[1:1] = [f"--signal={signal}", "--full"]
        try:
            run_tool(argv)
        except SlurmUnreachable as exc:
            self._no_answer(exc)
            return False
        except SlurmError:
            pass
        return True

    def forget(self, ref: str) -> None:
        for table in (self._status, self._requests, self._ended):
            table.pop(ref, None)
        self._asked.discard(ref)
        self._unverified.discard(ref)

    def on_exit(self, ref: str, callback: Callable[[], None]) -> None:
        """Slurm tells nothing at once: the next squeue call in the tick finds the end."""

    # the cluster

    async def cluster(self) -> Cluster:
        """The cluster as sinfo shows it, asked at most every CLUSTER_TTL_S. While Slurm
        gives no answer, the cluster as last seen, at once (sinfo is asked again behind)."""
        if self._cluster is not None and time.monotonic() - self._cluster[0] < CLUSTER_TTL_S:
            return self._cluster[1]
        if self._cluster is not None and self._silent is not None:
            if self._asking is None or self._asking.done():
                self._asking = asyncio.create_task(self._ask_quietly())
            return self._cluster[1]
        return await self._ask()

    async def _ask(self) -> Cluster:
        loop = asyncio.get_running_loop()
        try:
            found = await loop.run_in_executor(self._info_thread, self._ask_cluster)
        except SlurmUnreachable as exc:
            self._no_answer(exc)
            if self._cluster is None:
                raise
            self._cluster = (time.monotonic(), self._cluster[1])  # asked again after the TTL
            return self._cluster[1]
        self._heard()
        self._cluster = (time.monotonic(), found)
        return found

    async def _ask_quietly(self) -> None:
        with contextlib.suppress(SlurmError):
            await self._ask()

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
        """The executor, the cluster (as last seen while Slurm gives no answer), and an
        error when Slurm does not answer or the partition setting names none of its
        partitions."""
        wanted = self.options.partition
        body: dict[str, Any] = {"name": "slurm", "partition": wanted or None}
        try:
            found = await self.cluster()
        except SlurmError as exc:
            body["cluster"] = None
            body["error"] = str(exc)
            return body
        body["cluster"] = found.json()
        if self._silent is not None:
            body["error"] = f"Slurm does not answer: {self._silent}"
        elif found.partition(wanted) is None:
            names = ", ".join(p.name for p in found.partitions) or "none"
            body["error"] = (
                f"slurm_partition {wanted!r} is not a partition of this cluster (it has: {names})"
            )
        return body
