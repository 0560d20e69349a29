"""`localrun user create|passwd NAME` on the data directory, as `token create` works."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from localrun.cli import main
from localrun.service.accounts import accounts_at


def user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    monkeypatch.setenv("LOCALRUN_CONFIG", "")
    return main(["user", *args, "--data-dir", str(tmp_path / "data")])


async def login(tmp_path: Path, name: str, password: str) -> str:
    async with accounts_at(tmp_path / "data" / "localrun.db") as accounts:
        return await accounts.login(name, password, "local")


def test_create_and_passwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pw = "one long password"
    assert user(tmp_path, monkeypatch, "create", "alice", "--password-stdin", stdin=pw + "\n") == 0
    assert "created user alice" in capsys.readouterr().out
    assert asyncio.run(login(tmp_path, "alice", pw)).startswith("lr_")
    again = user(tmp_path, monkeypatch, "create", "alice", "--password-stdin", stdin=pw + "\n")
    assert again == 1 and "already exists" in capsys.readouterr().err
    new = "another long password"
    assert user(tmp_path, monkeypatch, "passwd", "alice", "--password-stdin", stdin=new) == 0
    assert asyncio.run(login(tmp_path, "alice", new))
    short = user(tmp_path, monkeypatch, "passwd", "alice", "--password-stdin", stdin="short\n")
    assert short == 1 and "too short" in capsys.readouterr().err
    assert user(tmp_path, monkeypatch, "passwd", "nobody", "--password-stdin", stdin=pw) == 1


def test_without_a_terminal_the_password_comes_from_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert user(tmp_path, monkeypatch, "create", "alice", stdin="pw\n") == 2
    assert "--password-stdin" in capsys.readouterr().err


def test_the_password_is_asked_twice_at_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter(["one long password", "one long password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    tty = io.StringIO()
    monkeypatch.setattr(tty, "isatty", lambda: True)
    monkeypatch.setattr("sys.stdin", tty)
    monkeypatch.setenv("LOCALRUN_CONFIG", "")
    assert main(["user", "create", "bob", "--data-dir", str(tmp_path / "data")]) == 0
    differ = iter(["one long password", "another one"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(differ))
    assert main(["user", "passwd", "bob", "--data-dir", str(tmp_path / "data")]) == 2
