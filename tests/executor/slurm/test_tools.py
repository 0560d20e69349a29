"""Running Slurm's commands: their own words on failure."""

from __future__ import annotations

import pytest

from localrun.executor.slurm.tools import SlurmError, SlurmUnreachable, run_tool, slurm_message


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


def test_no_answer_is_told_apart_from_an_answer() -> None:
    down = "echo 'squeue: error: Unable to contact slurm controller (connect failure)' >&2"
    with pytest.raises(SlurmUnreachable, match="connect failure"):
        run_tool(["/bin/sh", "-c", f"{down}; exit 1"])
    with pytest.raises(SlurmUnreachable, match="not found"):
        run_tool(["/nonexistent/squeue"])
    refused = "echo 'slurm_load_jobs error: Invalid job id specified' >&2; exit 1"
    with pytest.raises(SlurmError) as raised:
        run_tool(["/bin/sh", "-c", refused])
    assert not isinstance(raised.value, SlurmUnreachable)
