"""The local executor: runs as process trees of this machine under the MPI launcher."""

from localrun.executor.local.processes import LocalExecutor

__all__ = ["LocalExecutor"]
