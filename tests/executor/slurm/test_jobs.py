"""What the Slurm executor adds to the contract, on the real cluster: the cluster it sees, and
jobs Slurm has never heard of."""

from __future__ import annotations

import os

from localrun.executor import Exited
from localrun.executor.slurm import SlurmExecutor, SlurmTools
from localrun.executor.slurm.script import JobOptions


async def test_health_and_capacity_come_from_sinfo(slurm: None) -> None:
    executor = SlurmExecutor(SlurmTools(), JobOptions())
    try:
        health = await executor.health()
        part = health["cluster"]["partitions"][0]
        assert health["name"] == "slurm" and part["cores_per_node"] == os.cpu_count()
        assert await executor.capacity() == part["cores_per_node"] * part["nodes"]
        assert not executor.counts_cores and executor.isolation == "none"
    finally:
        executor.close()


async def test_a_job_slurm_never_knew_has_ended_with_no_status(slurm: None) -> None:
    executor = SlurmExecutor(SlurmTools(), JobOptions())
    try:
        await executor.refresh(["99999999"])
        assert await executor.poll("99999999") == Exited(None, None)
    finally:
        executor.close()


async def test_a_missing_sinfo_is_reported_not_raised() -> None:
    executor = SlurmExecutor(SlurmTools(sinfo="/nonexistent/sinfo"), JobOptions())
    try:
        health = await executor.health()
        assert health["cluster"] is None and "not found" in health["error"]
        assert await executor.capacity() is None
    finally:
        executor.close()
