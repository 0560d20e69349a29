"""A Rescale command's failing step is not silent: `cd nope; echo done` fails the run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import rescalepy.client as rc
from rescalepy import Client

from tests.conftest import Daemon


@pytest.fixture
def rescale(daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    monkeypatch.setattr(rc, "ENDPOINT", f"{daemon.url}/api/v2/")
    yield Client(daemon.token)


def test_a_failing_cd_fails_the_job(rescale: Client, daemon: Daemon, tmp_path: Path) -> None:
    folder = tmp_path / "airfoil2D"
    folder.mkdir()
    (folder / "Allrun").write_text("#!/bin/sh\necho allrun ok\n")
    job = rescale.create_job(
        name="localrun-bad-cd",
        software_code="user_included",
        input_files=[rescale.upload(folder)],
        command="cd no_such_folder; echo done",
        n_cores=1,
    )
    assert rescale.submit_job(job) is True
    rescale.wait_for_job(job, interval=0.5)
    status = rescale.get_job_status(job)[0]
    assert status["statusReason"] != "Completed successfully", status
    run = daemon.api("GET", f"/localrun/v1/runs?job={job}")["runs"][0]
    assert run["state"] == "failed" and run["exit_code"] not in (0, None), run
