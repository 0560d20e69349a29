"""Fault injection through the admin API, seen by the real clients: rescalepy's BatchRunner
retries a 503 on its job creation, the Wherobots SDK retries a 503 on a GET, each family's
error body is its own, added latency, a dropped connection, a truncated body, a seeded
probability; faults are listed, cleared and logged."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import rescalepy.client as rc
from rescalepy.batch import BatchRunner

from localrun.testing.server import LocalrunError, LocalrunServer
from tests.api.test_cloudrun_flow import ClientRun, case


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalrunServer]:
    with LocalrunServer(tmp_path_factory.mktemp("faults"), sim_speed=50) as started:
        yield started


@pytest.fixture(autouse=True)
def clean(server: LocalrunServer) -> Iterator[None]:
    yield
    server.reset()


@pytest.fixture
def rescale(server: LocalrunServer, monkeypatch: pytest.MonkeyPatch) -> rc.Client:
    monkeypatch.setattr(rc, "ENDPOINT", server.rescale_endpoint())
    return rc.Client(server.token("alice"))


def headers(server: LocalrunServer, scheme: str = "Bearer") -> dict[str, str]:
    return {"Authorization": f"{scheme} {server.token('alice')}"}


def test_rescalepy_s_batch_runner_retries_a_503_on_job_creation(
    server: LocalrunServer, rescale: rc.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = case(tmp_path, 10)[0].parent
    server.script("succeed", speed="instant")
    fault = server.fault("rescale", status=503, method="POST", path=r"^/api/v2/jobs/$", count=1)
    runner = BatchRunner(
        client=rescale,
        software_code="wrf",
        input_files="*",
        command="mpirun -np 1 wrf.exe",
        download_patterns=["rsl.out.0000"],
        core_type=None,
        n_cores=1,
        poll_interval=0.2,
        download_delay=0,
        clear_state=True,
    )
    runner.run([folder])
    state = json.loads((tmp_path / "rescale.json").read_text())["jobs"][str(folder.resolve())]
    assert (state["status"], state["downloaded"]) == ("completed", True)
    assert "SUCCESS COMPLETE WRF" in (folder / "rsl.out.0000").read_text()
    [listed] = server.faults()["faults"]
    assert (listed["id"], listed["hits"], listed["count_left"]) == (fault["id"], 1, 0)
    [injected] = server.faults()["injected"]
    assert (injected["method"], injected["path"]) == ("POST", "/api/v2/jobs/")
    assert f"fault {fault['id']} injected: status on POST /api/v2/jobs/" in (
        server.log_path.read_text()
    )


def test_each_family_s_own_error_body(server: LocalrunServer, rescale: rc.Client) -> None:
    server.fault("rescale", status=503, path="/statuses/$")
    with pytest.raises(requests.HTTPError) as raised:
        rescale.get_job_status("abc")
    assert raised.value.response.status_code == 503
    assert raised.value.response.json() == {"detail": "Service Unavailable"}

    server.fault("cloudrun", status=500, message="try again later")
    r = requests.get(server.url + "/v1/runs", headers=headers(server), timeout=10)
    assert (r.status_code, r.json()) == (500, {"status": 500, "message": "try again later"})

    server.fault("native", status=429)
    r = requests.get(server.url + "/localrun/v1/runs", headers=headers(server), timeout=10)
    assert r.status_code == 429
    assert r.json() == {
        "error": {"status": 429, "code": "TooManyRequests", "message": "Too Many Requests"}
    }

    server.fault("sharedcloud", status=502)
    r = requests.get(server.url + "/api/v1/runs/", headers=headers(server, "Token"), timeout=10)
    assert r.status_code == 502 and r.headers["Content-Type"].startswith("application/json")

    server.fault("s3", status=503)
    r = requests.get(server.url + "/s3/localrun/", timeout=10)
    assert r.status_code == 503 and r.headers["Content-Type"].startswith("application/xml")
    assert "<Code>SlowDown</Code><Message>Please reduce your request rate.</Message>" in r.text

    server.fault("wherobots", status=503)
    r = requests.get(server.url + "/runs", headers={"X-API-Key": server.token("alice")})
    assert (r.status_code, r.json()) == (503, {"message": "Service Unavailable"})

    after = requests.get(server.url + "/api/v2/jobs/", headers=headers(server, "Token"))
    assert after.status_code == 200, "a rule on one route leaves the others alone"


def test_added_latency(server: LocalrunServer, rescale: rc.Client) -> None:
    server.fault("rescale", "latency", latency_ms=600, path="^/api/v2/jobs/$", count=2)
    began = time.monotonic()
    rescale.get(rc.ENDPOINT + "jobs/")
    first = time.monotonic() - began
    began = time.monotonic()
    rescale.get(rc.ENDPOINT + "jobs/")
    rescale.get(rc.ENDPOINT + "jobs/")
    assert first >= 0.6
    assert time.monotonic() - began >= 0.6  # the second is slow too, the third is not


def test_a_dropped_connection_and_a_truncated_body(server: LocalrunServer, tmp_path: Path) -> None:
    run = ClientRun(server.cloudrun_url(), server.token("alice"))
    run.create("wrf", "4.5")
    server.fault("cloudrun", "drop", method="GET", path="^/v1/runs/[^/]+$")
    with pytest.raises(requests.ConnectionError):
        run.get()
    run.get()  # the next is answered

    server.fault("cloudrun", "truncate", method="GET")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        run.get()
    run.get()
    assert [f["kind"] for f in server.faults()["injected"]] == ["drop", "truncate"]
    assert "Traceback" not in server.log_path.read_text()


def test_a_probability_with_a_seed_repeats(server: LocalrunServer) -> None:
    def outcomes() -> list[int]:
        url = server.url + "/v1/runs"
        return [
            requests.get(url, headers=headers(server), timeout=10).status_code for _ in range(30)
        ]

    server.fault("cloudrun", status=503, probability=0.3, seed=17)
    first = outcomes()
    assert server.clear_faults() == {"cleared": 1}
    server.fault("cloudrun", status=503, probability=0.3, seed=17)
    second = outcomes()
    assert first == second
    assert 3 <= first.count(503) <= 18 and set(first) == {200, 503}
    server.clear_faults()
    assert set(outcomes()) == {200}


def test_faults_listed_cleared_and_refused(server: LocalrunServer) -> None:
    a = server.fault("rescale", status=503, count=3)
    b = server.fault("wherobots", "latency", latency_ms=10, probability=1.0)
    assert [f["id"] for f in server.faults()["faults"]] == [a["id"], b["id"]]
    assert server.admin("DELETE", f"/faults/{a['id']}") == {"cleared": 1}
    assert [f["id"] for f in server.admin("GET", "/state")["faults"]] == [b["id"]]
    with pytest.raises(LocalrunError, match="404 no such fault"):
        server.admin("DELETE", f"/faults/{a['id']}")
    bad: list[tuple[dict[str, Any], str]] = [
        ({"family": "aws"}, "family must be one of"),
        ({"family": "rescale", "kind": "explode"}, "kind must be one of"),
        ({"family": "rescale", "count": 1, "probability": 0.5}, "not both"),
        ({"family": "rescale", "kind": "latency"}, "latency_ms must be positive"),
        ({"family": "rescale", "status": 42}, "is not an HTTP status"),
        ({"family": "rescale", "path": "("}, "not a regular expression"),
    ]
    for body, message in bad:
        with pytest.raises(LocalrunError, match="400 .*" + message):
            server.admin("POST", "/faults", body)
    server.fault("native", status=503, probability=1.0)
    assert server.admin("GET", "/state")["cores"] == 2, "the admin API itself is never faulted"


def test_the_wherobots_sdk_retries_a_503(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with LocalrunServer(tmp_path / "tls", tls=True) as secure:
        for name, value in secure.wherobots_env().items():
            monkeypatch.setenv(name, value)
        from wherobots import WherobotsJob

        fault = secure.fault("wherobots", status=503, method="GET", path="^/runs$", count=2)
        assert WherobotsJob.list_runs().items == []
        assert secure.faults()["faults"][0]["hits"] == 2 == fault["count_left"]
        body = requests.get(
            secure.url + "/runs",
            headers={"X-API-Key": secure.token()},
            verify=secure.ca_bundle,
            timeout=10,
        )
        assert body.status_code == 200


@pytest.mark.parametrize(
    ("path", "prefix", "family"),
    [
        ("/v1/runs/abc", "", "cloudrun"),
        ("/api/v2/jobs/", "", "rescale"),
        ("/api/jobs/x/", "", "rescale"),
        ("/api/v1/runs/", "", "sharedcloud"),
        ("/localrun/v1/runs", "", "native"),
        ("/healthz", "", "native"),
        ("/s3/localrun/alice/x", "", "s3"),
        ("/runs", "", "wherobots"),
        ("/storage/abc", "", "wherobots"),
        ("/wb/runs/1", "/wb", "wherobots"),
        ("/runs", "/wb", None),
        ("/ui/runs", "", None),
        ("/metrics", "", None),
    ],
)
def test_the_family_of_a_path(path: str, prefix: str, family: str | None) -> None:
    from localrun.api.faults import family_of
    from localrun.config import Settings

    assert family_of(path, Settings(wherobots_prefix=prefix)) == family
