"""Every command of `localrun --help`, as a new user gets it wrong: with an argument missing,
with a bad run id, and with no daemon running. Each answer is one clear line on stderr and a
non-zero exit, never a traceback."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from localrun.cli import build_parser
from tests.conftest import Daemon, free_port

# A command line that needs the daemon, for each client command (a run id where it takes one).
CLIENT = {
    "submit": ["submit", "{case}"],
    "watch": ["watch", "{id}"],
    "list": ["list"],
    "status": ["status", "{id}"],
    "logs": ["logs", "{id}"],
    "download": ["download", "{id}"],
    "stop": ["stop", "{id}"],
    "resume": ["resume", "{id}"],
    "rm": ["rm", "{id}"],
    "prune": ["prune", "--older-than", "30d"],
    "check": ["check"],
    "login": ["login", "--url", "{url}", "--token", "nope"],
}
# Commands that work on the data directory or on files only, never with the daemon.
OFFLINE = {"serve", "token", "user", "tls", "example", "inspect", "estimate", "completion"}
# What each takes as its first required argument, to leave out.
REQUIRED = {
    "submit": [],
    "watch": [],
    "status": [],
    "logs": [],
    "download": [],
    "rm": [],
    "resume": [],
    "prune": [],
    "login": ["--url", "http://x"],
    "token": [],
    "user": [],
    "tls": [],
    "example": [],
    "inspect": [],
    "estimate": [],
    "completion": [],
}


def commands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)  # type: ignore[arg-type]


def one_clear_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "Error:" not in lines[0].split(":")[0], stderr
    assert lines[0].startswith("localrun"), stderr
    return lines[0]


def test_every_command_is_walked() -> None:
    assert set(commands()) == set(CLIENT) | OFFLINE, "add the new command to this walk"


@pytest.fixture
def offline(tmp_path: Path) -> Daemon:
    """The CLI with a data directory, a token and a URL where no daemon listens."""
    (tmp_path / "daemon").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALRUN_")}
    env.update(
        LOCALRUN_DATA_DIR=str(tmp_path / "daemon"),
        LOCALRUN_CONFIG="",
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        LOCALRUN_TOKEN="lr_not-a-token",
        LOCALRUN_URL=f"http://127.0.0.1:{free_port()}",
    )
    return Daemon(tmp_path / "daemon", env)


@pytest.mark.parametrize("command", sorted(REQUIRED))
def test_a_missing_argument_is_one_line(offline: Daemon, command: str) -> None:
    done = offline.localrun(command, *REQUIRED[command])
    assert done.returncode == 2, done.stderr
    line = one_clear_line(done.stderr)
    assert "required" in line or "invalid choice" in line or "argument" in line, line
    assert "--help" in line


def test_a_bad_run_id_is_one_line(daemon: Daemon, tmp_path: Path) -> None:
    (tmp_path / "case").mkdir()
    values = {"id": "nosuchrun", "case": tmp_path / "case", "url": daemon.url}
    for command in sorted(set(CLIENT) - {"list", "prune", "check", "login"}):  # one daemon
        argv = [a.format(**values) for a in CLIENT[command]]
        done = daemon.localrun(*argv)
        assert done.returncode != 0, command
        line = one_clear_line(done.stderr)
        assert "nosuchrun" in line or "namelist" in line, (command, line)


def test_bad_values_are_one_line(daemon: Daemon) -> None:
    for argv in (
        ["list", "--state", "bogus"],
        ["list", "--since", "soon"],
        ["prune", "--older-than", "-3d"],
        ["prune", "--older-than", "1d", "--state", "running"],
        ["login", "--url", daemon.url, "--token", "lr_wrong"],
        ["token", "revoke", "nobody"],
    ):
        done = daemon.localrun(*argv)
        assert done.returncode != 0, argv
        one_clear_line(done.stderr)


@pytest.mark.parametrize("command", sorted(CLIENT))
def test_no_daemon_is_one_line(offline: Daemon, tmp_path: Path, command: str) -> None:
    case = tmp_path / "case"
    done = offline.localrun("example", str(case))
    assert done.returncode == 0, done.stderr
    url = offline.env["LOCALRUN_URL"]
    argv = [a.format(id="abc123", case=case, url=url) for a in CLIENT[command]]
    done = offline.localrun(*argv)
    assert done.returncode != 0
    line = one_clear_line(done.stderr)
    assert re.search(r"cannot reach localrun at http://127\.0\.0\.1:\d+", line), line
