"""What the supervisor hands an executor, what it gets back, and the interface every
executor offers (local processes today, Slurm jobs next)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class LaunchRequest:
    """One run to start: the model `executable` under MPI on `cores` ranks, or a shell
    `command`, in work_dir, with the launcher's logs in log_dir."""

    run_id: str
    work_dir: str
    log_dir: str
    cores: int
    walltime_s: int
    env: dict[str, str] = field(default_factory=dict)
    executable: str | None = None
    command: str | None = None

    def __post_init__(self) -> None:
        if (self.executable is None) == (self.command is None):
            raise ValueError("a launch request has an executable or a command, not both")

    @property
    def stdout(self) -> str:
        return f"{self.log_dir}/mpirun.stdout"

    @property
    def stderr(self) -> str:
        return f"{self.log_dir}/mpirun.stderr"

    @property
    def exit_file(self) -> str:
        """Where the launch wrapper writes the model's exit status before it ends."""
        return f"{self.log_dir}/exit_status"

    def record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> LaunchRequest | None:
        """The request a run was launched with; None for a record this version cannot read."""
        try:
            return cls(**{name: record[name] for name in cls.__dataclass_fields__})
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class Exited:
    """The run's processes are gone; exit_code is None when it is not known. A scheduler
    also says how it saw the end (Slurm's "TIMEOUT", "NODE_FAIL"; None for the local
    executor), and why a job it never started was refused."""

    exit_code: int | None
    state: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class Queued:
    """The run waits in a scheduler's queue, for the scheduler's reason ("Resources")."""

    reason: str


@dataclass(frozen=True)
class Sample:
    """What the run's processes use now; None where a backend cannot tell."""

    alive: bool
    processes: int | None = None
    cpu_percent: float | None = None
    rss_bytes: int | None = None


class Executor(Protocol):
    """Every method that waits on the system is async and keeps its work off the event loop.
    A run is known by the opaque reference spawn returns (stored in runs.executor_ref)."""

    @property
    def isolation(self) -> str:
        """What keeps a run from reading or writing what is not its own: "none" or the
        mechanism's name ("bubblewrap")."""
        ...

    def command(self, request: LaunchRequest) -> list[str]:
        """The command line the executor starts for the request, for the run's record."""
        ...

    async def spawn(self, request: LaunchRequest) -> str: ...

    async def adopt(self, ref: str, request: LaunchRequest) -> bool:
        """Take over watching a run spawned before a restart; False when it is gone."""
        ...

    async def find(self, request: LaunchRequest) -> str | None:
        """The reference of a run spawned just before a crash, before its reference was
        stored; None when it never started."""
        ...

    @property
    def counts_cores(self) -> bool:
        """Whether localrun's own core limit decides when a run starts (False: a scheduler
        decides, and every queued run is handed to it at once)."""
        ...

    @property
    def walltime_slack_s(self) -> float:
        """How long after a run's wall-clock limit the supervisor stops it itself: 0 when
        nothing else enforces the limit, more when a scheduler does and should be first."""
        ...

    async def refresh(self, refs: Sequence[str]) -> None:
        """Learn the state of all these runs in one go, before they are polled one by one."""
        ...

    async def poll(self, ref: str) -> Exited | Queued | None:
        """Exited once the run is over, Queued while a scheduler holds it, None while it
        runs."""
        ...

    async def sample(self, ref: str) -> Sample: ...

    async def stop(self, ref: str, grace_s: float) -> None:
        """Ask the run to end, and end it after grace_s; returns once it is gone."""
        ...

    def forget(self, ref: str) -> None: ...

    def on_exit(self, ref: str, callback: Callable[[], None]) -> None:
        """Call back on the event loop as soon as the run's processes may have ended, so that
        the supervisor polls at once rather than at its next tick; a no-op where the executor
        cannot tell (the tick still finds the end)."""
        ...

    def describe(self, ref: str) -> str:
        """The reference in words, for the run's events: "pid 4242", "Slurm job 17"."""
        ...

    async def capacity(self) -> int | None:
        """The most cores one run can get, when a scheduler knows it; None: the cores
        setting."""
        ...

    async def health(self) -> dict[str, Any]:
        """What /healthz shows of the executor: its name and, for a cluster, what it sees."""
        ...
