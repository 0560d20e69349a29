"""Handler runs: a function called once per tuple of a parameters literal, each call one run of
a job (kind "shell": `python -m localrun.handlers.runner` in the run's sandbox, one core
reserved through the queue, the handler time limit as its wall-clock limit).

What a call prints is its run's stdout and stderr; repr of what it returns is its result; an
exception fails the run with the traceback in stderr."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import logging
import os
import shlex
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import localrun
from localrun import files
from localrun.config import Settings
from localrun.errors import Conflict, NotFound
from localrun.runs import Job, Run, State
from localrun.service.accounts import FieldInvalid
from localrun.service.functions import Functions
from localrun.service.objects import Objects
from localrun.service.runs import Runs
from localrun.service.scripts import SNAPSHOT
from localrun.store import Store
from localrun.supervisor import Supervisor

log = logging.getLogger("localrun.handlers")

PARAMETERS_LIMIT = 64 * 1024  # characters of a parameters literal
MAX_CALLS = 1000  # tuples in one parameters literal
OUTPUT_LIMIT = 1 << 20  # bytes of stdout, stderr or result shown (the end, when longer)
CODE_FILE = "function.py"
EVENT_FILE = "event.txt"
RESULT_FILE = ".handler-result"
RUNNER = "localrun.handlers.runner"
EXAMPLE = "((1,), (2,), (3,))"
PACKAGE_PARENT = Path(localrun.__file__).resolve().parent.parent


def parse_parameters(text: str) -> list[tuple[Any, ...]]:
    """The tuples of a Python literal such as ((1,), (2,)), read by ast.literal_eval (which
    evaluates no name, call or operator but + and - of numbers)."""
    if len(text) > PARAMETERS_LIMIT:
        raise FieldInvalid(
            "parameters", f"Ensure this field has no more than {PARAMETERS_LIMIT} characters."
        )
    if not text.strip():
        raise FieldInvalid("parameters", "This field may not be blank.")
    value = _literal(text.strip())
    if not isinstance(value, tuple | list) or not value:
        raise FieldInvalid(
            "parameters", f"Give a non-empty tuple of tuples such as {EXAMPLE}, one per job."
        )
    if len(value) > MAX_CALLS:
        raise FieldInvalid("parameters", f"Give at most {MAX_CALLS} tuples (one job each).")
    for number, item in enumerate(value, 1):
        if not isinstance(item, tuple):
            raise FieldInvalid(
                "parameters",
                f"Each item must be a tuple, not {type(item).__name__}: write ((1, 2),) for "
                f"one job called with (1, 2), or {EXAMPLE} for three.",
            )
        _check_round_trip(number, item)
    return list(value)


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except ValueError as exc:
        if str(exc).startswith("malformed node"):  # a name, a call, an operator
            reason = "only literals: no names, calls or operators"
        else:
            reason = str(exc).split(";")[0][:200]
    except (SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        reason = str(exc).split(";")[0].splitlines()[0][:200] if str(exc) else type(exc).__name__
    raise FieldInvalid(
        "parameters", f"Not a Python literal ({reason}): give a tuple of tuples such as {EXAMPLE}."
    )


def _check_round_trip(number: int, item: tuple[Any, ...]) -> None:
    """A job reads its tuple back from repr(tuple) (EVENT_FILE), so a value whose repr is no
    literal (1e999 is inf) or cannot be written (an int of more than 4300 digits) is refused
    here rather than failing the job."""
    try:
        ast.literal_eval(repr(item))
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise FieldInvalid(
            "parameters",
            f"tuple {number} holds a value a job cannot be given: infinite numbers (such as "
            "1e999) and integers of more than 4300 digits cannot be passed.",
        ) from None


def runner_command() -> str:
    """The call, with $LOCALRUN_STORE naming the owner's stored objects as they were when the
    run was made (a case to copy, for instance): hard links under input/, which the sandbox
    shows read-only, so that the call cannot write through them into the store."""
    words = [sys.executable, "-u", "-m", RUNNER, CODE_FILE, EVENT_FILE, RESULT_FILE]
    store = f'export LOCALRUN_STORE="$(cd .. && pwd)/{SNAPSHOT}"'
    # The daemon's own localrun (which the sandbox shows), however the daemon found it.
    path = f"export PYTHONPATH={shlex.quote(str(PACKAGE_PARENT))}"
    return f"{store}; {path}; exec " + " ".join(shlex.quote(w) for w in words)


def _write_whole(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(text, encoding="utf-8", errors="surrogatepass")
    os.replace(tmp, path)


def _tail_text(path: Path, limit: int = OUTPUT_LIMIT) -> str | None:
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - limit))
            data = handle.read(limit)
    except FileNotFoundError:
        return None
    return data.decode("utf-8", "replace")


class Handlers(Runs, Objects, Functions):
    def __init__(self, settings: Settings, store: Store, supervisor: Supervisor) -> None:
        super().__init__(settings, store, supervisor)
        self._making: set[str] = set()  # handler jobs create_handler_job is making now
        self._settled: set[tuple[str, str]] = set()  # (owner, family) settled since start
        self._settling = asyncio.Lock()

    def being_made(self, job_id: str) -> bool:
        """Whether create_handler_job is making the job now: until it answers, the job is no
        client's to see or delete (its runs are not all there yet)."""
        return job_id in self._making

    async def settle_interrupted_jobs(self, owner: str, family: str) -> None:
        """Remove, once per daemon start and owner, the handler jobs whose making was cut
        short by the daemon's death (runs still ready, or fewer runs than tuples): the client
        never got their 201, so they are rolled back as a failed create is, live runs
        stopped first. Jobs this daemon is making are left alone."""
        if (owner, family) in self._settled:
            return
        async with self._settling:
            if (owner, family) in self._settled:
                return
            for job in await self.store.list_jobs(owner, family):
                if "function" not in job.spec or job.id in self._making:
                    continue
                runs = await self.store.job_runs(job.id)
                if len(runs) < job.size or any(r.state == State.READY for r in runs):
                    log.warning(
                        "handler job %s of %s was cut short while being made (%d of %d "
                        "runs, some never started): removing it",
                        job.id,
                        owner,
                        len(runs),
                        job.size,
                    )
                    await self.remove_job(owner, job.id)
            self._settled.add((owner, family))

    async def settle_at_start(self) -> None:
        """settle_interrupted_jobs for every owner, before the daemon serves anyone."""
        for owner, family in await self.store.job_owners():
            await self.settle_interrupted_jobs(owner, family)

    async def create_handler_job(
        self,
        owner: str,
        family: str,
        *,
        function_id: str,
        parameters: str,
        spec: dict[str, Any],
    ) -> tuple[Job, list[Run]]:
        """A job of one run per tuple, each queued at once; nothing is left when any part
        fails."""
        events = parse_parameters(parameters)
        try:
            function = await self.get_function(owner, function_id)
        except NotFound:
            raise FieldInvalid("function", f"There is no function {function_id}.") from None
        job_id = str(uuid.uuid4())
        job = Job(
            job_id,
            owner,
            family,
            function["name"],
            {
                **spec,
                "function": function["id"],
                "function_name": function["name"],
                "parameters": parameters,
            },
            time.time(),
            len(events),
        )
        made: list[Run] = []
        objects = self.objects_root(owner)
        self._making.add(job_id)
        try:
            job = await self.store.insert_job(job)
            for index, event in enumerate(events, 1):
                run = await self.create_run(
                    owner,
                    family,
                    name=f"{function['name']} (job {index})",
                    model="python",
                    version=sys.version.split()[0],
                    cores=1,
                    walltime_s=self.settings.handler_timeout_s,
                    kind="shell",
                    command=runner_command(),
                    extra={"event": repr(event)},
                    job=(job_id, index),
                )
                made.append(run)
                inputs = self.paths(run.id).input
                await asyncio.to_thread(_write_whole, inputs / CODE_FILE, function["code"])
                await asyncio.to_thread(_write_whole, inputs / EVENT_FILE, repr(event))
                if await asyncio.to_thread(objects.is_dir):
                    root = self.paths(run.id).root
                    await asyncio.to_thread(files.link_tree, objects, root / SNAPSHOT)
            for run in made:
                await self.start(owner, run.id)
        except BaseException:
            for run in made:
                if not run.terminal:
                    await self._cancel_quietly(owner, run.id)
            await self.store.delete_job(job_id)
            for run in made:
                files.remove_tree(self.paths(run.id).root)
            raise
        finally:
            self._making.discard(job_id)
        return job, await self.store.job_runs(job_id)

    async def _cancel_quietly(self, owner: str, run_id: str) -> None:
        try:
            await self.stop(owner, run_id, "job creation failed")
            await self.wait_terminal(owner, run_id, self.settings.stop_grace_s + 10)
        except (Conflict, NotFound):
            pass

    async def handler_output(self, run: Run) -> dict[str, str | None]:
        """What the call printed (the end, at most OUTPUT_LIMIT bytes each) and repr of what it
        returned (None until it has returned)."""
        paths = self.paths(run.id)
        return {
            "stdout": await asyncio.to_thread(_tail_text, paths.logs / "mpirun.stdout"),
            "stderr": await asyncio.to_thread(_tail_text, paths.logs / "mpirun.stderr"),
            "result": await asyncio.to_thread(_tail_text, paths.work / RESULT_FILE),
        }

    async def remove_job(self, owner: str, job_id: str) -> None:
        """Stop the job's live runs (the whole tree, SIGKILL after the grace), then remove the
        job, its runs and their directories."""
        job = await self.store.get_job(job_id, owner)
        if job is None or self.being_made(job_id):
            raise NotFound(f"no job {job_id}")
        runs = await self.store.job_runs(job_id)
        for run in runs:
            if not run.terminal:
                with contextlib.suppress(Conflict):  # it ended meanwhile
                    await self.stop(owner, run.id, "stopped by delete")
        limit = self.settings.stop_grace_s + 10
        for run in runs:
            ended = await self.wait_terminal(owner, run.id, limit)
            if not ended.terminal:
                raise Conflict(f"run {run.id} of job {job_id} is still stopping; try again")
        await self.store.delete_job(job_id)
        for run in runs:
            await asyncio.to_thread(files.remove_tree, self.paths(run.id).root)
