"""Cloudrun's client flow (CLIENTS.md §A5) with plain requests against the real daemon.

The official client is not on PyPI, so `ClientRun` below sends what it sends, request for
request: a form-encoded create, multipart uploads with `Origin: cloudrun.co` that must answer
exactly 200 followed by a GET, a JSON Patch then a POST /start with no body, GET polling, the
form body on the GET of read_output, a fire-and-forget stop, and a DELETE answering the Run.
Every Run response goes through the client's own parsing (`_update`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests

from tests.api.cloudrun_client import CLIENT_TIME, RUN_KEYS, TIMES, check_run
from tests.conftest import EXAMPLE, Daemon, running_daemon
from tests.polling import wait_for


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One daemon for the module: each test makes and reads runs of its own, and each run ends."""
    with running_daemon(tmp_path_factory.mktemp("cloudrun"), {}) as d:
        yield d


WRF_TIME = "%Y-%m-%d_%H:%M:%S"


def parsed_times(body: dict[str, Any]) -> tuple[datetime, datetime | None, datetime | None]:
    """The client's parsing of a Run's times; the Run of any response must survive it."""
    check_run(body)
    started, stopped = body["time_started"], body["time_stopped"]
    return (
        datetime.strptime(body["time_created"], CLIENT_TIME),
        datetime.strptime(started, CLIENT_TIME) if started else None,
        datetime.strptime(stopped, CLIENT_TIME) if stopped else None,
    )


class ClientRun:
    """What cloudrun.Run does on the wire, with the module's API_URL pointing at the daemon."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.responses: list[dict[str, Any]] = []
        self.id = ""
        self.status = ""
        self.compute_options: list[dict[str, Any]] = []
        self.selected_compute_option: dict[str, Any] = {}
        self.input_files: list[dict[str, Any]] = []
        self.output_files: list[dict[str, Any]] = []
        self.required_input_files: list[str] = []
        self.percent_complete: float = 0.0
        self.remaining_time: int | None = None
        self.disk_usage = 0
        self.error: dict[str, Any] | None = None
        self.time_created = datetime.min
        self.time_started: datetime | None = None
        self.time_stopped: datetime | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": "Bearer " + self.token}

    def _update(self, body: dict[str, Any]) -> None:
        for key in sorted(RUN_KEYS - set(TIMES)):
            setattr(self, key, body[key])
        self.time_created, self.time_started, self.time_stopped = parsed_times(body)
        self.responses.append(body)

    def create(self, model: str, version: str) -> None:
        data = {"model": model, "version": version}
        r = requests.post(self.url + "/runs", headers=self.headers, data=data, timeout=30)
        assert r.status_code != 403
        self._update(r.json())

    def get(self) -> None:
        r = requests.get(self.url + "/runs/" + self.id, headers=self.headers, timeout=30)
        if r.status_code == 403:
            raise RuntimeError("403 -- Forbidden")
        self._update(r.json())

    def upload(self, filename: Path) -> None:
        headers = {**self.headers, "Origin": "cloudrun.co"}
        with filename.open("rb") as handle:
            files = {"file": (filename.name, handle, "application/octet-stream")}
            r = requests.post(
                self.url + "/runs/" + self.id + "/input", headers=headers, files=files, timeout=60
            )
        if r.status_code != 200:
            raise ValueError("Server responded with " + str(r.status_code))
        self.get()

    def start(self, cores: int) -> None:
        available = [o["cores"] for o in self.compute_options]
        if cores not in available:
            raise RuntimeError("This number of cores is not available")
        option = self.compute_options[available.index(cores)]["compute_option_id"]
        patch = [
            {
                "op": "replace",
                "path": "/selected_compute_option",
                "value": {"compute_option_id": option},
            }
        ]
        url = self.url + "/runs/" + self.id
        parsed_times(requests.patch(url, headers=self.headers, json=patch, timeout=30).json())
        r = requests.post(url + "/start", headers=self.headers, timeout=30)
        assert r.request.body is None and "Content-Type" not in r.request.headers
        self._update(r.json())

    def stop(self) -> None:
        # the client discards this answer; it is a Run all the same
        r = requests.post(self.url + "/runs/" + self.id + "/stop", headers=self.headers, timeout=30)
        parsed_times(r.json())

    def delete(self) -> None:
        r = requests.delete(self.url + "/runs/" + self.id, headers=self.headers, timeout=60)
        self._update(r.json())

    def read_output(
        self, field: str, time1: datetime | None = None, time2: datetime | None = None
    ) -> tuple[dict[str, Any], Any, Any]:
        data: dict[str, str] = {}
        if time1:
            data["time1"] = time1.strftime(WRF_TIME)
        if time2:
            data["time2"] = time2.strftime(WRF_TIME)
        url = self.url + "/runs/" + self.id + "/output/fields/" + field
        r = requests.get(url, headers=self.headers, data=data, timeout=60)
        if r.status_code != 200:
            raise ValueError("Server responded with " + str(r.status_code))
        body = r.json()
        times = np.array([datetime.strptime(t, WRF_TIME) for t in body["times"]])
        return body[field.upper()], times, np.array(body["data"])


def case(tmp_path: Path, minutes: int) -> list[Path]:
    """namelist.input and wrfinput_d01 of the example case, `minutes` of model time long."""
    folder = tmp_path / f"case{minutes}"
    folder.mkdir()
    lines = []
    for line in (EXAMPLE / "namelist.input").read_text().splitlines():
        if line.strip().split("=")[0].strip().lower() == "run_minutes":
            line = f" run_minutes = {minutes},"
        lines.append(line)
    (folder / "namelist.input").write_text("\n".join(lines) + "\n")
    (folder / "wrfinput_d01").write_bytes((EXAMPLE / "wrfinput_d01").read_bytes())
    return [folder / "namelist.input", folder / "wrfinput_d01"]


def prepared(daemon: Daemon, files: list[Path]) -> ClientRun:
    run = ClientRun(daemon.url + "/v1", daemon.token + "|user-1")
    run.create("wrf", "4.5")
    assert run.status == "created"
    assert run.time_started is None and run.time_stopped is None
    for path in files:
        run.upload(path)
        if path.name == "namelist.input":
            assert run.required_input_files == ["namelist.input", "wrfinput_d01"]
            assert 2 in [o["cores"] for o in run.compute_options]
    assert run.status == "ready"
    return run


def poll(run: ClientRun, until: Any, within: float = 120) -> None:
    def reached() -> bool:
        run.get()
        return bool(until(run))

    wait_for(reached, timeout=within, interval=0.2)


def test_the_client_flow_to_done_read_output_and_delete(daemon: Daemon, tmp_path: Path) -> None:
    run = prepared(daemon, case(tmp_path, 30))
    run.start(cores=2)
    assert run.status in ("starting", "active")
    assert run.selected_compute_option["cores"] == 2
    poll(run, lambda r: r.status in ("done", "error", "stopped"))
    assert run.status == "done", run.error
    assert run.percent_complete == 100.0 and run.remaining_time == 0
    assert run.time_started and run.time_stopped and run.time_created <= run.time_started
    seen = [r["status"] for r in run.responses]
    assert seen.index("ready") < seen.index("done")
    names = [f["filename"] for f in run.output_files]
    assert "wrfout_d01_0001-01-01_00:30:00" in names and "rsl.out.0000" in names

    attrs, times, t2 = run.read_output("t2", time1=datetime(1, 1, 1, 0, 10))
    assert attrs["units"] == "K"
    assert list(times) == [datetime(1, 1, 1, 0, 10)]
    assert t2.shape == (1, 61, 61) and np.isfinite(t2).all()
    _, times, u10 = run.read_output("U10", datetime(1, 1, 1), datetime(1, 1, 1, 0, 30))
    assert len(times) == 4 and u10.shape == (4, 61, 61)

    before = run.disk_usage
    run.delete()
    assert run.output_files == []
    assert run.status == "done"
    assert run.disk_usage < before
    assert [f["filename"] for f in run.input_files] == ["namelist.input", "wrfinput_d01"]
    run.get()
    assert run.output_files == []


def test_a_run_stopped_while_active(daemon: Daemon, tmp_path: Path) -> None:
    run = prepared(daemon, case(tmp_path, 900))
    run.start(cores=2)
    poll(run, lambda r: r.status == "active" and r.percent_complete > 0)
    assert run.remaining_time and run.remaining_time > 0
    run.stop()
    poll(run, lambda r: r.status in ("done", "error", "stopped"), within=60)
    assert run.status == "stopped", run.error
    assert run.error is None
    assert 0 < run.percent_complete < 100
    assert run.time_stopped is not None
    run.delete()
    assert run.status == "stopped" and run.output_files == []


def test_a_bad_token_raises_the_clients_forbidden(daemon: Daemon) -> None:
    run = ClientRun(daemon.url + "/v1", "not-a-token")
    run.id = "whatever"
    try:
        run.get()
    except RuntimeError as exc:
        assert str(exc) == "403 -- Forbidden"
    else:
        raise AssertionError("a bad token did not answer 403")
