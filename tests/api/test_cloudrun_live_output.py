"""Cloudrun's read_output while the run is still writing (issue 19 item 4, WRF.md §9).

With `frames_per_outfile` > 1 the simulator, like wrf.exe, holds its wrfout file open from its
first frame to its last, so HDF5's file lock is held; the daemon reads it anyway and answers the
frames written so far.
"""

from __future__ import annotations

from pathlib import Path

import requests

from tests.api.test_cloudrun_flow import ClientRun, poll, prepared
from tests.conftest import EXAMPLE, Daemon

FRAMES = 5  # 00:00 to 00:40, all in the first wrfout file


def slow_case(tmp_path: Path) -> list[Path]:
    lines = []
    for line in (EXAMPLE / "namelist.input").read_text().splitlines():
        name = line.strip().split("=")[0].strip().lower()
        if name == "run_minutes":
            line = " run_minutes = 40,"
        elif name == "frames_per_outfile":
            line = f" frames_per_outfile = {FRAMES}, {FRAMES}, {FRAMES},"
        lines.append(line)
    lines += ["&localrun_simulator", " speed = 5,", "/"]  # 30% to the end: about 6 s
    (tmp_path / "namelist.input").write_text("\n".join(lines) + "\n")
    (tmp_path / "wrfinput_d01").write_bytes((EXAMPLE / "wrfinput_d01").read_bytes())
    return [tmp_path / "namelist.input", tmp_path / "wrfinput_d01"]


def fields(run: ClientRun, field: str) -> requests.Response:
    url = f"{run.url}/runs/{run.id}/output/fields/{field}"
    return requests.get(url, headers=run.headers, timeout=60)


def test_a_wrfout_file_being_filled_reads_with_its_frames_so_far(
    daemon: Daemon, tmp_path: Path
) -> None:
    run = prepared(daemon, slow_case(tmp_path))
    run.start(cores=1)
    poll(run, lambda r: r.percent_complete >= 30 or r.status in ("done", "error", "stopped"), 300)
    assert run.status == "active", run.error
    resp = fields(run, "Times")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert "Times" in body and "TIMES" not in body
    assert 2 <= len(body["times"]) < FRAMES
    assert body["data"] == body["times"]
    assert body["times"][:2] == ["0001-01-01_00:00:00", "0001-01-01_00:10:00"]
    t2 = fields(run, "t2").json()
    assert set(t2) == {"T2", "times", "data"} and len(t2["data"]) >= 2
    poll(run, lambda r: r.status in ("done", "error", "stopped"), within=300)
    assert run.status == "done", run.error
    assert len(fields(run, "Times").json()["times"]) == FRAMES
