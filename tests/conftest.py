"""Shared fixtures: settings in a temp dir, an in-loop app client, and a real daemon process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp.test_utils import TestClient, TestServer

from localrun import daemon_process
from localrun.api.keys import SERVICE
from localrun.app import init_app
from localrun.client import Client
from localrun.config import Settings
from localrun.service import Service

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("LOCALRUN_FIXTURES", REPO / "tests" / "fixtures" / "wrf"))
EXAMPLE = REPO / "localrun" / "example_case"
SHUTDOWN_LIMIT_S = 30


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": str(data_dir),
        "port": 0,
        "cores": 2,
        "sim_speed": 20.0,
        "poll_interval_s": 0.2,
        "stop_grace_s": 3.0,
        "stall_floor_s": 30.0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


class BoundedClient(TestClient[Any, Any]):
    """aiohttp's TestClient, whose close (the app's shutdown) is bounded at SHUTDOWN_LIMIT_S.

    The rare shutdown hang (about one full run in four: every worker thread idle, the loop
    ticking) is the supervisor's loop swallowing its cancellation. Python 3.11's
    asyncio.wait_for returns the inner result when the cancellation arrives after the inner
    future finished, so a kick() (the wake event set) in the same loop iteration as
    Supervisor.close()'s cancel keeps `while True` going and `await self._task` never returns.
    Bounding close() cancels it again at the limit, which ends it; the app's own cleanup then
    completes (Supervisor.close suppresses that CancelledError)."""

    async def close(self) -> None:
        started = time.monotonic()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(super().close(), SHUTDOWN_LIMIT_S)
        if time.monotonic() - started >= SHUTDOWN_LIMIT_S:
            print(f"\nin-process app: shutdown took over {SHUTDOWN_LIMIT_S} s", file=sys.stderr)


@pytest.fixture
def aiohttp_client_cls() -> type[TestClient[Any, Any]]:
    """pytest-aiohttp's aiohttp_client makes BoundedClients."""
    return BoundedClient


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    app = init_app(settings)
    test_client = BoundedClient(TestServer(app))
    await test_client.start_server()
    yield test_client
    await test_client.close()


@pytest.fixture
async def service(client: TestClient[Any, Any]) -> Service:
    found: Service = client.app[SERVICE]
    return found


@pytest.fixture
async def token(service: Service) -> str:
    return await service.create_token("alice")


@pytest.fixture
async def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Daemon:
    """The real daemon in a subprocess: `python -m localrun serve`, on an ephemeral port."""

    data_dir: Path
    env: dict[str, str]
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    token: str = ""

    @property
    def url(self) -> str:
        scheme = "https" if self.env.get("LOCALRUN_TLS_CERT") else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def localrun(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "localrun", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def start(self) -> None:
        self.port = self.port or free_port()
        log = self.data_dir / f"daemon-{time.time():.0f}.log"
        self.proc = daemon_process.spawn(["serve", "--port", str(self.port)], log, self.env)

        def answering() -> bool:
            try:
                ca = self.env.get("REQUESTS_CA_BUNDLE")
                context = ssl.create_default_context(cafile=ca) if ca else None
                with urllib.request.urlopen(self.url + "/healthz", timeout=2, context=context):
                    return True
            except OSError:
                return False

        try:
            daemon_process.wait_ready(self.proc, answering, timeout=30)
        except daemon_process.NotReady as exc:
            raise RuntimeError(f"the daemon {exc}; see {log}") from None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(timeout=30)

    def api(self, method: str, path: str, body: Any = None) -> Any:
        return Client(self.url, self.token, timeout=30).call(method, path, body)


T = TypeVar("T")


def in_own_loop(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """work() run to its end in an event loop of its own, not set as the current loop
    (pytest-asyncio owns that)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(work())
    finally:
        loop.close()


def create_token(data_dir: Path, name: str) -> str:
    """A token in the data directory's database, as `localrun token create NAME` makes it, but
    in this process: the CLI's own start-up (1.5 s under load) is tested in test_cli_tokens."""
    from localrun.service.auth import tokens_at

    async def create() -> str:
        async with tokens_at(data_dir / "localrun.db") as tokens:
            return await tokens.create(name, None)

    return in_own_loop(create)


def create_user(data_dir: Path, name: str, password: str) -> None:
    """An account, as `localrun user create NAME --password-stdin` makes it (tested in
    test_cli_user), in this process."""
    from localrun.service.accounts import accounts_at

    async def create() -> None:
        async with accounts_at(data_dir / "localrun.db") as accounts:
            await accounts.create(name, password, "")

    in_own_loop(create)


@pytest.fixture
def daemon_env() -> dict[str, str]:
    """Extra environment for the daemon fixture; a test module overrides it to add settings."""
    return {}


@contextlib.contextmanager
def running_daemon(base: Path, extra_env: dict[str, str], start: bool = True) -> Iterator[Daemon]:
    """The real daemon on a data directory under base, with a token; stopped afterwards and no
    run of it left behind. With start=False only its data directory, token, environment and a
    free port: for a test that starts `localrun serve` its own way."""
    data_dir = base / "daemon"
    data_dir.mkdir()
    env = {
        **os.environ,
        "LOCALRUN_DATA_DIR": str(data_dir),
        "LOCALRUN_CORES": "2",
        "LOCALRUN_SIM_SPEED": "10",
        "LOCALRUN_POLL_INTERVAL_S": "0.2",
        "LOCALRUN_STOP_GRACE_S": "3",
        "LOCALRUN_CONFIG": "",  # no settings file
        "XDG_CONFIG_HOME": str(base / "config"),
        **extra_env,
    }
    d = Daemon(data_dir, env)
    d.token = create_token(data_dir, "tester")
    d.env["LOCALRUN_TOKEN"] = d.token
    try:
        if start:
            d.start()
        else:
            d.port = free_port()
        d.env["LOCALRUN_URL"] = d.url
        yield d
    finally:
        try:
            if d.proc is not None and d.proc.poll() is None:
                d.kill(signal.SIGTERM)
        except subprocess.TimeoutExpired:  # a shutdown that hangs fails the test, and the
            d.kill(signal.SIGKILL)  # daemon is not left running after it
            raise
        finally:
            _kill_leftovers(data_dir)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "daemon_not_started: the daemon fixture is not started (running_daemon)"
    )


@pytest.fixture
def daemon(
    tmp_path: Path, daemon_env: dict[str, str], request: pytest.FixtureRequest
) -> Iterator[Daemon]:
    """A daemon of the test's own; a module whose tests do not interfere shares one instead
    (a module-scoped `daemon` fixture over running_daemon)."""
    start = request.node.get_closest_marker("daemon_not_started") is None
    with running_daemon(tmp_path, daemon_env, start=start) as d:
        yield d


def _slurm_missing() -> str | None:
    """Why no Slurm cluster takes jobs from here, or None when one does."""
    if shutil.which("sbatch") is None:
        return "Slurm is not installed (no sbatch)"
    try:
        done = subprocess.run(
            ["sinfo", "--noheader", "--format=%a"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"sinfo failed: {exc}"
    if done.returncode != 0 or "up" not in done.stdout.split():
        return f"no Slurm controller answers ({done.stderr.strip() or 'no partition up'})"
    return None


@pytest.fixture(scope="session")
def slurm_cluster() -> None:
    """A Slurm cluster this host submits to (`sudo scripts/slurm-up` makes one). Without one
    the Slurm tests are skipped, saying why; where LOCALRUN_REQUIRE_SLURM=1 (CI) they fail."""
    why = _slurm_missing()
    if why is None:
        return
    if os.environ.get("LOCALRUN_REQUIRE_SLURM") == "1":
        pytest.fail(f"LOCALRUN_REQUIRE_SLURM=1 but {why}", pytrace=False)
    pytest.skip(f"Slurm tests did not run: {why}; sudo scripts/slurm-up makes a cluster here")


@pytest.fixture
def slurm(slurm_cluster: None, tmp_path: Path) -> Iterator[None]:
    """The cluster, and no job of this test left on it afterwards."""
    yield
    listed = subprocess.run(
        ["squeue", "--noheader", "--format=%i|%Z"], capture_output=True, text=True, check=False
    )
    for line in listed.stdout.splitlines():
        job, _, work_dir = line.partition("|")
        if work_dir.startswith(str(tmp_path)):
            subprocess.run(["scancel", job], check=False)


def _kill_leftovers(data_dir: Path) -> None:
    """Runs outlive the daemon by design; a test must not leave them behind."""
    import psutil

    for proc in psutil.process_iter(["cwd"]):
        cwd = proc.info.get("cwd") or ""
        if cwd.startswith(str(data_dir)):
            with contextlib.suppress(psutil.Error):
                proc.kill()
