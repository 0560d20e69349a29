"""The interface every executor offers the supervisor."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class LaunchSpec:
    argv: list[str]
    cwd: str
    stdout: str
    stderr: str
    env: dict[str, str] = field(default_factory=dict)
    cores: int = 1

    def record(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Handle:
    pid: int
    create_time: float


@dataclass(frozen=True)
class TreeSample:
    alive: bool
    processes: int = 0
    cpu_percent: float = 0.0
    rss_bytes: int = 0


@dataclass(frozen=True)
class Exited:
    """The process is gone; exit_code is None when it was not our child (adopted)."""

    exit_code: int | None


class Executor(Protocol):
    def spawn(self, spec: LaunchSpec) -> Handle: ...

    def adopt(self, handle: Handle, argv: list[str]) -> bool: ...

    def find(self, argv: list[str], cwd: str) -> Handle | None: ...

    def poll(self, handle: Handle) -> Exited | None: ...

    def sample(self, handle: Handle) -> TreeSample: ...

    async def stop(self, handle: Handle, grace_s: float) -> None: ...

    def forget(self, handle: Handle) -> None: ...
