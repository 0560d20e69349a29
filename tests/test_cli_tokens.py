"""token create --save records the running daemon's URL; login saves a URL and token."""

from __future__ import annotations

import tomllib
from pathlib import Path

from localrun.client import Client
from tests.conftest import Daemon


def saved(daemon: Daemon) -> dict[str, str]:
    path = Path(daemon.env["XDG_CONFIG_HOME"]) / "localrun" / "client.toml"
    return tomllib.loads(path.read_text())


def test_save_records_the_daemons_own_url(daemon: Daemon) -> None:
    assert (daemon.data_dir / "daemon.url").read_text().strip() == daemon.url
    done = daemon.localrun("token", "create", "alice", "--save")
    assert done.returncode == 0, done.stderr
    assert saved(daemon) == {"url": daemon.url, "token": done.stdout.strip()}
    other = daemon.localrun("token", "create", "bob", "--save", "--url", "https://x:9/")
    assert saved(daemon)["url"] == "https://x:9"
    assert saved(daemon)["token"] == other.stdout.strip()


def test_login_checks_then_saves(daemon: Daemon) -> None:
    token = daemon.localrun("token", "create", "carol").stdout.strip()
    env = {k: v for k, v in daemon.env.items() if k not in {"LOCALRUN_URL", "LOCALRUN_TOKEN"}}
    daemon.env = env
    bad = daemon.localrun("login", "--url", daemon.url, "--token", "lr_nope")
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
    done = daemon.localrun("login", "--url", daemon.url + "/", "--token", token)
    assert done.returncode == 0, done.stderr
    assert saved(daemon) == {"url": daemon.url, "token": token}
    listed = daemon.localrun("list")
    assert listed.returncode == 0 and listed.stdout.startswith("ID")
    assert Client(daemon.url, token).health()["status"] == "ok"


def test_token_subcommands_have_their_own_help(daemon: Daemon) -> None:
    done = daemon.localrun("token", "list", "--help")
    assert done.returncode == 0
    assert "List every token" in done.stdout and "--save" not in done.stdout
    revoked = daemon.localrun("token", "revoke", "tester")
    assert revoked.returncode == 0 and revoked.stdout.strip() == "revoked tester"
    again = daemon.localrun("token", "revoke", "tester")
    assert again.returncode == 1 and "no active token" in again.stderr
