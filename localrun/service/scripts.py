"""Runs of a script from the owner's object store: the script linked into
the run's inputs, run with the configured Python and its arguments, stdout and stderr as one
log, and that log read by line number."""

from __future__ import annotations

import asyncio
import shlex
import shutil
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localrun import files
from localrun.errors import Invalid
from localrun.runs import Run
from localrun.service.objects import Objects
from localrun.service.runs import Runs

LINE_LIMIT = 1 << 20  # a longer "line" is cut there
VENV = "../venv"  # in the run's folder, beside work/, so that it is not an output
WHEELHOUSE = "input/.wheels"  # package_index's wheels, linked read-only, like SNAPSHOT
WHEELS = f"../{WHEELHOUSE}"
# A script run's snapshot of the owner's objects as they were at creation: hard links under
# input/, which the sandbox shows read-only (a link beside work/ would let the run write
# through it into the store itself), named with a dot so that it is not staged into work/.
SNAPSHOT = "input/.store"
SITE_DIRS = "import site, os; print(os.pathsep.join(site.getsitepackages()))"
LINK_BASE = (
    "import sys, sysconfig, pathlib; "
    "pathlib.Path(sysconfig.get_paths()['purelib'], '_localrun_base.pth')"
    ".write_text(sys.argv[1].replace(':', chr(10)))"
)


@dataclass
class _LineIndex:
    starts: list[int] = field(default_factory=lambda: [0])  # byte offset of each line
    scanned: int = 0
    # reads of one log run in worker threads at once (two clients): one scans at a time
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class Script:
    """What a script run executes: a Python script, or a jar's main class, from the owner's
    store (which the run sees, as it was when the run was made, at $LOCALRUN_STORE), with its
    arguments, the PyPI requirements ("name==version") to install into a
    per-run virtual environment, and files from the store (.whl installed, .jar on the class
    path, others beside the script)."""

    uri: str
    args: tuple[str, ...] = ()
    main_class: str = ""
    requirements: tuple[str, ...] = ()
    file_uris: tuple[str, ...] = ()

    @property
    def is_jar(self) -> bool:
        return self.uri.lower().endswith(".jar")


class Scripts(Runs, Objects):
    async def create_script_run(
        self,
        owner: str,
        family: str,
        *,
        name: str,
        script: Script,
        walltime_s: int,
        cores: int,
        extra: dict[str, Any],
        notes: tuple[str, ...] = (),
    ) -> Run:
        """Create the run and queue it at once: a script run starts when it is made. `notes`
        become events of the run."""
        if cores > self.settings.total_cores:
            raise Invalid(
                f"this runtime needs {cores} cores and this host hands out "
                f"{self.settings.total_cores}; choose a smaller runtime"
            )
        staged = [await self._stored(owner, uri) for uri in (script.uri, *script.file_uris)]
        names = [name for name, _ in staged]
        hidden = [name for name in names if name.startswith(".")]
        if hidden:
            raise Invalid(
                f"{hidden[0]}: a run's file name that starts with '.' is not staged into its "
                "work/ directory; rename it"
            )
        if len(set(names)) != len(names):
            raise Invalid(f"two of the run's files have the same name: {sorted(names)}")
        wheelhouse = self._check_packages(script)
        command = self._command(script, names, wheelhouse is not None)
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
        inputs = self.paths(run.id).input
        store = self.objects_root(owner)
        if await asyncio.to_thread(store.is_dir):
            await asyncio.to_thread(files.link_tree, store, self.paths(run.id).root / SNAPSHOT)
        for target, source in staged:
            await asyncio.to_thread(files.link_file, source, inputs / target)
        if wheelhouse is not None:
            await asyncio.to_thread(
                files.link_tree, wheelhouse, self.paths(run.id).root / WHEELHOUSE
            )
        for note in notes:
            await self.store.add_event(run.id, run.state.value, note)
        return await self.start(owner, run.id, cores=cores)

    async def _stored(self, owner: str, uri: str) -> tuple[str, Path]:
        key = self.object_key(owner, uri)
        return files.safe_filename(key.rsplit("/", 1)[-1]), await self.existing_object(owner, key)

    def _check_packages(self, script: Script) -> Path | None:
        """The local wheel folder to stage for the run's installs, if the index is one;
        Invalid when the run needs packages this host may not install."""
        wheels = [u for u in script.file_uris if u.lower().endswith(".whl")]
        if not script.requirements and not wheels:
            return None
        if script.is_jar:
            raise Invalid("Python packages cannot be installed for a jar run")
        index = self.settings.package_index
        wanted = ", ".join([*script.requirements, *(w.rsplit("/", 1)[-1] for w in wheels)])
        if not index:
            raise Invalid(
                f"this run needs packages ({wanted}) and installing packages is not enabled "
                "on this host (set package_index to an index URL or a folder of wheels)"
            )
        if "://" not in index:
            folder = Path(index).expanduser()
            if not folder.is_dir():
                raise Invalid(f"package_index {index} is not a folder of wheels")
            return folder
        if self.isolation != "none" and not self.settings.sandbox_network:
            raise Invalid(
                f"this run needs packages ({wanted}) from {index}, and sandboxed runs have "
                "no network: set sandbox_network = true, or point package_index at a folder "
                "of wheels"
            )
        return None

    def _command(self, script: Script, names: list[str], local_wheels: bool) -> str:
        main, extras = names[0], names[1:]
        if script.is_jar:
            java = shutil.which("java")
            if java is None:
                raise Invalid("a jar run needs java on the host's PATH, and this host has none")
            if not script.main_class:
                raise Invalid("a jar run needs its mainClass")
            path = ":".join([main, *(n for n in extras if n.lower().endswith(".jar"))])
            words = [java, "-cp", path, script.main_class, *script.args]
            return (
                f'exec 2>&1; export LOCALRUN_STORE="$(cd .. && pwd)/{SNAPSHOT}"; exec '
                + shlex.join(words)
            )
        python = self.settings.script_python or sys.executable
        steps = ["exec 2>&1", f'export LOCALRUN_STORE="$(cd .. && pwd)/{SNAPSHOT}"']
        wheels = [n for n in extras if n.lower().endswith(".whl")]
        if script.requirements or wheels:
            steps += self._install_steps(python, [*script.requirements, *wheels], local_wheels)
            python = f"{VENV}/bin/python"
        steps.append("exec " + shlex.join([python, main, *script.args]))
        return "; ".join(steps)

    def _install_steps(self, python: str, wanted: list[str], local_wheels: bool) -> list[str]:
        """Shell steps that make the run's virtual environment (over the interpreter's own
        packages) and install `wanted` into it, failing the run with pip's message."""
        index = self.settings.package_index
        where = ["--no-index", "--find-links", WHEELS] if local_wheels else ["--index-url", index]
        base = shlex.join([python, "-c", SITE_DIRS])
        pip = [python, "-m", "pip", "--python", f"{VENV}/bin/python", "install", "--quiet"]
        pip += ["--disable-pip-version-check", "--no-input", *where, *wanted]
        return [
            f"{shlex.join([python, '-m', 'venv', '--without-pip', VENV])} || exit 97",
            f'{shlex.join([f"{VENV}/bin/python", "-c", LINK_BASE])} "$({base})" || exit 97',
            f"echo {shlex.quote('localrun: installing ' + ' '.join(wanted))}",
            shlex.join(pip) + " || exit 97",
        ]

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
    with handle, index.lock:
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
