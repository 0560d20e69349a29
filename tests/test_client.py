from __future__ import annotations

import stat
from pathlib import Path

import pytest

from localrun import client, files
from localrun.client import Client, ClientError, resolve, save_client_config
from tests.conftest import EXAMPLE, Daemon, free_port


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


@pytest.fixture
def daemon_env() -> dict[str, str]:
    return {"LOCALRUN_MAX_UPLOAD_BYTES": str(4 << 20)}


def test_upload_puts_each_file_and_multipart_still_works(daemon: Daemon, tmp_path: Path) -> None:
    api = Client(daemon.url, daemon.token, timeout=60)
    run = api.create_run(name="up")
    paths = [EXAMPLE / "namelist.input", EXAMPLE / "wrfinput_d01"]
    answer = api.upload(run["id"], paths)
    assert [f["name"] for f in answer["files"]] == ["namelist.input", "wrfinput_d01"]
    assert [f["md5"] for f in answer["files"]] == [files.md5_of(p) for p in paths]
    assert answer["run"]["state"] == "ready"
    stored = daemon.data_dir / "runs" / run["id"] / "input"
    assert sorted(p.name for p in stored.iterdir()) == ["namelist.input", "wrfinput_d01"]
    odd = tmp_path / "a b&c%d.txt"
    odd.write_bytes(b"odd")
    assert api.upload(run["id"], [odd])["files"][0]["name"] == "a b&c%d.txt"
    assert (stored / "a b&c%d.txt").read_bytes() == b"odd"
    other = api.create_run(name="multipart")
    answer = api.upload_multipart(other["id"], paths)
    assert [f["md5"] for f in answer["files"]] == [files.md5_of(p) for p in paths]
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (8 << 20))
    with pytest.raises(ClientError, match="exceeds the limit") as info:
        api.upload(run["id"], [big])
    assert info.value.status == 413
    with pytest.raises(ClientError) as info:
        api.upload("no-such-run", paths)
    assert info.value.status == 404
    assert sorted(p.name for p in stored.iterdir()) == [
        "a b&c%d.txt",
        *sorted(x.name for x in paths),
    ]
