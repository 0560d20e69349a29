"""The pytest plugin (entry point pytest11 `localrun`): `pip install localrun` is enough.

Fixtures:
* localrun_server (session): a real daemon, one per pytest-xdist worker (its data directory is
  named after PYTEST_XDIST_WORKER); TLS when the ini option localrun_tls is true.
* localrun_rescale: a rescalepy Client on the daemon (rescalepy.client.ENDPOINT set, and put
  back at teardown).
* localrun_cloudrun: the Cloudrun client's base URL and token; cloudrun.run.API_URL is set
  when the official client is importable, and put back at teardown.
* localrun_wherobots: the Wherobots environment variables set (needs localrun_tls).
* localrun_sharedcloud: SHAREDCLOUD_CLI_URL and a fresh HOME set, in the environment and in
  every sharedcloud_cli module already imported.
* localrun_example_case: the built-in example case (namelist.input, wrfinput_d01) in tmp_path.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from localrun.testing.server import LocalrunServer

WORKER_ENV = "PYTEST_XDIST_WORKER"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "localrun_tls",
        "localrun_server speaks HTTPS (for the Wherobots clients)",
        type="bool",
        default=False,
    )
    parser.addini("localrun_cores", "cores the localrun_server hands out", default="2")
    parser.addini("localrun_sim_speed", "the simulator's speed factor", default="50")


def worker_id() -> str:
    """The pytest-xdist worker running this process ("gw0", ...), "master" without xdist."""
    return os.environ.get(WORKER_ENV, "") or "master"


@pytest.fixture(scope="session")
def localrun_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalrunServer]:
    worker = worker_id()
    server = LocalrunServer(
        tmp_path_factory.mktemp(f"localrun-{worker}-", numbered=True),
        tls=bool(request.config.getini("localrun_tls")),
        cores=int(request.config.getini("localrun_cores")),
        sim_speed=float(request.config.getini("localrun_sim_speed")),
        worker=worker,
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def localrun_example_case(tmp_path: Path) -> list[Path]:
    from localrun.cli.example import copy_example

    return copy_example(tmp_path / "localrun-example")


@pytest.fixture
def localrun_rescale(localrun_server: LocalrunServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    import rescalepy.client as rc

    monkeypatch.setattr(rc, "ENDPOINT", localrun_server.rescale_endpoint())
    return rc.Client(localrun_server.token())


@dataclass(frozen=True)
class CloudrunConfig:
    url: str  # cloudrun.Run(url, token) and cloudrun.run.API_URL
    token: str
    constant: str = "cloudrun.run.API_URL"


@pytest.fixture
def localrun_cloudrun(
    localrun_server: LocalrunServer, monkeypatch: pytest.MonkeyPatch
) -> CloudrunConfig:
    config = CloudrunConfig(localrun_server.cloudrun_url(), localrun_server.token())
    try:
        # the official client, not the unrelated PyPI package of that name
        crrun = importlib.import_module("cloudrun.run")
    except ImportError:
        return config
    if hasattr(crrun, "API_URL"):
        monkeypatch.setattr(crrun, "API_URL", config.url)
    return config


@pytest.fixture
def localrun_wherobots(
    localrun_server: LocalrunServer, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    env = localrun_server.wherobots_env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def localrun_sharedcloud(
    localrun_server: LocalrunServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, str]:
    # the CLI reads its URL and folders at import: imported first, so that teardown puts
    # back the values it had
    with contextlib.suppress(ImportError):
        importlib.import_module("sharedcloud_cli.main")
    home = tmp_path / "sharedcloud-home"
    home.mkdir()
    url = localrun_server.sharedcloud_url()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SHAREDCLOUD_CLI_URL", url)
    folder = str(home / ".sharedcloud")
    for name, module in list(sys.modules.items()):
        if not name.startswith("sharedcloud_cli") or module is None:
            continue
        if hasattr(module, "SHAREDCLOUD_CLI_URL"):
            monkeypatch.setattr(module, "SHAREDCLOUD_CLI_URL", url)
        if hasattr(module, "DATA_FOLDER"):
            monkeypatch.setattr(module, "DATA_FOLDER", folder)
        for attr in (
            "SHAREDCLOUD_CLI_CLIENT_CONFIG_FILENAME",
            "SHAREDCLOUD_CLI_INSTANCE_CONFIG_FILENAME",
        ):
            if hasattr(module, attr):
                base = os.path.basename(getattr(module, attr))
                monkeypatch.setattr(module, attr, f"{folder}/{base}")
    return {"SHAREDCLOUD_CLI_URL": url, "HOME": str(home)}
