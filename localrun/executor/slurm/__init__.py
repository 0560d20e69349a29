"""The Slurm executor: each run is a batch job of a Slurm cluster, submitted from this host."""

from localrun.executor.slurm.jobs import SlurmExecutor
from localrun.executor.slurm.tools import SlurmError, SlurmTools

__all__ = ["SlurmError", "SlurmExecutor", "SlurmTools"]
