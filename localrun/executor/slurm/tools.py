"""Slurm's commands, run with a time limit; a failure raises SlurmError with Slurm's words."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

TOOL_TIMEOUT_S = 60.0


class SlurmError(RuntimeError):
    """A Slurm command failed; the message is what it said (its "error: " prefixes removed)."""


class SlurmUnreachable(SlurmError):
    """Slurm gave no answer: its command is missing or timed out, or it could not reach the
    controller (or munge). Nothing can be concluded about any job from it."""


# What Slurm's commands say when they never got an answer from slurmctld (slurm_errno.c).
NO_ANSWER = (
    "unable to contact slurm controller",
    "socket timed out",
    "zero bytes were transmitted",
    "communication connection failure",
    "connection refused",
    "authentication error",
    "munge",
    "in the process of shutting down",
)


@dataclass(frozen=True)
class SlurmTools:
    """Where each Slurm command is."""

    sbatch: str = "sbatch"
    squeue: str = "squeue"
    scancel: str = "scancel"
    sacct: str = "sacct"
    scontrol: str = "scontrol"
    sinfo: str = "sinfo"


def run_tool(argv: list[str], env: Mapping[str, str] | None = None) -> str:
    """The command's stdout; SlurmError when it cannot run, times out or fails."""
    try:
        done = subprocess.run(
            argv,
            env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        raise SlurmUnreachable(f"{argv[0]}: not found (is Slurm installed here?)") from None
    except OSError as exc:
        raise SlurmUnreachable(f"{argv[0]}: {exc}") from None
    except subprocess.TimeoutExpired:
        raise SlurmUnreachable(f"{argv[0]} did not answer within {TOOL_TIMEOUT_S:.0f} s") from None
    if done.returncode != 0:
        said = slurm_message(done.stderr) or f"{argv[0]} exited {done.returncode}"
        if any(words in said.lower() for words in NO_ANSWER):
            raise SlurmUnreachable(said)
        raise SlurmError(said)
    return done.stdout


def slurm_message(stderr: str) -> str:
    """'sbatch: error: Batch job submission failed: Invalid partition name specified' ->
    'Batch job submission failed: Invalid partition name specified'; lines joined by '; '."""
    lines = []
    for line in stderr.splitlines():
        text = line.strip()
        for prefix in ("error:", "fatal:"):
            head, sep, rest = text.partition(prefix)
            if sep and " " not in head.strip().rstrip(":"):
                text = rest.strip()
                break
        if text:
            lines.append(text)
    return "; ".join(lines)
