"""Running Slurm's commands: their own words on failure."""

from __future__ import annotations

import pytest

from localrun.executor.slurm.tools import SlurmError, run_tool, slurm_message


def test_slurm_message_drops_the_prefixes() -> None:
    stderr = (
        "sbatch: error: invalid partition specified: nope\n"
        "sbatch: error: Batch job submission failed: Invalid partition name specified\n"
    )
    assert slurm_message(stderr) == (
        "invalid partition specified: nope; "
        "Batch job submission failed: Invalid partition name specified"
    )


def test_failures_raise_with_what_was_said() -> None:
    with pytest.raises(SlurmError, match="not found"):
        run_tool(["/nonexistent/sbatch"])
    with pytest.raises(SlurmError, match="boom"):
        run_tool(["/bin/sh", "-c", "echo 'x: error: boom' >&2; exit 1"])
    assert run_tool(["/bin/echo", "17"]) == "17\n"
