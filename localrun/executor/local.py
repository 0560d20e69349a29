"""Runs as child processes of this machine, each in its own session."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psutil

from localrun.executor.base import Exited, Handle, LaunchSpec, TreeSample

CREATE_TIME_TOLERANCE_S = 0.05
LEFTOVER_GIVE_UP_S = 10.0
SCRATCH_DIR = Path("/tmp")  # hydra's path is fixed, whatever TMPDIR says
SCRATCH_PREFIX = "hydra_hwloc_xmlfile_"

log = logging.getLogger(__name__)


# What `ulimit -s unlimited` does (up to the hard limit), then exec: same pid, same argv.
# A shell rather than preexec_fn, which is unsafe while the daemon has worker threads.
RAISE_STACK = 'ulimit -s "$(ulimit -H -s)" 2>/dev/null; exec "$@"'


class LocalExecutor:
    """Spawns, watches and stops process trees; remembers its children to reap them."""

    def __init__(self) -> None:
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._procs: dict[int, psutil.Process] = {}
        self._tree: dict[int, dict[int, psutil.Process]] = {}
        self._leftovers_since: dict[int, float] = {}

    def spawn(self, spec: LaunchSpec) -> Handle:
        env = {**os.environ, **spec.env}
        if shutil.which(spec.argv[0], path=env.get("PATH")) is None:
            raise FileNotFoundError(f"{spec.argv[0]}: no such executable")
        with open(spec.stdout, "ab") as out, open(spec.stderr, "ab") as err:
            child = subprocess.Popen(
                _wrapped(spec.argv),
                cwd=spec.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                close_fds=True,
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
                and proc.cmdline() in (argv, _wrapped(argv))
                and proc.status() != psutil.STATUS_ZOMBIE
            )
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return False
        if same:
            self._procs[handle.pid] = proc
        return same

    def find(self, argv: list[str], cwd: str) -> Handle | None:
        """The live process started with argv in cwd, if any (by us, before a restart)."""
        for proc in psutil.process_iter(["cmdline", "cwd", "create_time"]):
            if proc.info["cmdline"] in (argv, _wrapped(argv)) and proc.info["cwd"] == cwd:
                return Handle(proc.pid, proc.info["create_time"])
        return None

    def poll(self, handle: Handle) -> Exited | None:
        """Exited once the launcher is gone and nothing of its tree is left; what is left after
        the launcher ended is killed, as it would outlive the run."""
        exited = self._root_exited(handle)
        if exited is None:
            return None
        leftovers = [p for p in self._members(handle) if p.pid != handle.pid and _alive(p)]
        if not leftovers:
            self._remove_scratch(handle)
            return exited
        since = self._leftovers_since.setdefault(handle.pid, time.monotonic())
        if time.monotonic() - since > LEFTOVER_GIVE_UP_S:
            log.warning(
                "processes %s of pid %d will not die", [p.pid for p in leftovers], handle.pid
            )
            return exited
        for proc in leftovers:
            _signal(proc, signal.SIGKILL)
        return None

    def _root_exited(self, handle: Handle) -> Exited | None:
        child = self._children.get(handle.pid)
        if child is not None:
            code = child.poll()
            return None if code is None else Exited(code)
        proc = self._procs.get(handle.pid)
        if proc is not None and _alive(proc):
            return None
        return Exited(None)

    def _members(self, handle: Handle) -> list[psutil.Process]:
        """Every process of the run we know of: the tree under the launcher as last seen and
        now, and whatever is still in the launcher's process group (orphans included)."""
        found: dict[int, psutil.Process] = dict(self._tree.get(handle.pid, {}))
        root = self._procs.get(handle.pid)
        if root is not None:
            found.setdefault(root.pid, root)
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                for proc in root.children(recursive=True):
                    found.setdefault(proc.pid, proc)
        for proc in psutil.process_iter():
            if proc.pid in found or proc.pid == os.getpid():
                continue
            with contextlib.suppress(ProcessLookupError, psutil.Error):
                if (
                    os.getpgid(proc.pid) == handle.pid
                    and proc.create_time() >= handle.create_time - CREATE_TIME_TOLERANCE_S
                ):
                    found[proc.pid] = proc
        self._tree[handle.pid] = found
        return list(found.values())

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

    def _remove_scratch(self, handle: Handle) -> None:
        """MPICH's hydra_pmi_proxy keeps a topology file in /tmp that only its clean exit
        removes; a killed or aborted run would leave it behind. Remove ours that appeared
        during the run and that no live proxy still holds open."""
        ours = [
            path
            for path in SCRATCH_DIR.glob(SCRATCH_PREFIX + "*")
            if _owned_since(path, handle.create_time - CREATE_TIME_TOLERANCE_S)
        ]
        if not ours:
            return
        held: set[str] = set()
        for proc in psutil.process_iter(["name"]):
            if (proc.info["name"] or "").startswith("hydra_pmi_proxy"):
                with contextlib.suppress(psutil.Error):
                    held.update(f.path for f in proc.open_files())
        for path in ours:
            if str(path) not in held:
                path.unlink(missing_ok=True)

    async def stop(self, handle: Handle, grace_s: float) -> None:
        """SIGTERM to every process of the run, a grace period, then SIGKILL to what is left;
        returns once nothing of the run is left (or after about 5 s more)."""
        if handle.pid not in self._procs:
            return
        tree = self._members(handle)
        for proc in tree:
            _signal(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            self._root_exited(handle)
            if not any(_alive(p) for p in tree):
                return
            await asyncio.sleep(0.05)
        tree = [p for p in self._members(handle) if _alive(p)]
        for proc in tree:
            _signal(proc, signal.SIGKILL)
        for _ in range(100):
            self._root_exited(handle)
            if not any(_alive(p) for p in tree):
                return
            await asyncio.sleep(0.05)

    def forget(self, handle: Handle) -> None:
        self._children.pop(handle.pid, None)
        self._procs.pop(handle.pid, None)
        self._tree.pop(handle.pid, None)
        self._leftovers_since.pop(handle.pid, None)


def _owned_since(path: Path, since: float) -> bool:
    try:
        info = path.lstat()
    except OSError:
        return False
    return info.st_uid == os.getuid() and info.st_mtime >= since


def _wrapped(argv: list[str]) -> list[str]:
    return ["/bin/sh", "-c", RAISE_STACK, "localrun-launch", *argv]


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _signal(proc: psutil.Process, signum: int) -> None:
    with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
        proc.send_signal(signum)
