"""Runs as child processes of this machine, each in its own session."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import subprocess
import time

import psutil

from localrun.executor.base import Exited, Handle, LaunchSpec, TreeSample

CREATE_TIME_TOLERANCE_S = 0.05


def _raise_stack_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_STACK)
    resource.setrlimit(resource.RLIMIT_STACK, (hard, hard))


class LocalExecutor:
    """Spawns, watches and stops process trees; remembers its children to reap them."""

    def __init__(self) -> None:
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._procs: dict[int, psutil.Process] = {}
        self._tree: dict[int, dict[int, psutil.Process]] = {}

    def spawn(self, spec: LaunchSpec) -> Handle:
        env = {**os.environ, **spec.env}
        with open(spec.stdout, "ab") as out, open(spec.stderr, "ab") as err:
            child = subprocess.Popen(
                spec.argv,
                cwd=spec.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                close_fds=True,
                preexec_fn=_raise_stack_limit,
            )
        proc = psutil.Process(child.pid)
        self._children[child.pid] = child
        self._procs[child.pid] = proc
        return Handle(child.pid, proc.create_time())

    def adopt(self, handle: Handle, argv: list[str]) -> bool:
        """True when pid still names the process we launched (create time and cmdline match)."""
        try:
            proc = psutil.Process(handle.pid)
            same = (
                abs(proc.create_time() - handle.create_time) < CREATE_TIME_TOLERANCE_S
                and proc.cmdline() == argv
                and proc.status() != psutil.STATUS_ZOMBIE
            )
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return False
        if same:
            self._procs[handle.pid] = proc
        return same

    def poll(self, handle: Handle) -> Exited | None:
        child = self._children.get(handle.pid)
        if child is not None:
            code = child.poll()
            return None if code is None else Exited(code)
        proc = self._procs.get(handle.pid)
        try:
            if proc is not None and proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                return None
        except psutil.NoSuchProcess:
            pass
        return Exited(None)

    def sample(self, handle: Handle) -> TreeSample:
        """CPU % and RSS of the whole tree; psutil needs the same objects between samples."""
        root = self._procs.get(handle.pid)
        if root is None:
            return TreeSample(alive=False)
        known = self._tree.setdefault(handle.pid, {})
        try:
            members = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return TreeSample(alive=False)
        cpu, rss, count = 0.0, 0, 0
        current: dict[int, psutil.Process] = {}
        for proc in members:
            proc = known.get(proc.pid, proc)
            try:
                cpu += proc.cpu_percent(None)
                rss += proc.memory_info().rss
                count += 1
                current[proc.pid] = proc
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        self._tree[handle.pid] = current
        return TreeSample(alive=count > 0, processes=count, cpu_percent=cpu, rss_bytes=rss)

    async def stop(self, handle: Handle, grace_s: float) -> None:
        """SIGTERM to the launcher, a grace period, then SIGKILL to all that is left of the tree."""
        root = self._procs.get(handle.pid)
        if root is None:
            return
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        _signal(root, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            if not any(_alive(p) for p in tree):
                break
            await asyncio.sleep(0.05)
            self.poll(handle)
        for proc in [*tree[1:], tree[0]]:
            if _alive(proc):
                _signal(proc, signal.SIGKILL)
        for _ in range(100):
            self.poll(handle)
            if not any(_alive(p) for p in tree):
                return
            await asyncio.sleep(0.05)

    def forget(self, handle: Handle) -> None:
        self._children.pop(handle.pid, None)
        self._procs.pop(handle.pid, None)
        self._tree.pop(handle.pid, None)


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _signal(proc: psutil.Process, signum: int) -> None:
    with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
        proc.send_signal(signum)
