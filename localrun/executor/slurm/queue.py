"""What squeue, sacct and scontrol say of jobs, and what their states mean to localrun."""

from __future__ import annotations

from dataclasses import dataclass

SQUEUE_FORMAT = "%i|%T|%r|%j|%Z"
SACCT_FIELDS = "JobID,State,ExitCode,JobName"

WAITING = frozenset({"PENDING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "RESV_DEL_HOLD"})
ENDED = frozenset(
    {
        "COMPLETED",
        "FAILED",
        "TIMEOUT",
        "CANCELLED",
        "NODE_FAIL",
        "PREEMPTED",
        "OUT_OF_MEMORY",
        "BOOT_FAIL",
        "DEADLINE",
        "REVOKED",
        "SPECIAL_EXIT",
    }
)
# Pending reasons that no amount of waiting clears: the job is refused, not queued.
HOPELESS = frozenset(
    {
        "BadConstraints",
        "PartitionConfig",
        "PartitionNodeLimit",
        "PartitionTimeLimit",
        "InvalidAccount",
        "InvalidQOS",
    }
)


@dataclass(frozen=True)
class JobStatus:
    """One job as Slurm reports it. Every other state (RUNNING, CONFIGURING, COMPLETING,
    SUSPENDED, ...) counts as running: the job holds its allocation."""

    job_id: str
    state: str
    reason: str = ""
    name: str = ""
    work_dir: str = ""
    exit_code: int | None = None

    @property
    def waiting(self) -> bool:
        return self.state in WAITING

    @property
    def ended(self) -> bool:
        return self.state in ENDED

    @property
    def hopeless(self) -> bool:
        return self.waiting and self.reason in HOPELESS


def base_state(state: str) -> str:
    """'CANCELLED by 0' -> 'CANCELLED'."""
    return state.split(" ", 1)[0].strip().upper()


def parse_squeue(text: str) -> dict[str, JobStatus]:
    """squeue --noheader --format=SQUEUE_FORMAT output, by job id."""
    found: dict[str, JobStatus] = {}
    for line in text.splitlines():
        parts = line.strip().split("|")
        if len(parts) < 5 or not parts[0]:
            continue
        job, state, reason, name = parts[0], base_state(parts[1]), parts[2], parts[3]
        found[job] = JobStatus(job, state, "" if reason == "None" else reason, name, parts[4])
    return found


def exit_code(field: str) -> int | None:
    """sacct's and scontrol's 'code:signal' as Popen reports it (-N for signal N)."""
    code, _, sig = field.partition(":")
    try:
        status, signum = int(code), int(sig or 0)
    except ValueError:
        return None
    return -signum if signum else status


def parse_sacct(text: str) -> dict[str, JobStatus]:
    """sacct --parsable2 --noheader --allocations --format=SACCT_FIELDS output, by job id."""
    found: dict[str, JobStatus] = {}
    for line in text.splitlines():
        parts = line.strip().split("|")
        if len(parts) < 4 or not parts[0] or "." in parts[0]:
            continue
        job, state = parts[0], base_state(parts[1])
        found[job] = JobStatus(job, state, name=parts[3], exit_code=exit_code(parts[2]))
    return found


def parse_scontrol(text: str) -> JobStatus | None:
    """scontrol --oneliner show job <id> output."""
    fields: dict[str, str] = {}
    for item in text.split():
        key, sep, value = item.partition("=")
        if sep:
            fields.setdefault(key, value)
    if "JobId" not in fields or "JobState" not in fields:
        return None
    reason = fields.get("Reason", "")
    return JobStatus(
        fields["JobId"],
        base_state(fields["JobState"]),
        "" if reason == "None" else reason,
        fields.get("JobName", ""),
        fields.get("WorkDir", ""),
        exit_code(fields.get("ExitCode", "")),
    )
