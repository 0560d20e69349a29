"""The real wherobots-python-sdk 0.5.1 against the real daemon over HTTPS (CLIENTS.md §B5)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from localrun import tls
from tests.conftest import Daemon
from tests.polling import wait_for

HELLO = """
import sys
for k in range(30):
    print(f"line {k} {' '.join(sys.argv[1:])}", flush=True)
print("to stderr", file=sys.stderr, flush=True)
"""
SLEEPER = "import time\nprint('up', flush=True)\ntime.sleep(300)\n"


@pytest.fixture
def daemon_env(tmp_path: Path) -> dict[str, str]:
    made = tls.init(tmp_path / "tls", ["127.0.0.1", "localhost"])
    return {
        "LOCALRUN_TLS_CERT": str(made.cert),
        "LOCALRUN_TLS_KEY": str(made.key),
        "REQUESTS_CA_BUNDLE": str(made.ca),
    }


@pytest.fixture
def sdk(daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> Daemon:
    monkeypatch.setenv("WHEROBOTS_API_BASE_URL", daemon.url)
    monkeypatch.setenv("WHEROBOTS_API_KEY", daemon.token)
    monkeypatch.setenv("WHEROBOTS_REGION", "local")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", daemon.env["REQUESTS_CA_BUNDLE"])
    return daemon


def upload(tmp_path: Path, name: str, text: str) -> str:
    from wherobots import Wherobots

    local = tmp_path / name
    local.write_text(text)
    with Wherobots() as wb:
        uri: str = wb.files.my_files.upload_file(str(local), f"scripts/{name}")
    return uri


def test_the_sdk_flow_over_https(sdk: Daemon, tmp_path: Path) -> None:
    from wherobots import JobStatus, WherobotsJob

    uri = upload(tmp_path, "hello.py", HELLO)
    assert uri.startswith("s3://localrun/tester/scripts/hello.py")
    job = WherobotsJob(script=uri, name="localrun-hello-01", args=["a", "b"])
    run_id = job.submit()
    status = job.wait_for_completion(poll_interval=0.3, log_interval=0.3)
    assert status == JobStatus.COMPLETED
    lines = [item["raw"] for item in job.iter_logs(size=7)]
    assert lines == [f"line {k} a b" for k in range(30)] + ["to stderr"]
    page = WherobotsJob.list_runs(status=["COMPLETED"], name_pattern="localrun-hello*")
    assert [r.id for r in page.items] == [run_id]
    assert WherobotsJob.list_runs(status=["FAILED"]).items == []
    again = WherobotsJob.from_run_id(run_id)
    assert again.get_status().status == JobStatus.COMPLETED
    metrics = job.get_metrics()
    assert metrics is not None


def test_cancel_while_running_and_a_timeout(sdk: Daemon, tmp_path: Path) -> None:
    from wherobots import JobStatus, WherobotsJob

    uri = upload(tmp_path, "sleeper.py", SLEEPER)
    job = WherobotsJob(script=uri, name="localrun-sleep-01")
    job.submit()
    wait_for(lambda: job.get_status().status == JobStatus.RUNNING, 30)
    job.cancel()
    wait_for(lambda: job.get_status().status == JobStatus.CANCELLED, 10)
    short = WherobotsJob(script=uri, name="localrun-timeout-01", timeout_seconds=2)
    short.submit()
    wait_for(lambda: short.get_status().status == JobStatus.FAILED, 30)
    raw = requests.get(
        f"{sdk.url}/runs/{short.run_id}",
        headers={"X-API-Key": sdk.token},
        verify=sdk.env["REQUESTS_CA_BUNDLE"],
        timeout=10,
    ).json()
    events = raw["kubeApp"]["events"]
    assert events[0]["code"] == "RUN_FAIL_EXEC" and "timeout" in events[0]["message"]


def test_bad_input_is_a_4xx_in_its_shape_and_stores_nothing(sdk: Daemon, tmp_path: Path) -> None:
    url, ca = sdk.url, sdk.env["REQUESTS_CA_BUNDLE"]
    headers = {"X-API-Key": sdk.token, "Content-Type": "application/json"}

    def call(method: str, path: str, **kw: object) -> requests.Response:
        return requests.request(method, url + path, headers=headers, verify=ca, timeout=10, **kw)  # type: ignore[arg-type]

    script = {"uri": "s3://localrun/tester/nothing.py"}
    bad_name = call("POST", "/runs", json={"name": "short", "runPython": script})
    assert bad_name.status_code == 422 and bad_name.json()["detail"][0]["loc"] == ["body", "name"]
    elsewhere = {"name": "localrun-bad-uri", "runPython": {"uri": "s3://other/x.py"}}
    assert call("POST", "/runs", json=elsewhere).status_code == 400
    assert "message" in call("GET", "/runs?size=1000").json()
    assert call("GET", "/runs?size=1000").status_code == 400
    assert call("GET", "/runs?status=NOPE").status_code == 422
    assert call("GET", "/runs").json()["items"] == []
    grant = call("POST", "/storage/user_files::local/file-upload-url/a/b.py").json()
    assert grant["uploadUrl"].startswith("https://")
    put = requests.put(grant["uploadUrl"], data=b"print(1)", verify=ca, timeout=10)
    assert put.status_code == 200
    again = requests.put(grant["uploadUrl"], data=b"print(2)", verify=ca, timeout=10)
    assert again.status_code == 404 and "message" in again.json()
    escape = call("POST", "/storage/user_files::local/file-upload-url/../../x.py")
    assert escape.status_code in (400, 404)
    listing = call("GET", "/storage/user_files::local/directories/a").json()
    assert [i["name"] for i in listing["items"]] == ["b.py"]
    anonymous = requests.get(url + "/runs", verify=ca, timeout=10)
    assert anonymous.status_code == 401 and "message" in anonymous.json()


DRIVER = """
import os, shutil, subprocess, sys
case = os.path.join(os.environ["LOCALRUN_STORE"], "cases", "quarter")
for name in ("namelist.input", "wrfinput_d01"):
    shutil.copy(os.path.join(case, name), name)
code = subprocess.call(["mpirun", "-np", sys.argv[1], "wrf.exe"])
for line in open("rsl.out.0000"):
    print("rsl:", line.rstrip(), flush=True)
sys.exit(code)
"""


def test_a_wrf_case_from_the_store_end_to_end(sdk: Daemon, tmp_path: Path) -> None:
    from wherobots import JobStatus, Wherobots, WherobotsJob

    case = Path(__file__).parents[2] / "localrun" / "example_case"
    with Wherobots() as wb:
        for name in ("namelist.input", "wrfinput_d01"):
            wb.files.my_files.upload_file(str(case / name), f"cases/quarter/{name}")
    uri = upload(tmp_path, "run_wrf.py", DRIVER)
    job = WherobotsJob(script=uri, name="localrun-wrf-001", args=["2"], runtime="small")
    run_id = job.submit()
    status = job.wait_for_completion(poll_interval=0.5, log_interval=0.5)
    lines = [item["raw"] for item in job.iter_logs(size=500)]
    assert status == JobStatus.COMPLETED, lines[-20:]
    assert any("SUCCESS COMPLETE WRF" in line for line in lines if line.startswith("rsl:"))
    with Wherobots() as wb:
        outputs = {e.name for e in wb.files.my_files.list_directory(f"runs/{run_id}")}
    assert any(name.startswith("wrfout_d01_") for name in outputs), outputs
    assert {"rsl.out.0000", "rsl.out.0001", "namelist.input"} <= outputs
