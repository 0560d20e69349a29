"""Runs as process trees of this machine, each in its own session, watched with psutil.

Every method that touches the system runs on the executor's one worker thread, so that the
event loop never waits on /proc and the psutil objects (which keep the CPU baseline between
samples) are only ever used from one thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psutil

from localrun.executor.base import Exited, LaunchRequest, Sample
from localrun.executor.environment import run_environment
from localrun.executor.local.command import run_argv, status_from_file, wrapped
from localrun.executor.local.ptable import ProcessTable
from localrun.executor.local.sandbox import Sandbox
from localrun.executor.local.scratch import remove_scratch

CREATE_TIME_TOLERANCE_S = 0.05
RUN_MARKER = "LOCALRUN_RUN_ID"  # in every run's environment; found on what left its group
LEFTOVER_GIVE_UP_S = 10.0

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Pid:
    """A process as its reference says it: its pid and when it was created."""

    pid: int
    create_time: float

    @classmethod
    def parse(cls, ref: str) -> Pid:
        pid, _, created = ref.partition(":")
        return cls(int(pid), float(created))

    def ref(self) -> str:
        return f"{self.pid}:{self.create_time!r}"


class LocalExecutor:
    """Spawns, watches and stops process trees; remembers its children to reap them."""

    def __init__(self, mpirun: str, sandbox: Sandbox | None = None) -> None:
        self.mpirun = mpirun
        self.sandbox = sandbox
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="localrun-executor")
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._procs: dict[int, psutil.Process] = {}
        self._requests: dict[int, LaunchRequest] = {}
        self._tree: dict[int, dict[int, psutil.Process]] = {}
        self._table = ProcessTable()
        self._leftovers_since: dict[int, float] = {}
        self._created: dict[int, float] = {}
        self._namespaced: set[int] = set()  # spawned in bubblewrap's own pid namespace
        self._pidfds: dict[int, tuple[int, asyncio.AbstractEventLoop]] = {}  # event loop only

    async def _off_loop(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    def close(self) -> None:
        for pid in list(self._pidfds):
            self._unwatch(pid)
        self._thread.shutdown(wait=False)

    @property
    def isolation(self) -> str:
        return "none" if self.sandbox is None else "bubblewrap"

    def command(self, request: LaunchRequest) -> list[str]:
        return run_argv(request, self.mpirun)

    def _full_argv(
        self, request: LaunchRequest, new_session: bool = False, earlier: bool = False
    ) -> list[str]:
        """What is spawned: the command in the launch wrapper, in the sandbox if there is one.
        new_session and earlier: bwrap's options and the wrapper of earlier versions."""
        sandbox = None
        if self.sandbox is not None:
            sandbox = self.sandbox.argv(request, new_session=new_session)
        return wrapped(self.command(request), request.exit_file, sandbox, earlier=earlier)

    def _spawned_as(self, request: LaunchRequest) -> list[list[str]]:
        """The command lines a run of the request may have: this version's and those versions
        before it spawned (their wrapper; sandboxed, bwrap with --new-session)."""
        sessions = (False, True) if self.sandbox is not None else (False,)
        return [
            self._full_argv(request, new_session=session, earlier=earlier)
            for earlier in (False, True)
            for session in sessions
        ]

    def describe(self, ref: str) -> str:
        return f"pid {Pid.parse(ref).pid}"

    @property
    def counts_cores(self) -> bool:
        return True

    @property
    def walltime_slack_s(self) -> float:
        return 0.0

    async def capacity(self) -> int | None:
        return None

    async def health(self) -> dict[str, Any]:
        return {"name": "local"}

    async def refresh(self, refs: Sequence[str]) -> None:
        """Nothing to batch: each poll looks at its own process tree."""

    # spawn, adopt, find

    async def spawn(self, request: LaunchRequest) -> str:
        return await self._off_loop(self._spawn, request)

    def _spawn(self, request: LaunchRequest) -> str:
        env = run_environment(request.env)
        argv = self.command(request)
        if shutil.which(argv[0], path=env.get("PATH")) is None:
            raise FileNotFoundError(f"{argv[0]}: no such executable")
        Path(request.exit_file).unlink(missing_ok=True)
        with open(request.stdout, "ab") as out, open(request.stderr, "ab") as err:
            child = subprocess.Popen(
                self._full_argv(request),
                cwd=request.work_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                close_fds=True,
            )
        proc = psutil.Process(child.pid)
        self._children[child.pid] = child
        self._remember(proc, request)
        if self.sandbox is not None:
            self._namespaced.add(child.pid)
        return Pid(child.pid, proc.create_time()).ref()

    def _remember(self, proc: psutil.Process, request: LaunchRequest) -> None:
        self._procs[proc.pid] = proc
        self._requests[proc.pid] = request
        self._created[proc.pid] = proc.create_time()

    async def adopt(self, ref: str, request: LaunchRequest) -> bool:
        return await self._off_loop(self._adopt, Pid.parse(ref), request)

    def _adopt(self, handle: Pid, request: LaunchRequest) -> bool:
        expected = self._spawned_as(request)
        try:
            proc = psutil.Process(handle.pid)
            same = (
                abs(proc.create_time() - handle.create_time) < CREATE_TIME_TOLERANCE_S
                and proc.cmdline() in expected
                and proc.status() != psutil.STATUS_ZOMBIE
            )
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            same = False
        if same:
            self._remember(proc, request)
        else:
            self._requests[handle.pid] = request  # its exit status may still be on disk
            self._created[handle.pid] = handle.create_time
        return same

    async def find(self, request: LaunchRequest) -> str | None:
        return await self._off_loop(self._find, request)

    def _find(self, request: LaunchRequest) -> str | None:
        expected = self._spawned_as(request)
        for proc in psutil.process_iter(["cmdline", "cwd", "create_time"]):
            if proc.info["cmdline"] in expected and proc.info["cwd"] == request.work_dir:
                return Pid(proc.pid, proc.info["create_time"]).ref()
        return None

    # poll and sample

    async def poll(self, ref: str) -> Exited | None:
        return await self._off_loop(self._poll, Pid.parse(ref).pid)

    def _poll(self, pid: int) -> Exited | None:
        """Exited once the wrapper is gone and nothing of its tree is left; what is left after
        the wrapper ended is killed, as it would outlive the run."""
        exited = self._root_exited(pid)
        if exited is None:
            return None
        if pid in self._namespaced:  # the kernel killed the namespace with its first process
            remove_scratch(self._created.get(pid, time.time()) - CREATE_TIME_TOLERANCE_S)
            return exited
        leftovers = [p for p in self._members(pid) if p.pid != pid and _alive(p)]
        if not leftovers:
            remove_scratch(self._created.get(pid, time.time()) - CREATE_TIME_TOLERANCE_S)
            return exited
        since = self._leftovers_since.setdefault(pid, time.monotonic())
        if time.monotonic() - since > LEFTOVER_GIVE_UP_S:
            log.warning("processes %s of pid %d will not die", [p.pid for p in leftovers], pid)
            return exited
        for proc in leftovers:
            _signal(proc, signal.SIGKILL)
        return None

    def _root_exited(self, pid: int) -> Exited | None:
        child = self._children.get(pid)
        if child is not None:
            code = child.poll()
            if code is None:
                return None
            recorded = self._recorded_status(pid)  # the run's own, not bubblewrap's
            return Exited(code if recorded is None else recorded)
        proc = self._procs.get(pid)
        if proc is not None and _alive(proc):
            return None
        return Exited(self._recorded_status(pid))

    def _recorded_status(self, pid: int) -> int | None:
        """The exit status the wrapper wrote, for a run that is not our child."""
        request = self._requests.get(pid)
        if request is None:
            return None
        try:
            return status_from_file(Path(request.exit_file).read_text())
        except OSError:
            return None

    def _members(self, pid: int) -> list[psutil.Process]:
        """Every process of the run we know of: the tree under the wrapper as last seen and
        now, and whatever is still in the wrapper's process group (orphans included)."""
        found: dict[int, psutil.Process] = dict(self._tree.get(pid, {}))
        root = self._procs.get(pid)
        self._table.forget()
        if root is not None:
            found.setdefault(root.pid, root)
            for child in self._table.descendants(pid):
                with contextlib.suppress(psutil.Error):
                    found.setdefault(child, psutil.Process(child))
        created = self._created.get(pid, 0.0) - CREATE_TIME_TOLERANCE_S
        request = self._requests.get(pid)
        marker = None if request is None else request.env.get(RUN_MARKER)
        for other, stat in self._table.started_since(created).items():
            if other in found or other == os.getpid():
                continue
            with contextlib.suppress(psutil.Error):
                if stat.group == pid:
                    found[other] = psutil.Process(other)
                elif marker is not None:
                    proc = psutil.Process(other)
                    if proc.environ().get(RUN_MARKER) == marker:
                        found[other] = proc
        self._tree[pid] = found
        return list(found.values())

    async def sample(self, ref: str) -> Sample:
        return await self._off_loop(self._sample, Pid.parse(ref).pid)

    def _sample(self, pid: int) -> Sample:
        """CPU % and RSS of the whole tree; psutil needs the same objects between samples."""
        root = self._procs.get(pid)
        if root is None:
            return Sample(alive=False)
        known = self._tree.setdefault(pid, {})
        members: list[int | psutil.Process] = [root, *self._table.descendants(pid)]
        cpu, rss, count = 0.0, 0, 0
        current: dict[int, psutil.Process] = {}
        for member in members:
            try:
                if isinstance(member, int):
                    proc = known.get(member) or psutil.Process(member)
                    if proc.create_time() < root.create_time():  # a pid used again
                        continue
                else:
                    proc = member
                cpu += proc.cpu_percent(None)
                rss += proc.memory_info().rss
                count += 1
                current[proc.pid] = proc
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        self._tree[pid] = current
        return Sample(alive=count > 0, processes=count, cpu_percent=cpu, rss_bytes=rss)

    # stop

    async def stop(self, ref: str, grace_s: float) -> None:
        """SIGTERM to every process of the run, a grace period, then SIGKILL to what is left;
        returns once nothing of the run is left (or after about 5 s more)."""
        pid = Pid.parse(ref).pid
        if pid not in self._procs:
            return
        tree = await self._off_loop(self._signal_all, pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            if await self._off_loop(self._gone, pid, tree):
                return
            await asyncio.sleep(0.05)
        tree = await self._off_loop(self._signal_all, pid, signal.SIGKILL)
        for _ in range(100):
            if await self._off_loop(self._gone, pid, tree):
                return
            await asyncio.sleep(0.05)

    def _signal_all(self, pid: int, signum: int) -> list[psutil.Process]:
        """Signal every process of the run. SIGTERM skips bubblewrap itself: its death would
        SIGKILL the whole sandbox at once, with no grace."""
        tree = [p for p in self._members(pid) if _alive(p)]
        for proc in tree:
            if signum != signal.SIGTERM or not _is_bwrap(proc):
                _signal(proc, signum)
        return tree

    def _gone(self, pid: int, tree: list[psutil.Process]) -> bool:
        self._root_exited(pid)  # reaps our child
        return not any(_alive(p) for p in tree)

    def on_exit(self, ref: str, callback: Callable[[], None]) -> None:
        """A pidfd of the run's root process becomes readable when it ends (the wrapper ends
        after the run); the callback then runs on the loop, once."""
        pid = Pid.parse(ref).pid
        loop = asyncio.get_running_loop()
        self._unwatch(pid)
        try:
            fd = os.pidfd_open(pid)
        except OSError:  # gone already, or a kernel without pidfds: the tick will see it
            loop.call_soon(callback)
            return

        def ended() -> None:
            self._unwatch(pid)
            callback()

        self._pidfds[pid] = (fd, loop)
        loop.add_reader(fd, ended)

    def _unwatch(self, pid: int) -> None:
        found = self._pidfds.pop(pid, None)
        if found is not None:
            fd, loop = found
            if not loop.is_closed():
                loop.remove_reader(fd)
            os.close(fd)

    def forget(self, ref: str) -> None:
        self._unwatch(Pid.parse(ref).pid)
        self._thread.submit(self._forget, Pid.parse(ref).pid)

    def _forget(self, pid: int) -> None:
        for table in (
            self._children,
            self._procs,
            self._requests,
            self._tree,
            self._leftovers_since,
            self._created,
        ):
            table.pop(pid, None)
        self._namespaced.discard(pid)


def _is_bwrap(proc: psutil.Process) -> bool:
    try:
        return proc.name() == "bwrap"
    except psutil.Error:
        return False


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _signal(proc: psutil.Process, signum: int) -> None:
    with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
        proc.send_signal(signum)


def kill_run(ref: str, run_id: str) -> None:
    """SIGKILL to the process group of a run's reference (a run is a session of its own,
    every process of it in that group), when that process is still the run's: what an
    out-of-memory killer does, with no stop asked (the test double's "killed" outcome)."""
    pid = ref.partition(":")[0]
    try:
        environ = Path(f"/proc/{int(pid)}/environ").read_bytes()
    except (OSError, ValueError):
        return
    if f"LOCALRUN_RUN_ID={run_id}".encode() not in environ.split(b"\0"):
        return  # another process has that pid now
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(int(pid), signal.SIGKILL)
