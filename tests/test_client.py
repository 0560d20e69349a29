from __future__ import annotations

import stat
from pathlib import Path

import pytest

from localrun import client
from localrun.client import Client, ClientError, resolve, save_client_config
from tests.conftest import free_port


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "client.toml"
    monkeypatch.setattr(client, "client_config_path", lambda: path)
    monkeypatch.delenv("LOCALRUN_URL", raising=False)
    monkeypatch.delenv("LOCALRUN_TOKEN", raising=False)
    return path


def test_flags_win_over_the_environment_over_the_file(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve(None, None) == (client.DEFAULT_URL, "")
    save_client_config("http://file:1/", "from-file", config_file)
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    assert resolve(None, None) == ("http://file:1", "from-file")
    monkeypatch.setenv("LOCALRUN_URL", "http://env:2")
    monkeypatch.setenv("LOCALRUN_TOKEN", "from-env")
    assert resolve(None, None) == ("http://env:2", "from-env")
    assert resolve("http://flag:3/", "from-flag") == ("http://flag:3", "from-flag")


def test_an_unreachable_daemon_is_a_clear_error() -> None:
    with pytest.raises(ClientError, match=r"cannot reach localrun at http://127\.0\.0\.1:") as info:
        Client(f"http://127.0.0.1:{free_port()}", "t", timeout=5).health()
    assert info.value.status == 0


def test_error_bodies_become_their_message() -> None:
    assert client._error_message(b'{"error": {"message": "no run x"}}') == "no run x"
    assert client._error_message(b"<html>oops</html>") == "<html>oops</html>"
    assert client._error_message(b'{"detail": "x"}') == '{"detail": "x"}'


def test_only_https_builds_a_tls_context() -> None:
    assert Client("http://127.0.0.1:1", "t").context is None
    assert Client("https://127.0.0.1:1", "t").context is not None
