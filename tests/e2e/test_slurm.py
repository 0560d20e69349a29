"""The daemon with executor = slurm on the real one-node cluster (scripts/slurm-up): the CLI,
Rescale and Cloudrun clients, stop, Slurm's TIMEOUT, a restart, jobs Slurm refuses, and Slurm
not answering for a while."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psutil
import pytest
import rescalepy.client as rc
from rescalepy import Client

from localrun.executor.slurm import SlurmTools
from tests.api.test_cloudrun_flow import case as cloudrun_case
from tests.api.test_cloudrun_flow import poll as cloudrun_poll
from tests.api.test_cloudrun_flow import prepared
from tests.api.test_rescale_flow import case as rescale_case
from tests.conftest import Daemon
from tests.executor.slurm.test_jobs import outage as switched_tools
from tests.polling import wait_for

TERMINAL = {"succeeded", "failed", "cancelled", "timed_out", "lost"}


@pytest.fixture
def daemon_env(slurm: None, request: pytest.FixtureRequest) -> dict[str, str]:
    env = {"LOCALRUN_EXECUTOR": "slurm", "LOCALRUN_CORES": "0"}
    if "outage" in request.fixturenames:  # Slurm's commands behind the outage switch
        tools: SlurmTools = request.getfixturevalue("outage")[0]
        for name, path in asdict(tools).items():
            env[f"LOCALRUN_SLURM_{name.upper()}"] = path
    return env


@pytest.fixture
def outage(tmp_path: Path) -> tuple[SlurmTools, Path]:
    """Slurm's commands as the daemon runs them; while the Path exists they fail as they do
    with slurmctld down, and each refused scancel adds a line to tmp_path/scancel-refused."""
    tools, down = switched_tools(tmp_path)
    scancel = Path(tools.scancel)
    refused = tmp_path / "scancel-refused"
    script = scancel.read_text().replace("  exit 1\n", f'  echo "$*" >> {refused}\n  exit 1\n', 1)
    assert str(refused) in script, script
    scancel.write_text(script)
    return tools, down


def squeue(job: str) -> str:
    out = subprocess.run(
        ["squeue", "--noheader", f"--jobs={job}", "--format=%T"], capture_output=True, text=True
    )
    return out.stdout.strip()


def scontrol_job(job: str) -> dict[str, str]:
    """`scontrol show job`'s KEY=VALUE fields."""
    out = subprocess.run(
        ["scontrol", "--oneliner", "show", "job", job], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return dict(field.split("=", 1) for field in out.stdout.split() if "=" in field)


def submit(daemon: Daemon, folder: Path, *args: str) -> dict[str, Any]:
    out = daemon.localrun("submit", str(folder), "--json", *args)
    assert out.returncode == 0, out.stderr
    run: dict[str, Any] = json.loads(out.stdout)
    return run


def get(daemon: Daemon, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = daemon.api("GET", f"/localrun/v1/runs/{run_id}?events=true")
    return run


def until(daemon: Daemon, run_id: str, states: set[str], timeout: float = 120) -> dict[str, Any]:
    return wait_for(lambda: (r := get(daemon, run_id))["state"] in states and r, timeout=timeout)


def job_of(run: dict[str, Any]) -> str:
    """The Slurm job id, from the run's events."""
    for event in run["events"]:
        if "Slurm job " in event["message"]:
            found: str = event["message"].split("Slurm job ", 1)[1].split(";")[0]
            return found.split(":")[0].strip()
    raise AssertionError(f"no Slurm job in {run['events']}")


def example(daemon: Daemon, folder: Path) -> Path:
    assert daemon.localrun("example", str(folder)).returncode == 0
    return folder


def ranks_in(work_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cwd"]):
        if (proc.info.get("cwd") or "").startswith(str(work_dir)):
            found.append(proc)
    return found


def test_the_example_queues_behind_a_first_job_then_runs_with_progress(
    daemon: Daemon, tmp_path: Path
) -> None:
    case = example(daemon, tmp_path / "case")
    holder = rescale_case(tmp_path / "long", minutes=600)  # holds the node until stopped
    first = submit(daemon, holder, "--cores", "2", "--name", "first")
    until(daemon, first["id"], {"running"})
    watching = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "localrun",
            "submit",
            str(case),
            "--cores",
            "2",
            "--watch",
            "--json",
        ],
        env=daemon.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def waiting() -> dict[str, Any] | None:
        queued = [
            r for r in daemon.api("GET", "/localrun/v1/runs")["runs"] if r["id"] != first["id"]
        ]
        reason = str(queued[0].get("queue_reason") or "") if queued else ""
        # Slurm's first answer may say only "Pending"; its reason follows at a later poll
        return queued[0] if reason.endswith((": Resources", ": Priority")) else None

    second = wait_for(waiting, timeout=60)
    assert second["state"] == "queued"
    assert daemon.localrun("stop", first["id"]).returncode == 0
    stdout, stderr = watching.communicate(timeout=180)
    out = subprocess.CompletedProcess(watching.args, watching.returncode, stdout, stderr)
    assert out.returncode == 0, out.stderr
    run = get(daemon, json.loads(out.stdout)["id"])
    assert run["state"] == "succeeded"
    assert "100.0%" in out.stderr and "left" in out.stderr
    states = [e["state"] for e in run["events"]]
    assert states[-3:] == ["queued", "running", "succeeded"]
    waits = [e["message"] for e in run["events"] if "waiting in the queue" in e["message"]]
    assert any(m.endswith((": Resources", ": Priority")) for m in waits), waits
    assert until(daemon, first["id"], TERMINAL)["state"] == "cancelled"
    health = daemon.api("GET", "/healthz")
    assert health["executor"]["name"] == "slurm"
    assert health["executor"]["cluster"]["partitions"][0]["cores_per_node"] >= 2
    assert health["cores"]["total"] == health["executor"]["cluster"]["partitions"][0]["total_cores"]


def test_a_rescale_job_and_a_cloudrun_run_on_slurm(
    daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rc, "ENDPOINT", f"{daemon.url}/api/v2/")
    rescale = Client(daemon.token)
    folder = rescale_case(tmp_path / "rescale", minutes=24)
    files = [rescale.upload(folder / "namelist.input"), rescale.upload(folder / "wrfinput_d01")]
    job = rescale.create_job(
        name="on-slurm",
        software_code="wrf",
        input_files=files,
        command="mpirun -np 2 wrf.exe",
        version="4.5",
        core_type="onyx",
        n_cores=2,
    )
    assert rescale.submit_job(job) is True
    rescale.wait_for_job(job, interval=0.5)
    status = rescale.get_job_status(job)[0]
    assert (status["status"], status["statusReason"]) == ("Completed", "Completed successfully")

    run = prepared(daemon, cloudrun_case(tmp_path, minutes=30))
    run.start(cores=2)
    cloudrun_poll(run, until=lambda r: r.status in {"done", "error", "stopped"})
    assert run.status == "done", run.error
    assert run.percent_complete == 100
    for state in daemon.api("GET", "/localrun/v1/runs")["runs"]:
        messages = " ".join(e["message"] for e in get(daemon, state["id"])["events"])
        assert "Slurm job" in messages


def test_stop_cancels_the_job_and_leaves_no_rank(daemon: Daemon, tmp_path: Path) -> None:
    case = example(daemon, tmp_path / "case")
    run = submit(daemon, case, "--cores", "2")
    running = until(daemon, run["id"], {"running"})
    job = job_of(running)
    assert squeue(job) == "RUNNING"
    stop = daemon.localrun("stop", run["id"])
    assert stop.returncode == 0, stop.stderr
    grace = float(daemon.env["LOCALRUN_STOP_GRACE_S"])
    assert until(daemon, run["id"], TERMINAL, timeout=grace + 30)["state"] == "cancelled"
    work = daemon.data_dir / "runs" / run["id"] / "work"
    wait_for(lambda: squeue(job) in {"", "CANCELLED", "COMPLETED", "FAILED"}, timeout=grace + 5)
    wait_for(lambda: not ranks_in(work), timeout=grace + 5)


SLOW = {"LOCALRUN_EXECUTOR": "slurm", "LOCALRUN_WALLTIME_S": "60", "LOCALRUN_SIM_SPEED": "1"}


@pytest.mark.parametrize("daemon_env", [SLOW])
def test_a_one_minute_wall_time_ends_timed_out_by_slurm(
    slurm: None, daemon: Daemon, tmp_path: Path
) -> None:
    case = rescale_case(tmp_path / "case", minutes=1200)  # far more than a minute of work
    run = submit(daemon, case, "--cores", "2")
    job = job_of(until(daemon, run["id"], {"running"}))
    shown = scontrol_job(job)
    assert shown["TimeLimit"] == "00:01:00", shown  # the daemon asked Slurm for one minute
    # Slurm's time limits are whole minutes, and slurmctld checks them every 30 s: rather than
    # wait out the minute, the limit's end is brought forward (a lower limit, as an admin or the
    # job's owner may set it). Slurm's own check still ends the job, with its TIMEOUT.
    moved = subprocess.run(
        ["scontrol", "update", f"JobId={job}", "EndTime=now+1"], capture_output=True, text=True
    )
    assert moved.returncode == 0, moved.stderr
    ended = until(daemon, run["id"], TERMINAL, timeout=120)
    assert ended["state"] == "timed_out"
    assert "TIMEOUT" in ended["error"]["message"]
    assert "TIMEOUT" in ended["events"][-1]["message"]


def test_kill_9_with_one_job_running_and_one_pending_then_both_succeed(
    daemon: Daemon, tmp_path: Path
) -> None:
    long = rescale_case(tmp_path / "long", minutes=120)  # still running across the restart
    first = submit(daemon, long, "--cores", "2")
    until(daemon, first["id"], {"running"})
    second = submit(daemon, example(daemon, tmp_path / "case"), "--cores", "2")
    until(daemon, second["id"], {"queued"})
    wait_for(lambda: any("Slurm job" in e["message"] for e in get(daemon, second["id"])["events"]))
    daemon.kill(signal.SIGKILL)
    daemon.start()
    for run in (first, second):
        ended = until(daemon, run["id"], TERMINAL, timeout=180)
        assert ended["state"] == "succeeded", ended["events"]
        assert [e["state"] for e in ended["events"]].count("succeeded") == 1


def test_jobs_slurm_refuses_fail_at_start_with_its_message(daemon: Daemon, tmp_path: Path) -> None:
    case = example(daemon, tmp_path / "case")
    refused = daemon.localrun("submit", str(case), "--cores", "4")
    assert refused.returncode == 2 and "the cluster has 2 cores" in refused.stderr, refused.stderr
    assert "oversubscribe" not in refused.stderr  # Slurm refuses that anyway
    run = submit(daemon, case, "--cores", "4", "--oversubscribe")  # past the CLI's own check
    failed = until(daemon, run["id"], TERMINAL, timeout=60)
    assert failed["state"] == "failed"
    assert failed["error"]["code"] == "launch"
    assert "More processors requested than permitted" in failed["error"]["message"]


@pytest.mark.parametrize(
    "daemon_env", [{"LOCALRUN_EXECUTOR": "slurm", "LOCALRUN_SLURM_PARTITION": "nope"}]
)
def test_an_unknown_partition_fails_at_start(slurm: None, daemon: Daemon, tmp_path: Path) -> None:
    run = submit(daemon, example(daemon, tmp_path / "case"), "--cores", "1")
    failed = until(daemon, run["id"], TERMINAL, timeout=60)
    assert failed["state"] == "failed"
    assert "Invalid partition name specified" in failed["error"]["message"]


def test_a_job_that_ended_while_the_daemon_was_down_is_decided_once(
    daemon: Daemon, tmp_path: Path
) -> None:
    run = submit(daemon, example(daemon, tmp_path / "case"), "--cores", "2")
    job = job_of(until(daemon, run["id"], {"running"}))
    daemon.kill(signal.SIGKILL)
    wait_for(lambda: squeue(job) in {"COMPLETED", ""}, timeout=120)
    daemon.start()
    ended = until(daemon, run["id"], TERMINAL, timeout=60)
    assert ended["state"] == "succeeded", ended["events"]
    assert ended["progress"]["percent"] == 100.0
    assert [e["state"] for e in ended["events"]].count("succeeded") == 1
    daemon.kill(signal.SIGTERM)
    daemon.start()  # and a second restart decides nothing again
    again = get(daemon, run["id"])
    assert [e["state"] for e in again["events"]].count("succeeded") == 1


def test_while_slurm_does_not_answer_runs_go_on_and_a_stop_waits_for_it(
    daemon: Daemon, tmp_path: Path, outage: tuple[SlurmTools, Path]
) -> None:
    down = outage[1]
    long = rescale_case(tmp_path / "long", minutes=600)
    run = submit(daemon, long, "--cores", "2")
    job = job_of(until(daemon, run["id"], {"running"}))
    down.touch()
    seen = get(daemon, run["id"])["progress"]["percent"]

    def noticed() -> dict[str, Any] | None:
        started = time.monotonic()
        health: dict[str, Any] = daemon.api("GET", "/healthz")
        # a liveness bound, not a speed: the answer comes from what was last seen, while a
        # wait on the Slurm that does not answer would last its tools' timeout
        assert time.monotonic() - started < 20
        return health if "error" in health["executor"] else None

    health = wait_for(noticed, timeout=10)
    assert "Slurm does not answer" in health["executor"]["error"], health
    assert health["executor"]["cluster"]["nodes"] == 1
    # WRF's logs still show its progress; nothing is decided without Slurm
    wait_for(lambda: get(daemon, run["id"])["progress"]["percent"] > seen, timeout=30)
    assert daemon.localrun("stop", run["id"]).returncode == 0
    # a stop cannot get through while Slurm does not answer: scancel is refused, and tried again
    refused = tmp_path / "scancel-refused"
    wait_for(lambda: refused.exists() and len(refused.read_text().splitlines()) >= 2, timeout=30)
    assert get(daemon, run["id"])["state"] == "running" and squeue(job) == "RUNNING"
    down.unlink()
    assert until(daemon, run["id"], TERMINAL, timeout=60)["state"] == "cancelled"
    assert squeue(job) != "RUNNING"
    assert "error" not in daemon.api("GET", "/healthz")["executor"]
    log = "".join(p.read_text() for p in daemon.data_dir.glob("daemon-*.log"))
    assert "Slurm does not answer" in log and "Slurm answers again" in log
    assert "supervisor tick failed" not in log
