from __future__ import annotations

import ssl
import stat
import subprocess
import sys
from pathlib import Path

import requests

from localrun import tls
from tests.conftest import Daemon, free_port
from tests.polling import wait_for


def test_init_makes_a_ca_and_a_certificate_for_this_host(tmp_path: Path) -> None:
    files = tls.init(tmp_path / "tls")
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
    context = ssl.create_default_context(cafile=str(files.ca))
    context.load_cert_chain(str(files.cert), str(files.key))  # the key matches the certificate
    text = subprocess.run(
        ["openssl", "x509", "-noout", "-text", "-in", str(files.cert)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    if text:  # openssl is only a second opinion here
        for name in ("127.0.0.1", "localhost", "0:0:0:0:0:0:0:1"):
            assert name in text


def test_the_cli_prints_the_flags_and_the_daemon_serves_https_with_them(
    daemon: Daemon, tmp_path: Path
) -> None:
    done = daemon.localrun("tls", "init", str(tmp_path / "certs"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    words = next(line for line in lines if "--tls-cert" in line).split()
    flags = words[words.index("--tls-cert") :]
    ca = next(line for line in lines if line.startswith("REQUESTS_CA_BUNDLE=")).split("=", 1)[1]
    assert Path(ca) == tmp_path / "certs" / "ca.pem"
    daemon.kill()
    daemon.port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "localrun", "serve", "--port", str(daemon.port), *flags],
        env=daemon.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def answers(host: str) -> requests.Response | None:
            try:
                url = f"https://{host}:{daemon.port}/healthz"
                return requests.get(url, verify=ca, timeout=2)
            except requests.ConnectionError:
                return None

        for host in ("127.0.0.1", "localhost"):
            assert wait_for(lambda host=host: answers(host), 30).status_code == 200  # type: ignore[misc]
    finally:
        proc.terminate()
        proc.wait(10)
