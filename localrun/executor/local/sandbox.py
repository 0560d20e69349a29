"""Each run in its own bubblewrap sandbox: it sees and writes only its own run directory, reads
the system, the Python environment, localrun, the launcher and the models, and has a private
/tmp and its own PID namespace, so that nothing it starts outlives it.

The daemon's database, lock, other runs, TLS key and settings are not in the sandbox at all.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import localrun
from localrun.errors import StartupError
from localrun.executor.base import LaunchRequest

log = logging.getLogger(__name__)

SYSTEM_READ_ONLY = ("/usr", "/etc", "/sys", "/opt")
MERGED_USR = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


@dataclass(frozen=True)
class Sandbox:
    bwrap: str
    read_only: tuple[str, ...]
    hidden_dirs: tuple[str, ...]
    hidden_files: tuple[str, ...]
    network: bool = False

    def argv(self, request: LaunchRequest, *, new_session: bool = False) -> list[str]:
        """bwrap's options for the request's run, up to and including the `--`.

        No --new-session: the executor spawns bwrap in a session of its own, with no
        controlling terminal (the terminal injection --new-session guards against needs one),
        and a second setsid() is paid by every launch: measured at 0.02 ms on an idle host and
        4-25 ms on a busy one (this 2-core machine under other work). new_session=True gives
        the options as earlier versions wrote them, to recognise their runs after an upgrade."""
        root = str(Path(request.work_dir).parent)
        args = [self.bwrap, "--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev"]
        for top in MERGED_USR:
            path = Path(top)
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), top]
            elif path.is_dir():
                args += ["--ro-bind", top, top]
        for folder in self.read_only:
            args += ["--ro-bind", folder, folder]
        for folder in self.hidden_dirs:
            args += ["--tmpfs", folder]
        for secret in self.hidden_files:
            args += ["--ro-bind", "/dev/null", secret]
        args += ["--bind", root, root]
        inputs = Path(root) / "input"
        if inputs.is_dir():
            args += ["--ro-bind", str(inputs), str(inputs)]
        args += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        if not self.network:
            args.append("--unshare-net")
        if new_session:
            args.append("--new-session")
        args += ["--setenv", "HOME", request.work_dir]
        args += ["--chdir", request.work_dir, "--"]
        return args


def _existing(paths: Iterable[str | Path]) -> list[str]:
    found: list[str] = []
    for path in paths:
        text = str(Path(path))
        if Path(text).exists() and text not in found:
            found.append(text)
    return found


def _outside(paths: list[str], system: tuple[str, ...]) -> list[str]:
    """Paths not already under one of the system directories bound whole."""
    return [p for p in paths if not any(p == s or p.startswith(s + "/") for s in system)]


def make_sandbox(
    bwrap: str,
    *,
    data_dir: Path,
    programs: Iterable[str],
    secrets: Iterable[str] = (),
    network: bool = False,
) -> Sandbox:
    """A sandbox that reads the system, Python, localrun and the folders of `programs` (the
    launcher, the models), and hides data_dir (all but the run's own directory) and the
    files in `secrets` even where a read-only folder holds them."""
    system = tuple(_existing(SYSTEM_READ_ONLY))
    package_root = Path(localrun.__file__).resolve().parent
    folders = [sys.prefix, sys.base_prefix, str(package_root)]
    folders += [str(Path(p).resolve().parent) for p in programs if Path(p).is_absolute()]
    read_only = _outside(_existing(folders), system)
    return Sandbox(
        bwrap=bwrap,
        read_only=(*system, *read_only),
        hidden_dirs=(str(data_dir.resolve()),),
        hidden_files=tuple(_existing(Path(s).resolve() for s in secrets if s)),
        network=network,
    )


def probe(bwrap: str) -> str | None:
    """Why bubblewrap cannot make a sandbox here, or None when it can."""
    try:
        done = subprocess.run(
            [bwrap, "--ro-bind", "/", "/", "--unshare-pid", "--dev", "/dev", "--", "/bin/true"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if done.returncode != 0:
        return (done.stderr.strip() or f"exit status {done.returncode}").splitlines()[-1]
    return None


def choose_sandbox(
    mode: str,
    *,
    data_dir: Path,
    programs: Iterable[str],
    secrets: Iterable[str] = (),
    network: bool = False,
) -> Sandbox | None:
    """The sandbox the setting asks for: "bubblewrap" (or a StartupError saying why not),
    "auto" (bubblewrap when it works here, else none) or "none"."""
    if mode == "none":
        return None
    bwrap = shutil.which("bwrap")
    why = "bwrap is not installed (Debian: apt-get install bubblewrap)" if bwrap is None else None
    if bwrap is not None:
        why = probe(bwrap)
    if why is not None:
        if mode == "bubblewrap":
            raise StartupError(f"sandbox = bubblewrap, but bubblewrap cannot run here: {why}")
        log.warning("runs are not sandboxed: %s", why)
        return None
    assert bwrap is not None
    return make_sandbox(
        bwrap, data_dir=data_dir, programs=programs, secrets=secrets, network=network
    )
