"""Executors start runs and watch their processes; the supervisor speaks only this interface.
A new backend is a subpackage next to local/."""

from localrun.executor.base import Executor, Exited, LaunchRequest, Queued, Sample

__all__ = ["Executor", "Exited", "LaunchRequest", "Queued", "Sample"]
