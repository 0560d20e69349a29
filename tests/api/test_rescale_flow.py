"""rescalepy itself, and plain requests, against the real daemon running the simulator."""

from __future__ import annotations

import http.client
import io
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
import rescalepy.client as rc
from rescalepy import Client
from rescalepy.batch import BatchRunner

from tests.conftest import EXAMPLE, Daemon, running_daemon
from tests.polling import wait_for


class AnyDate:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.endswith("Z") and other[:4].isdigit()


ANY_DATE = AnyDate()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One daemon for the module: each test makes and reads its own jobs, and every run it
    starts ends or is stopped."""
    with running_daemon(tmp_path_factory.mktemp("rescale"), {}) as d:
        yield d


@pytest.fixture
def rescale(daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    monkeypatch.setattr(rc, "ENDPOINT", f"{daemon.url}/api/v2/")
    yield Client(daemon.token)


def case(folder: Path, minutes: int, history_minutes: int = 10, ics: bool = False) -> Path:
    """The example case for `minutes` of model time; wrfinput_d01 in ics/ when ics is set."""
    folder.mkdir(parents=True)
    lines = []
    for line in (EXAMPLE / "namelist.input").read_text().splitlines():
        key = line.strip().split("=")[0].strip().lower()
        if key == "run_minutes":
            line = f" run_minutes = {minutes},"
        elif key == "history_interval":
            line = f" history_interval = {history_minutes}, {history_minutes}, {history_minutes},"
        lines.append(line)
    (folder / "namelist.input").write_text("\n".join(lines) + "\n")
    inputs = folder / "ics" if ics else folder
    inputs.mkdir(exist_ok=True)
    (inputs / "wrfinput_d01").write_bytes((EXAMPLE / "wrfinput_d01").read_bytes())
    return folder


def test_rescalepy_job_flow(rescale: Client, daemon: Daemon, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Client("not-a-token")
    folder = case(tmp_path / "case", minutes=24, history_minutes=1, ics=True)
    namelist = rescale.upload(folder / "namelist.input")
    ics = rescale.upload(folder / "ics")
    assert ics.name == "ics.zip"
    job = rescale.create_job(
        name="localrun-wrf",
        software_code="wrf",
        input_files=[namelist, ics],
        command="ln -s ics/wrfinput_d01 . && mpirun -np 2 wrf.exe",
        version="4.5",
        core_type="onyx",
        n_cores=2,
    )
    assert rescale.submit_job(job) is True
    rescale.wait_for_job(job, interval=0.5)
    status = rescale.get_job_status(job)[0]
    assert (status["status"], status["statusReason"]) == ("Completed", "Completed successfully")

    files = rescale.list_job_results_files(job)
    names = {f["relativePath"] for f in files}
    assert len(files) > 20, "the listing spans two pages, followed through the absolute next"
    assert len(names) == len(files) and "rsl.out.0000" in names and "ics/wrfinput_d01" not in names
    assert sum(n.startswith("wrfout_d01_") for n in names) == 25
    out = tmp_path / "results"
    rescale.download_all_results(job, out)
    for item in files:
        assert (out / item["relativePath"]).stat().st_size == item["decryptedSize"]
    assert "SUCCESS COMPLETE WRF" in (out / "rsl.out.0000").read_text()

    runs = rescale.list_job_results(job)
    assert [(r["id"], r["outputFileCount"], r["variables"]) for r in runs] == [
        ("1", len(files), [])
    ]
    details = rescale.get_job_details(job)
    assert details["jobStatus"]["content"] == "Completed"
    assert details["jobanalyses"][0]["hardware"]["coreType"] == "onyx"


def test_batch_runner_over_two_jobs(
    rescale: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    folders = [case(tmp_path / name, minutes=10) for name in ("job_a", "job_b")]
    runner = BatchRunner(
        client=rescale,
        software_code="wrf",
        input_files="*",
        command="mpirun -np 1 wrf.exe",
        download_patterns=["rsl.out.0000", "wrfout_d01_*"],
        core_type=None,
        n_cores=1,
        poll_interval=0.5,
        download_delay=0,
        clear_state=True,
    )
    runner.run(folders)
    state = json.loads((tmp_path / "rescale.json").read_text())["jobs"]
    assert sorted(state) == sorted(str(f.resolve()) for f in folders)
    for folder in folders:
        entry = state[str(folder.resolve())]
        assert (entry["status"], entry["downloaded"]) == ("completed", True)
        assert "SUCCESS COMPLETE WRF" in (folder / "rsl.out.0000").read_text()
        assert len(list(folder.glob("wrfout_d01_*"))) == 2
        details = rescale.get_job_details(entry["job_id"])
        analysis = details["jobanalyses"][0]
        assert analysis["analysis"]["version"] == "simulator"  # the newest in analyses/
        assert analysis["hardware"]["coreType"] == "local"  # the cheapest in coretypes/


class Api:
    """Plain requests with the Rescale token."""

    def __init__(self, daemon: Daemon) -> None:
        self.url = daemon.url
        self.headers = {"Authorization": f"Token {daemon.token}"}

    def call(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        resp = requests.request(method, self.url + path, headers=self.headers, timeout=60, **kwargs)
        assert resp.status_code == status, resp.text
        return resp.json() if "json" in resp.headers.get("Content-Type", "") else resp.content

    def upload(self, path: Path) -> str:
        with path.open("rb") as handle:
            files = {"file": (path.name, handle, "application/octet-stream")}
            body = self.call("POST", "/api/v2/files/contents/", 201, files=files)
        file_id: str = body["id"]
        return file_id


def test_live_run_stop_snapshot_contents_and_tail(daemon: Daemon, tmp_path: Path) -> None:
    api = Api(daemon)
    folder = case(tmp_path / "long", minutes=24 * 60)
    ids = [api.upload(folder / "namelist.input"), api.upload(folder / "wrfinput_d01")]
    body = {
        "name": "long",
        "jobanalyses": [
            {
                "analysis": {"code": "wrf", "version": "4.7.1"},
                "command": "mpirun -np 2 wrf.exe",
                "hardware": {"coreType": "onyx", "coresPerSlot": 2, "cores": 2, "walltime": 1},
                "inputFiles": [{"id": i} for i in ids],
            }
        ],
    }
    job = api.call("POST", "/api/v2/jobs/", 201, json=body)["id"]
    assert api.call("POST", f"/api/v2/jobs/{job}/submit/") == {}
    run = f"/api/jobs/{job}/runs/1"
    first = daemon.api("GET", f"/localrun/v1/runs?job={job}")["runs"][0]
    assert first["job"] == {"id": job, "index": 1}
    work = daemon.data_dir / "runs" / first["id"] / "work"

    def stepping() -> bool:
        listed = {e["path"] for e in api.call("GET", run + "/directory-contents/")}
        if "rsl.out.0000" not in listed:
            return False
        lines = api.call("GET", run + "/tail/rsl.out.0000", params={"lines": 3})["lines"]
        return any(line.startswith("Timing for main") for line in lines)

    wait_for(stepping, timeout=60)
    contents = api.call("GET", run + "/directory-contents")
    assert {"path": "rsl.out.0000", "resource": f"{run}/tail/rsl.out.0000"} in contents
    tail = api.call("GET", f"{run}/tail/rsl.out.0000/", params={"lines": 3})
    assert tail["fileType"] == "rsl.out.0000: ASCII text" and len(tail["lines"]) == 3
    raw = api.call("GET", f"/api/v2/jobs/{job}/runs/1/tail/rsl.out.0000")
    assert isinstance(raw, bytes) and b"Timing for main" in raw
    v2, seed = api.call("GET", f"/api/v2/jobs/{job}/runs/1/"), api.call("GET", run)
    assert (v2["id"], v2["dateStarted"]) == (seed["id"], seed["dateStarted"]) == ("1", ANY_DATE)

    snap = api.call("POST", run + "/snapshot/")
    assert snap["exitcode"] == 0 and snap["reason"].startswith("Snapshot taken: snapshots/")
    archive = api.call("GET", f"/api/v2/files/{snap['lastSnapshotID']}/contents/")
    members = zipfile.ZipFile(io.BytesIO(archive)).namelist()
    assert "rsl.out.0000" in members and "wrfinput_d01" not in members
    outputs = api.call("GET", f"/api/v2/jobs/{job}/runs/1/files/")["results"]
    assert snap["lastSnapshotID"] in {f["id"] for f in outputs if f["name"].startswith("snapshot")}

    big = work / "big.log"
    with big.open("wb") as handle:
        handle.truncate(1 << 30)
    with big.open("ab") as handle:
        handle.write(b"\nline 1\nline 2\nline 3\n")
    with (work / "zeros.bin").open("wb") as handle:
        handle.truncate(1 << 30)
    assert api.call("GET", run + "/tail/big.log", params={"lines": 2})["lines"] == [
        "line 2",
        "line 3",
    ]
    zeros = api.call("GET", run + "/tail/zeros.bin", params={"lines": 10})
    assert zeros["fileType"] == "zeros.bin: data" and [len(x) for x in zeros["lines"]] == [65536]
    assert big.stat().st_blocks * 512 < 1 << 20, "the file stays sparse"

    conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=30)
    conn.request("GET", f"{run}/tail/../../../../etc/passwd?lines=1", headers=api.headers)
    refused = conn.getresponse()
    assert refused.status == 400 and set(json.loads(refused.read())) == {"detail"}
    conn.close()

    assert api.call("POST", run + "/stop/") == {}

    def ended() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = api.call("GET", f"/api/v2/jobs/{job}/statuses/")["results"]
        return found if found[0]["status"] == "Completed" else []

    statuses = wait_for(ended, timeout=60)
    assert "Stopping" in [s["status"] for s in statuses]
    assert "stopped" in statuses[0]["statusReason"]
    assert daemon.api("GET", f"/localrun/v1/runs?job={job}")["runs"][0]["state"] == "cancelled"

    def gone() -> bool:
        return not [p for p in psutil.process_iter(["cwd"]) if p.info["cwd"] == str(work)]

    wait_for(gone, timeout=30)
    os.remove(big)
    os.remove(work / "zeros.bin")


def test_rescalepys_folder_pattern_keeps_the_folder_and_its_modes(
    rescale: Client, tmp_path: Path
) -> None:
    folder = tmp_path / "airfoil2D"
    (folder / "system").mkdir(parents=True)
    (folder / "system" / "controlDict").write_text("endTime 1;\n")
    allrun = folder / "Allrun"
    allrun.write_text("#!/bin/sh\ncat system/controlDict > result.txt\necho allrun ok\n")
    allrun.chmod(0o755)
    upload = rescale.upload(folder)
    job = rescale.create_job(
        name="localrun-folder",
        software_code="user_included",
        input_files=[upload],
        command="cd airfoil2D; ./Allrun",
        n_cores=1,
    )
    assert rescale.submit_job(job) is True
    rescale.wait_for_job(job, interval=0.5)
    status = rescale.get_job_status(job)[0]
    assert status["statusReason"] == "Completed successfully", status
    names = {f["relativePath"] for f in rescale.list_job_results_files(job)}
    assert "airfoil2D/result.txt" in names, names
