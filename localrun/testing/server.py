"""LocalrunServer: `python -m localrun serve` in a subprocess on an ephemeral port with a
temporary data directory (no settings file read), and the admin API's controls as methods."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from localrun import daemon_process

ADMIN = "/localrun/admin/v1"


class LocalrunError(RuntimeError):
    """The daemon did not start, or its admin API refused a call (the message says why)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalrunServer:
    """A real localrun daemon for a test session.

    `url` is its base URL, `token(name)` a token of the owner `name` (made once), `ca_bundle`
    the CA file of its certificate when started with tls=True (else None), `reset()` removes
    every run, job, file and object (of one owner or of all), keeping the tokens.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        tls: bool = False,
        cores: int = 2,
        sim_speed: float = 50.0,
        settings: Mapping[str, str] | None = None,
        worker: str = "master",
    ) -> None:
        self.data_dir = Path(data_dir)
        self.tls = tls
        self.worker = worker
        self.admin_token = "adm_" + secrets.token_urlsafe(24)
        self.port = 0
        self.ca_bundle: str | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self._tokens: dict[str, str] = {}
        self.env = {
            **os.environ,
            "LOCALRUN_CONFIG": "",  # no user settings file
            "LOCALRUN_DATA_DIR": str(self.data_dir / "data"),
            "LOCALRUN_CORES": str(cores),
            "LOCALRUN_SIM_SPEED": f"{sim_speed:g}",
            "LOCALRUN_POLL_INTERVAL_S": "0.2",
            "LOCALRUN_STOP_GRACE_S": "2",
            "LOCALRUN_ADMIN_TOKEN": self.admin_token,
        }
        for name, value in (settings or {}).items():
            self.env["LOCALRUN_" + name.upper()] = str(value)

    # lifecycle

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "daemon.log"

    def start(self, timeout: float = 60.0) -> LocalrunServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.tls and self.ca_bundle is None:
            from localrun import tls

            made = tls.init(self.data_dir / "tls", ["127.0.0.1", "localhost"])
            self.env["LOCALRUN_TLS_CERT"], self.env["LOCALRUN_TLS_KEY"] = (
                str(made.cert),
                str(made.key),
            )
            self.ca_bundle = str(made.ca)
        self.port = free_port()
        self.proc = daemon_process.spawn(
            ["serve", "--port", str(self.port)], self.log_path, self.env
        )
        try:
            daemon_process.wait_ready(self.proc, self._answers, timeout)
        except daemon_process.NotReady as exc:
            if exc.exited:
                raise LocalrunError(f"localrun exited at start-up:\n{self.log_tail()}") from None
            self.stop()
            raise LocalrunError(f"localrun did not answer in {timeout:g} s") from None
        return self

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=2, context=self._context()):
                return True
        except OSError:
            return False

    def _context(self) -> ssl.SSLContext | None:
        return ssl.create_default_context(cafile=self.ca_bundle) if self.ca_bundle else None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        """Kill every run still going (runs live in sessions of their own and would outlive
        the daemon), then SIGTERM the daemon, then SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(LocalrunError, OSError):  # it is stopped all the same
            self.admin("POST", "/reset", {"all": True})
        daemon_process.terminate(self.proc)

    def restart(self) -> LocalrunServer:
        """Stop the daemon (SIGTERM; runs keep going) and start it again on the same data
        directory, on a new port; tokens stay valid."""
        if self.proc is not None:
            daemon_process.terminate(self.proc, grace_s=30)
        return self.start()

    def __enter__(self) -> LocalrunServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # the admin API

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + ADMIN + path,
            data=data,
            method=method,
            headers={
                "Authorization": "Bearer " + self.admin_token,
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=60, context=self._context()) as answer:
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as exc:
            text = exc.read().decode(errors="replace")
            with contextlib.suppress(ValueError, KeyError, TypeError):
                text = json.loads(text)["error"]["message"]
            raise LocalrunError(f"{method} {ADMIN}{path}: {exc.code} {text}") from None

    def token(self, name: str = "tester") -> str:
        """A token of the owner `name`, made the first time it is asked for."""
        if name not in self._tokens:
            self._tokens[name] = self.admin("POST", "/tokens", {"name": name})["token"]
        return self._tokens[name]

    def reset(self, owner: str | None = None) -> dict[str, Any]:
        """Remove every run, job, file and object of `owner` (None: of everyone) and the
        scripts, holds and faults; the tokens stay."""
        self.admin("DELETE", "/scripts")
        self.admin("DELETE", "/faults")
        self.admin("POST", "/release")
        body = {"all": True} if owner is None else {"owner": owner}
        done: dict[str, Any] = self.admin("POST", "/reset", body)
        return done

    def script(
        self,
        outcome: str = "succeed",
        *,
        at_percent: float = 50.0,
        speed: float | str | None = None,
        runs: int = 1,
        run_id: str | None = None,
    ) -> Any:
        """How the next `runs` runs to start (or the run `run_id`) end: succeed, cfl,
        namelist, fail, hang, killed or lost at `at_percent`; speed a factor of the simulator
        or "instant"."""
        body: dict[str, Any] = {"outcome": outcome, "at_percent": at_percent}
        if speed is not None:
            body["speed"] = speed
        if run_id is not None:
            return self.admin("POST", f"/runs/{run_id}/script", body)
        return self.admin("POST", "/scripts", {**body, "runs": runs})

    def hold(self, run_id: str) -> Any:
        return self.admin("POST", f"/runs/{run_id}/hold")

    def release(self, run_id: str | None = None) -> Any:
        return self.admin("POST", "/release" if run_id is None else f"/runs/{run_id}/release")

    def set_cores(self, cores: int) -> Any:
        return self.admin("PUT", "/cores", {"cores": cores})

    def fault(self, family: str, kind: str = "status", **rule: Any) -> Any:
        """A fault on `family`'s requests (path: a regular expression, method, count or
        probability and seed, status and message, latency_ms)."""
        return self.admin("POST", "/faults", {"family": family, "kind": kind, **rule})

    def faults(self) -> Any:
        return self.admin("GET", "/faults")

    def clear_faults(self) -> Any:
        return self.admin("DELETE", "/faults")

    # each family's client configuration (CLIENTS.md)

    def cloudrun_url(self) -> str:
        """The Cloudrun client's base URL (cloudrun.run.API_URL and the Run/Api url)."""
        return self.url + "/v1"

    def rescale_endpoint(self) -> str:
        """rescalepy.client.ENDPOINT, trailing slash included."""
        return self.url + "/api/v2/"

    def wherobots_env(self, name: str = "tester") -> dict[str, str]:
        if not self.tls or self.ca_bundle is None:
            raise LocalrunError("the Wherobots clients need HTTPS: start the server with tls")
        return {
            "WHEROBOTS_API_BASE_URL": self.url,
            "WHEROBOTS_API_KEY": self.token(name),
            "WHEROBOTS_REGION": "local",
            "REQUESTS_CA_BUNDLE": self.ca_bundle,
            "AWS_ENDPOINT_URL_S3": self.url + "/s3",
            "AWS_CA_BUNDLE": self.ca_bundle,
        }

    def sharedcloud_url(self) -> str:
        return self.url
