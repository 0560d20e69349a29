"""The daemon process itself: TLS, systemd readiness, the --demo run."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import requests
import trustme

from localrun.serve import notify_systemd
from tests.conftest import Daemon, free_port
from tests.polling import wait_for


def test_notify_systemd_sends_a_datagram(tmp_path: Path, monkeypatch: object) -> None:
    address = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(address)
        os.environ["NOTIFY_SOCKET"] = address
        try:
            notify_systemd("READY=1")
        finally:
            del os.environ["NOTIFY_SOCKET"]
        assert server.recv(100) == b"READY=1"


@pytest.mark.daemon_not_started
def test_https_with_a_private_ca(daemon: Daemon, tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file, ca_file = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "ca.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    ca.cert_pem.write_to_path(str(ca_file))
    daemon.env.update({"LOCALRUN_TLS_CERT": str(cert_file), "LOCALRUN_TLS_KEY": str(key_file)})
    daemon.port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "localrun", "serve", "--port", str(daemon.port)],
        env=daemon.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"https://127.0.0.1:{daemon.port}"

        def answers() -> requests.Response | None:
            try:
                return requests.get(url + "/healthz", verify=str(ca_file), timeout=2)
            except requests.ConnectionError:
                return None

        resp = wait_for(answers, 30)
        assert resp.json()["status"] == "ok"
        runs = requests.get(
            url + "/localrun/v1/runs",
            headers={"Authorization": f"Bearer {daemon.token}"},
            verify=str(ca_file),
            timeout=5,
        )
        assert runs.status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.daemon_not_started
def test_demo_runs_the_example_to_success(daemon: Daemon, tmp_path: Path) -> None:
    log = tmp_path / "demo.log"
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "localrun", "serve", "--demo", "--port", str(port)],
            env=daemon.env,
            stdout=out,
            stderr=out,
        )
    try:
        wait_for(lambda: "ended" in log.read_text(), 120, 0.5)
        text = log.read_text()
        assert "ended succeeded" in text
        assert "%" in text and "time left" in text
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_taken_port_is_a_clear_message_not_a_traceback(daemon: Daemon, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "localrun", "serve", "--port", str(daemon.port)],
        env={**daemon.env, "LOCALRUN_DATA_DIR": str(tmp_path / "other")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{daemon.port}: address already in use" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.daemon_not_started
def test_systemd_hears_ready_once_the_port_is_bound(daemon: Daemon, tmp_path: Path) -> None:
    address = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(address)
        server.settimeout(30)
        env = {**daemon.env, "NOTIFY_SOCKET": address}
        proc = subprocess.Popen(
            [sys.executable, "-m", "localrun", "serve", "--port", str(daemon.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert server.recv(100) == b"READY=1"
            with socket.create_connection(("127.0.0.1", daemon.port), timeout=2):
                pass  # bound before READY=1 was sent
        finally:
            proc.terminate()
            proc.wait(10)


def test_a_second_daemon_on_the_same_data_directory_is_refused(daemon: Daemon) -> None:
    done = daemon.localrun("serve", "--port", str(free_port()))
    assert done.returncode == 1 and daemon.proc is not None
    assert f"{daemon.data_dir} is in use by another localrun (pid {daemon.proc.pid})" in (
        done.stderr
    ), done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.daemon_not_started
def test_port_zero_logs_the_port_it_was_given(tmp_path: Path, daemon: Daemon) -> None:
    env = {**daemon.env, "LOCALRUN_LOG_LEVEL": "info"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "localrun", "serve", "--port", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        stderr = proc.stderr
        listening = r"listening on http://127\.0\.0\.1:(\d+)"
        found = wait_for(lambda: re.search(listening, stderr.readline()), timeout=30, interval=0)
        port = int(found.group(1))
        assert port != 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            assert answer.status == 200
    finally:
        proc.terminate()
        assert proc.wait(10) == 0


@pytest.mark.daemon_not_started
def test_missing_tls_files_are_one_line_not_a_traceback(daemon: Daemon, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "localrun", "serve", "--port", str(free_port())],
        env={
            **daemon.env,
            "LOCALRUN_DATA_DIR": str(tmp_path / "other"),
            "LOCALRUN_TLS_CERT": str(tmp_path / "absent.pem"),
            "LOCALRUN_TLS_KEY": str(tmp_path / "absent.key"),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "cannot use tls_cert" in done.stderr and "No such file" in done.stderr
    assert "Traceback" not in done.stderr
