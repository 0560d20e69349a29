"""squeue, sacct and scontrol output as the executor reads it."""

from __future__ import annotations

from localrun.executor.slurm.queue import exit_code, parse_sacct, parse_scontrol, parse_squeue


def test_squeue_lines_become_statuses() -> None:
    text = "17|PENDING|Resources|r1|/w\n18|RUNNING|None|r2|/x\n19|CANCELLED by 0|None|r3|/y\n"
    found = parse_squeue(text)
    assert found["17"].waiting and found["17"].reason == "Resources"
    assert not found["18"].waiting and not found["18"].ended and found["18"].reason == ""
    assert found["19"].ended and found["19"].state == "CANCELLED"
    assert parse_squeue("garbage\n") == {}


def test_a_reason_that_never_clears_is_hopeless() -> None:
    assert parse_squeue("5|PENDING|PartitionConfig|r|/w")["5"].hopeless
    assert not parse_squeue("5|PENDING|Priority|r|/w")["5"].hopeless


def test_exit_codes_as_popen_reports_them() -> None:
    assert exit_code("3:0") == 3
    assert exit_code("0:9") == -9
    assert exit_code("") is None


def test_sacct_and_scontrol() -> None:
    sacct = parse_sacct("7|TIMEOUT|0:15|r1\n7.batch|CANCELLED|0:15|batch\n")
    assert list(sacct) == ["7"] and sacct["7"].state == "TIMEOUT" and sacct["7"].exit_code == -15
    job = parse_scontrol(
        "JobId=9 JobName=r1 JobState=COMPLETED Reason=None ExitCode=0:0 WorkDir=/w"
    )
    assert job is not None and (job.state, job.exit_code, job.work_dir) == ("COMPLETED", 0, "/w")
    assert parse_scontrol("slurm_load_jobs error") is None
