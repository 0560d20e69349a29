"""What a Wherobots run executes besides a plain script: a jar's main class under java, PyPI
packages installed into the run's own virtual environment, wheels from the store, and
sparkConfigs recorded and noted. Driven with the real SDK over HTTPS."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests

from localrun import tls
from tests.conftest import Daemon

HELLO_JAVA = """
public class Hello {
    public static void main(String[] args) {
        System.out.println("hello from java " + String.join(",", args));
        System.err.println("java stderr");
    }
}
"""
USES_PACKAGES = """
import lrdemo, lrwheel, psutil
print("lrdemo", lrdemo.VALUE, "lrwheel", lrwheel.VALUE, "psutil", bool(psutil.cpu_count()))
"""


def make_wheel(folder: Path, name: str, version: str, value: int) -> Path:
    """A minimal pure-Python wheel that pip installs."""
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(f"{name}/__init__.py", f"VALUE = {value}\n")
        archive.writestr(
            f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        )
        archive.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        archive.writestr(
            f"{info}/RECORD",
            f"{name}/__init__.py,,\n{info}/METADATA,,\n{info}/WHEEL,,\n{info}/RECORD,,\n",
        )
    return wheel


@pytest.fixture
def daemon_env(tmp_path: Path) -> dict[str, str]:
    made = tls.init(tmp_path / "tls", ["127.0.0.1", "localhost"])
    wheels = tmp_path / "wheelhouse"
    wheels.mkdir()
    make_wheel(wheels, "lrdemo", "1.0", 42)
    return {
        "LOCALRUN_TLS_CERT": str(made.cert),
        "LOCALRUN_TLS_KEY": str(made.key),
        "REQUESTS_CA_BUNDLE": str(made.ca),
        "LOCALRUN_PACKAGE_INDEX": str(wheels),
    }


@pytest.fixture
def sdk(daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> Daemon:
    monkeypatch.setenv("WHEROBOTS_API_BASE_URL", daemon.url)
    monkeypatch.setenv("WHEROBOTS_API_KEY", daemon.token)
    monkeypatch.setenv("WHEROBOTS_REGION", "local")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", daemon.env["REQUESTS_CA_BUNDLE"])
    return daemon


def upload(local: Path, key: str) -> str:
    from wherobots import Wherobots

    with Wherobots() as wb:
        uri: str = wb.files.my_files.upload_file(str(local), key)
    return uri


def finished(job: Any) -> tuple[Any, list[str]]:
    status = job.wait_for_completion(poll_interval=0.3, log_interval=0.3)
    return status, [item["raw"] for item in job.iter_logs(size=100)]


def raw_run(daemon: Daemon, run_id: str) -> dict[str, Any]:
    answer = requests.get(
        f"{daemon.url}/runs/{run_id}",
        headers={"X-API-Key": daemon.token},
        verify=daemon.env["REQUESTS_CA_BUNDLE"],
        timeout=10,
    )
    body: dict[str, Any] = answer.json()
    return body


def test_a_jar_runs_its_main_class_under_java(sdk: Daemon, tmp_path: Path) -> None:
    from wherobots import JobStatus, WherobotsJob

    javac, jar = shutil.which("javac"), shutil.which("jar")
    assert javac and jar, "the jar test needs a JDK (javac and jar) on PATH"
    (tmp_path / "Hello.java").write_text(HELLO_JAVA)
    subprocess.run([javac, "Hello.java"], cwd=tmp_path, check=True)
    subprocess.run([jar, "cf", "hello.jar", "Hello.class"], cwd=tmp_path, check=True)
    uri = upload(tmp_path / "hello.jar", "jars/hello.jar")
    job = WherobotsJob(script=uri, name="localrun-java-01", jar_main_class="Hello", args=["a", "b"])
    job.submit()
    status, lines = finished(job)
    assert status == JobStatus.COMPLETED, lines
    assert sorted(lines) == ["hello from java a,b", "java stderr"]


def test_packages_install_into_the_runs_own_environment(sdk: Daemon, tmp_path: Path) -> None:
    from wherobots import JobStatus, WherobotsJob

    script = tmp_path / "uses.py"
    script.write_text(USES_PACKAGES)
    uri = upload(script, "scripts/uses.py")
    wheel_uri = upload(
        make_wheel(tmp_path, "lrwheel", "2.0", 7), "wheels/lrwheel-2.0-py3-none-any.whl"
    )
    job = WherobotsJob(
        script=uri,
        name="localrun-deps-01",
        dependencies=[
            WherobotsJob.add_pypi_dependency("lrdemo", "1.0"),
            WherobotsJob.add_file_dependency(wheel_uri),
        ],
        spark_configs={"spark.executor.memory": "4g"},
    )
    run_id = job.submit()
    status, lines = finished(job)
    assert status == JobStatus.COMPLETED, lines
    assert lines[-1] == "lrdemo 42 lrwheel 7 psutil True"
    events = raw_run(sdk, run_id)["kubeApp"]["events"]
    assert [e["code"] for e in events] == ["LOCALRUN_NOTE"]
    assert "sparkConfigs" in events[0]["message"]
    run_folder = Path(sdk.env["LOCALRUN_DATA_DIR"]) / "runs" / run_id
    assert (run_folder / "venv").is_dir() and not (run_folder / "work" / "venv").exists()
    again = WherobotsJob(
        script=uri,
        name="localrun-deps-02",
        dependencies=[WherobotsJob.add_pypi_dependency("lrdemo", "9.9")],
    )
    again.submit()
    status, lines = finished(again)
    assert status == JobStatus.FAILED
    assert any("lrdemo==9.9" in line for line in lines), lines


def test_bad_programs_are_refused_at_creation(sdk: Daemon) -> None:
    headers = {"X-API-Key": sdk.token}
    ca = sdk.env["REQUESTS_CA_BUNDLE"]
    script = {"uri": "s3://localrun/tester/x.py"}
    for body in (
        {
            "name": "localrun-bad-1",
            "runPython": script,
            "runJar": {"uri": "s3://localrun/tester/a.jar"},
        },
        {"name": "localrun-bad-2", "runJar": {"uri": "s3://localrun/tester/a.jar"}},
        {
            "name": "localrun-bad-3",
            "runPython": script,
            "environment": {"dependencies": [{"sourceType": "PYPI", "libraryName": "x; rm -rf /"}]},
        },
        {
            "name": "localrun-bad-4",
            "runPython": script,
            "environment": {"dependencies": [{"sourceType": "CONDA"}]},
        },
        {"name": "localrun-bad-5", "runPython": script, "environment": {"dependencies": "numpy"}},
    ):
        answer = requests.post(f"{sdk.url}/runs", json=body, headers=headers, verify=ca, timeout=10)
        assert answer.status_code == 422, (body, answer.text)
        assert "message" in answer.json()
    listed = requests.get(f"{sdk.url}/runs", headers=headers, verify=ca, timeout=10).json()
    assert listed["items"] == []
