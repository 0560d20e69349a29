"""The pytest plugin in a pytest run of its own: one session daemon shared by the tests and
reset between them, keyed by the pytest-xdist worker, and the family helpers, which apply each
client's configuration and put it back."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.testing.runner import run_pytest

REPO = Path(__file__).resolve().parents[2]
SETUP = "import setuptools; setuptools.setup()"

SESSION = """
import os
import requests

seen = {}


def test_one(localrun_server):
    seen["url"] = localrun_server.url
    seen["pid"] = localrun_server.proc.pid
    assert localrun_server.worker == os.environ.get("PYTEST_XDIST_WORKER", "master")
    assert localrun_server.data_dir.name.startswith("localrun-" + localrun_server.worker)
    assert localrun_server.ca_bundle is None and localrun_server.url.startswith("http://127.0.0.1:")
    token = localrun_server.token("alice")
    assert localrun_server.token("alice") == token, "made once"
    h = {"Authorization": "Bearer " + token}
    url = localrun_server.url
    r = requests.post(url + "/v1/runs", headers=h, data={"model": "wrf", "version": "4.5"})
    assert r.status_code == 201, r.text
    assert len(requests.get(url + "/localrun/v1/runs", headers=h).json()["runs"]) == 1
    assert localrun_server.reset("alice")["runs"] == 1
    assert requests.get(url + "/localrun/v1/runs", headers=h).json()["runs"] == []


def test_two_shares_the_daemon(localrun_server):
    assert (localrun_server.url, localrun_server.proc.pid) == (seen["url"], seen["pid"])
    assert localrun_server.proc.poll() is None
"""

HELPERS = """
import os
import requests
import rescalepy.client as rc

DEFAULT = rc.ENDPOINT


def test_rescale(localrun_server, localrun_rescale):
    assert rc.ENDPOINT == localrun_server.url + "/api/v2/"
    assert localrun_rescale.get_core_types()[0]["code"] == "local"


def test_rescale_put_back():
    assert rc.ENDPOINT == DEFAULT == "https://platform.rescale.com/api/v2/"


def test_cloudrun(localrun_server, localrun_cloudrun):
    assert localrun_cloudrun.url == localrun_server.url + "/v1"
    assert localrun_cloudrun.constant == "cloudrun.run.API_URL"
    h = {"Authorization": "Bearer " + localrun_cloudrun.token}
    body = {"model": "wrf", "version": "4.5"}
    r = requests.post(localrun_cloudrun.url + "/runs", headers=h, data=body)
    assert r.json()["status"] == "created"


def test_sharedcloud(localrun_server, localrun_sharedcloud, tmp_path):
    import sharedcloud_cli.constants as constants
    assert os.environ["SHAREDCLOUD_CLI_URL"] == localrun_server.url
    assert os.environ["HOME"] == localrun_sharedcloud["HOME"]
    assert constants.SHAREDCLOUD_CLI_URL == localrun_server.url
    assert constants.DATA_FOLDER == localrun_sharedcloud["HOME"] + "/.sharedcloud"


def test_sharedcloud_put_back():
    import sharedcloud_cli.constants as constants
    assert "SHAREDCLOUD_CLI_URL" not in os.environ
    assert constants.SHAREDCLOUD_CLI_URL == "https://sharedcloud.io"


def test_wherobots_needs_tls(localrun_server, request):
    import pytest
    from localrun.testing.server import LocalrunError
    with pytest.raises(LocalrunError, match="need HTTPS"):
        request.getfixturevalue("localrun_wherobots")
"""

TLS = """
import os
import requests


def test_wherobots(localrun_server, localrun_wherobots):
    from wherobots import WherobotsJob
    assert localrun_server.url.startswith("https://127.0.0.1:")
    assert os.environ["WHEROBOTS_API_BASE_URL"] == localrun_server.url
    assert os.environ["REQUESTS_CA_BUNDLE"] == localrun_server.ca_bundle
    assert WherobotsJob.list_runs().items == []
    r = requests.get(localrun_server.url + "/healthz", verify=localrun_server.ca_bundle)
    assert r.status_code == 200


def test_wherobots_put_back():
    assert "WHEROBOTS_API_KEY" not in os.environ
"""


SHAREDCLOUD = """
import subprocess
import sys

from click.testing import CliRunner


def test_the_cli_sees_a_503_with_sharedcloud_s_body(localrun_server, localrun_sharedcloud):
    from sharedcloud_cli.main import cli

    subprocess.run(
        [sys.executable, "-m", "localrun", "user", "create", "alice", "--password-stdin"],
        input="a long password\\n", env=localrun_server.env, text=True, check=True,
    )
    runner = CliRunner()
    login = runner.invoke(cli, ["login", "--username", "alice"], input="a long password\\n")
    assert "Login Succeeded" in login.output
    localrun_server.fault("sharedcloud", status=503, path="^/api/v1/runs/$", count=1)
    faulted = runner.invoke(cli, ["run", "list"])
    assert (faulted.exit_code, faulted.output) == (1, '{"detail": "Service Unavailable"}\\n')
    again = runner.invoke(cli, ["run", "list"])
    assert again.exit_code == 0 and again.output.startswith("UUID")
"""


def test_the_sharedcloud_cli_through_its_helper(tmp_path: Path) -> None:
    (tmp_path / "test_sharedcloud.py").write_text(SHAREDCLOUD)
    outcome = run_pytest(tmp_path, "test_sharedcloud.py", unset=("SHAREDCLOUD_CLI_URL",))
    assert outcome.returncode == 0, outcome.output
    assert "1 passed" in outcome.output


def test_one_session_daemon_shared_and_reset(tmp_path: Path) -> None:
    (tmp_path / "test_session.py").write_text(SESSION)
    outcome = run_pytest(tmp_path, "test_session.py")
    assert outcome.returncode == 0, outcome.output
    assert "2 passed" in outcome.output


def test_one_daemon_per_xdist_worker(tmp_path: Path) -> None:
    """pytest-xdist sets PYTEST_XDIST_WORKER in each worker; the fixture keys by it."""
    (tmp_path / "test_session.py").write_text(SESSION)
    outcome = run_pytest(tmp_path, "test_session.py", env={"PYTEST_XDIST_WORKER": "gw3"})
    assert outcome.returncode == 0, outcome.output
    assert [p.name for p in (tmp_path / "tmp").iterdir() if not p.is_symlink()] == [
        "localrun-gw3-0"
    ]


def test_the_family_helpers_apply_and_put_back(tmp_path: Path) -> None:
    (tmp_path / "test_helpers.py").write_text(HELPERS)
    outcome = run_pytest(tmp_path, "test_helpers.py", unset=("SHAREDCLOUD_CLI_URL",))
    assert outcome.returncode == 0, outcome.output
    assert "6 passed" in outcome.output


def test_tls_on_request_for_the_wherobots_clients(tmp_path: Path) -> None:
    (tmp_path / "test_tls.py").write_text(TLS)
    (tmp_path / "pytest.ini").write_text("[pytest]\nlocalrun_tls = true\n")
    outcome = run_pytest(tmp_path, "test_tls.py")
    assert outcome.returncode == 0, outcome.output
    assert "2 passed" in outcome.output


def test_the_entry_point_names_the_plugin() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["pytest11"] == {"localrun": "localrun.testing.plugin"}


def test_the_installed_entry_point_loads_the_plugin_without_p(tmp_path: Path) -> None:
    """The package's metadata as setuptools writes it at install; pytest finds the plugin
    through it, with no -p."""
    meta = tmp_path / "meta"
    meta.mkdir()
    made = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", SETUP, "-q", "egg_info", "-e", str(meta)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    [info] = meta.glob("*.egg-info")
    assert (
        "[pytest11]\nlocalrun = localrun.testing.plugin" in (info / "entry_points.txt").read_text()
    )
    (tmp_path / "test_found.py").write_text(
        "def test_found(localrun_server):\n    assert localrun_server.url\n"
    )
    env = {**os.environ, "PYTHONPATH": str(meta), "PYTEST_ADDOPTS": ""}
    found = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_found.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert found.returncode == 0 and "1 passed" in found.stdout, found.stdout + found.stderr
