"""How a run becomes processes. The local executor now; a scheduler (Slurm) later."""

from localrun.executor.base import Executor, Exited, Handle, LaunchSpec, TreeSample

__all__ = ["Executor", "Exited", "Handle", "LaunchSpec", "TreeSample"]
