"""The real sharedcloud-cli 0.0.5, through click's CliRunner, pointed at a daemon (CLIENTS.md §E1:
every module copies the URL and the token file's path at import, so each is patched)."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner, Result

from tests.conftest import Daemon, create_user
from tests.polling import wait_for

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
IMAGE = "24b3a0f8-c405-4928-954f-d5c93273f88a"
PASSWORD = "correct horse battery"
STATUS_WORDS = ("CREATED", "IN_PROGRESS", "SUCCEEDED", "FAILED", "TIMEOUT")


def make_user(daemon: Daemon, name: str, password: str = PASSWORD) -> None:
    create_user(daemon.data_dir, name, password)


@dataclass
class Cli:
    daemon: Daemon
    home: Path
    runner: CliRunner

    def __call__(self, *args: str, input: str | None = None) -> Result:
        from sharedcloud_cli.main import cli

        return self.runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    def ok(self, *args: str, input: str | None = None) -> str:
        result = self(*args, input=input)
        assert result.exit_code == 0, result.output
        return result.output

    def login(self, username: str, password: str = PASSWORD) -> None:
        assert "Login Succeeded" in self.ok("login", "--username", username, input=password + "\n")

    def token(self) -> str:
        return (self.home / ".sharedcloud" / "client_config").read_text()

    def http(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Token {self.token()}", **kwargs.pop("headers", {})}
        url = f"{self.daemon.url}/api/v1/{path}"
        return requests.request(method, url, headers=headers, timeout=60, **kwargs)

    def function(self, tmp: Path, name: str, code: str) -> str:
        source = tmp / f"{name}.py"
        source.write_text(code)
        out = self.ok(
            "function", "create", "--name", name, "--image-uuid", IMAGE, "--file", str(source)
        )
        return out.strip()

    def run(self, function_id: str, parameters: str, bid: str = "2.0") -> str:
        out = self.ok(
            "run",
            "create",
            "--function-uuid",
            function_id,
            "--parameters",
            parameters,
            "--bid-price",
            bid,
        )
        return out.strip()

    def job_rows(self, run_id: str) -> list[tuple[str, str]]:
        """(job uuid, status word) of the run's rows in `job list`."""
        rows = []
        for line in self.ok("job", "list").splitlines():
            ids = UUID.findall(line)
            words = [w for w in line.split() if w in STATUS_WORDS]
            if len(ids) == 2 and ids[1] == run_id and words:
                rows.append((ids[0], words[0]))
        return rows

    def wait_jobs(
        self, run_id: str, count: int, done: tuple[str, ...], timeout: float = 120
    ) -> list[tuple[str, str]]:
        def settled() -> list[tuple[str, str]] | None:
            rows = self.job_rows(run_id)
            return rows if len(rows) == count and all(s in done for _, s in rows) else None

        return wait_for(settled, timeout=timeout, interval=0.3)


def cli_for(daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The CLI pointed at daemon, its token file under tmp_path (undone after the test)."""
    import sharedcloud_cli.main  # noqa: F401 - imports every module that copies the settings

    home = tmp_path / "home"
    data = home / ".sharedcloud"
    data.mkdir(parents=True)
    values = {
        "SHAREDCLOUD_CLI_URL": daemon.url,
        "DATA_FOLDER": str(data),
        "SHAREDCLOUD_CLI_CLIENT_CONFIG_FILENAME": str(data / "client_config"),
        "SHAREDCLOUD_CLI_INSTANCE_CONFIG_FILENAME": str(data / "instance_config"),
    }
    for name, module in list(sys.modules.items()):
        if name.startswith("sharedcloud_cli"):
            for key, value in values.items():
                if hasattr(module, key):
                    monkeypatch.setattr(module, key, value)
    monkeypatch.setenv("HOME", str(home))
    return Cli(daemon, home, CliRunner())
