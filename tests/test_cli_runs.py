"""list, status, stop, rm, prune, logs and download against the real daemon."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import Daemon
from tests.polling import wait_for


@pytest.fixture
def case(daemon: Daemon, tmp_path: Path) -> Path:
    made = tmp_path / "case"
    assert daemon.localrun("example", str(made)).returncode == 0
    return made


def submit(daemon: Daemon, case: Path, *args: str) -> str:
    done = daemon.localrun("submit", str(case), *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1] if "--json" not in args else ""


def ok(daemon: Daemon, *args: str) -> str:
    done = daemon.localrun(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_list_has_a_header_newest_first_and_filters(daemon: Daemon, case: Path) -> None:
    first = submit(daemon, case, "--name", "alpha", "--wait")
    second = submit(daemon, case, "--name", "beta", "--wait")
    out = ok(daemon, "list").splitlines()
    assert out[0].split() == ["ID", "NAME", "STATE", "CORES", "ELAPSED", "PROGRESS", "MODEL"]
    assert out[1].startswith(second) and out[2].startswith(first)
    assert "100.0%" in out[1] and "succeeded" in out[1]
    assert [r["id"] for r in json.loads(ok(daemon, "list", "--name", "alpha", "--json"))] == [first]
    assert len(json.loads(ok(daemon, "list", "--limit", "1", "--json"))) == 1
    assert json.loads(ok(daemon, "list", "--state", "failed", "--json")) == []
    assert len(json.loads(ok(daemon, "list", "--since", "1h", "--json"))) == 2
    every = ok(daemon, "list", "--all", "--data-dir", str(daemon.data_dir)).splitlines()
    assert every[0].split()[-1] == "OWNER" and every[1].split()[-1] == "tester"


def test_status_shows_times_usage_outputs_and_exit_code(daemon: Daemon, case: Path) -> None:
    run_id = submit(daemon, case, "--wait")
    out = ok(daemon, "status", run_id[:8])
    assert out.startswith(run_id)
    assert "elapsed " in out and "exit code 0" in out
    assert "outputs: " in out and "wrfout_d01" in out
    assert "left" not in out.splitlines()[2]


def test_an_ambiguous_prefix_is_refused(daemon: Daemon) -> None:
    made = [daemon.api("POST", "/localrun/v1/runs", {})["id"] for _ in range(17)]
    shared = next(c for c, n in Counter(i[0] for i in made).items() if n > 1)
    done = daemon.localrun("status", shared)
    assert done.returncode == 2 and "ambiguous" in done.stderr


def test_stop_takes_several_ids_or_a_name(daemon: Daemon) -> None:
    a, b, c = (daemon.api("POST", "/localrun/v1/runs", {"name": n})["id"] for n in "xxy")
    out = ok(daemon, "stop", a[:10], c)
    assert f"{a}: stop requested (cancelled)" in out and c in out
    assert b in ok(daemon, "stop", "--name", "x")
    done = daemon.localrun("stop", "--name", "x")
    assert done.returncode == 1 and "no live run" in done.stderr


def test_rm_and_prune(daemon: Daemon, case: Path) -> None:
    live = daemon.api("POST", "/localrun/v1/runs", {})["id"]
    done = daemon.localrun("rm", live)
    assert done.returncode == 1 and "rm --force" in done.stderr
    assert ok(daemon, "rm", "--force", live).strip() == f"{live}: deleted"
    ended = submit(daemon, case, "--wait")
    time.sleep(1.1)  # --older-than 1s counts from the run's end
    dry = ok(daemon, "prune", "--older-than", "1s", "--dry-run")
    assert dry.startswith(f"would delete {ended}")
    assert ok(daemon, "prune", "--older-than", "30d") == ""
    assert ok(daemon, "prune", "--older-than", "1s").startswith(f"deleted {ended}")
    assert json.loads(ok(daemon, "list", "--json")) == []


def test_logs_name_errors_and_json(daemon: Daemon, case: Path) -> None:
    run_id = submit(daemon, case, "--wait")
    assert "Timing for main" in ok(daemon, "logs", run_id)
    chunk = json.loads(ok(daemon, "logs", run_id, "--json"))
    assert chunk["eof"] is True and "Timing for main" in chunk["text"]
    done = daemon.localrun("logs", run_id, "--name", "nope")
    assert done.returncode == 1 and "no log named 'nope'" in done.stderr
    assert "rsl.out.0000" in done.stderr


def test_download(daemon: Daemon, case: Path, tmp_path: Path) -> None:
    run_id = submit(daemon, case, "--wait")
    out = ok(daemon, "download", run_id[:8], "wrfout_*", "-o", str(tmp_path / "got"))
    got = sorted(p.name for p in (tmp_path / "got").iterdir())
    assert got and all(n.startswith("wrfout_d01") for n in got)
    assert len(out.splitlines()) == len(got)
    done = daemon.localrun("download", run_id, "nothing*")
    assert done.returncode == 1 and "no output matching" in done.stderr


def test_queued_status_says_why_it_waits(daemon: Daemon, case: Path, tmp_path: Path) -> None:
    # the first run holds both cores until stopped: the example at the daemon's speed can end
    # before three CLI submits and a status are through on a loaded machine
    holder = tmp_path / "holder"
    holder.mkdir()
    namelist = (case / "namelist.input").read_text()
    (holder / "namelist.input").write_text(namelist + "\n&localrun_simulator\n speed = 0.05,\n/\n")
    (holder / "wrfinput_d01").write_bytes((case / "wrfinput_d01").read_bytes())
    first = submit(daemon, holder, "--cores", "2")
    waiting = submit(daemon, case, "--cores", "2")
    last = submit(daemon, case, "--cores", "1")

    def state(run_id: str) -> str:
        found: str = daemon.api("GET", f"/localrun/v1/runs/{run_id}")["state"]
        return found

    wait_for(lambda: state(first) == "running", timeout=60)
    assert state(waiting) == "queued"
    out = ok(daemon, "status", waiting)
    assert "number 1 in line: waiting for 2 free core(s); 0 of 2 free now" in out, out
    assert "number 2 in line: 1 run(s) ahead of it" in ok(daemon, "status", last)
    assert daemon.api("GET", f"/localrun/v1/runs/{last}")["queue_position"] == 2


def test_on_a_narrow_terminal_ids_are_shortened_to_unique_prefixes() -> None:
    from localrun.cli.runs import short_ids, table

    ids = ["8d4e069f-4978-4e7f-b382-d23abe1efa5e", "8d4e069f-5000-4e7f-b382-d23abe1efa5e"]
    ids.append("12345678-aaaa-4e7f-b382-d23abe1efa5e")
    assert short_ids(ids) == {ids[0]: "8d4e069f-4", ids[1]: "8d4e069f-5", ids[2]: "12345678"}
    runs = [
        {"id": i, "name": "mycase", "state": "succeeded", "cores": 2, "progress": {"percent": 100}}
        for i in ids
    ]
    narrow = table(runs, width=80).splitlines()
    assert all(len(line) <= 80 for line in narrow), narrow
    assert narrow[1].startswith("8d4e069f-4 ")
    assert table(runs).splitlines()[1].startswith(ids[0])  # whole ids into a pipe or a file
