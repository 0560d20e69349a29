"""The Files drive (CLIENTS.md §B4.2) through the real SDK's FilesDrive and plain requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from localrun import tls
from tests.conftest import Daemon
from tests.polling import wait_for

SID = "user_files::local"
WRITER = """
import os
os.makedirs("out/deep", exist_ok=True)
open("out/deep/result.txt", "w").write("42\\n")
open("summary.txt", "w").write("done\\n")
print("wrote", flush=True)
"""


@pytest.fixture
def daemon_env(tmp_path: Path) -> dict[str, str]:
    made = tls.init(tmp_path / "tls", ["127.0.0.1", "localhost"])
    return {
        "LOCALRUN_TLS_CERT": str(made.cert),
        "LOCALRUN_TLS_KEY": str(made.key),
        "REQUESTS_CA_BUNDLE": str(made.ca),
    }


@pytest.fixture
def drive(daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> Any:
    from wherobots import Wherobots

    monkeypatch.setenv("WHEROBOTS_API_BASE_URL", daemon.url)
    monkeypatch.setenv("WHEROBOTS_API_KEY", daemon.token)
    monkeypatch.setenv("WHEROBOTS_REGION", "local")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", daemon.env["REQUESTS_CA_BUNDLE"])
    with Wherobots() as wb:
        yield wb.files.my_files


def call(daemon: Daemon, method: str, path: str, **kw: Any) -> requests.Response:
    headers = {"X-API-Key": daemon.token}
    ca = daemon.env["REQUESTS_CA_BUNDLE"]
    return requests.request(method, daemon.url + path, headers=headers, verify=ca, timeout=10, **kw)


def names(entries: list[Any]) -> list[str]:
    return sorted(e.name for e in entries)


def test_mkdir_upload_rename_delete_through_the_sdk(drive: Any, tmp_path: Path) -> None:
    from wherobots.exceptions import WherobotsFileNotFoundError

    local = tmp_path / "a.csv"
    local.write_text("x,y\n1,2\n")
    assert names(drive.list_directory()) == ["runs"]
    drive.make_directory("data/raw")
    assert drive.upload_file(local, "data/raw/a.csv") == "s3://localrun/tester/data/raw/a.csv"
    assert names(drive.list_directory("data")) == ["raw"]
    [entry] = drive.list_directory("data/raw")
    assert entry.name == "a.csv" and entry.size == 8
    drive.rename_file("data/raw/a.csv", "b.csv")
    assert names(drive.list_directory("data/raw")) == ["b.csv"]
    with pytest.raises(WherobotsFileNotFoundError):
        drive.rename_file("data/raw/a.csv", "c.csv")
    drive.delete_file("data/raw/b.csv")
    assert drive.list_directory("data/raw") == []
    with pytest.raises(WherobotsFileNotFoundError):
        drive.delete_file("data/raw/b.csv")
    drive.upload_file(local, "data/raw/again.csv")
    drive.delete_directory("data")
    assert names(drive.list_directory()) == ["runs"]
    with pytest.raises(WherobotsFileNotFoundError):
        drive.list_directory("data")


def test_listing_pages_with_a_cursor_and_the_root_has_a_trailing_slash(daemon: Daemon) -> None:
    for k in range(7):
        grant = call(daemon, "POST", f"/storage/{SID}/file-upload-url/many/f{k}.txt").json()
        requests.put(grant["uploadUrl"], data=b"x", verify=daemon.env["REQUESTS_CA_BUNDLE"])
    seen: list[str] = []
    cursor: str | None = None
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = call(daemon, "GET", f"/storage/{SID}/directories/many", params=query).json()
        seen += [item["name"] for item in page["items"]]
        cursor = page["next_page"]
        if cursor is None:
            break
    assert seen == [f"f{k}.txt" for k in range(7)]
    root = call(daemon, "GET", f"/storage/{SID}/directories/").json()
    assert {i["name"]: i["type"] for i in root["items"]} == {"many": "FOLDER", "runs": "FOLDER"}
    assert call(daemon, "GET", f"/storage/{SID}/directories/many?cursor=bogus").status_code == 400
    assert call(daemon, "GET", f"/storage/{SID}/directories/many?limit=5000").status_code == 400


def test_a_runs_outputs_are_listed_under_runs_and_cannot_be_changed(daemon: Daemon) -> None:
    grant = call(daemon, "POST", f"/storage/{SID}/file-upload-url/scripts/writer.py").json()
    requests.put(grant["uploadUrl"], data=WRITER.encode(), verify=daemon.env["REQUESTS_CA_BUNDLE"])
    body = {"name": "localrun-writer", "runPython": {"uri": grant["destination"]}}
    run = call(daemon, "POST", "/runs", json=body).json()
    wait_for(lambda: call(daemon, "GET", f"/runs/{run['id']}").json()["status"] == "COMPLETED", 30)

    def listing(path: str) -> dict[str, str]:
        items = call(daemon, "GET", f"/storage/{SID}/directories/{path}").json()["items"]
        return {i["name"]: i["type"] for i in items}

    assert run["id"] in listing("runs")
    assert listing(f"runs/{run['id']}") == {"out": "FOLDER", "summary.txt": "FILE"}
    assert listing(f"runs/{run['id']}/out/deep") == {"result.txt": "FILE"}
    gone = call(daemon, "GET", f"/storage/{SID}/directories/runs/{run['id']}/nothing")
    assert gone.status_code == 404 and "message" in gone.json()
    refused = call(daemon, "DELETE", f"/storage/{SID}/files/runs/{run['id']}/summary.txt")
    assert refused.status_code == 400 and "message" in refused.json()
    assert "summary.txt" in listing(f"runs/{run['id']}")
    ca = daemon.env["REQUESTS_CA_BUNDLE"]
    for name, text in (("summary.txt", "done\n"), ("out/deep/result.txt", "42\n")):
        path = f"/storage/{SID}/files/runs/{run['id']}/{name}"
        answer = call(daemon, "GET", path, allow_redirects=False)
        assert answer.status_code == 302, (name, answer.text)
        assert requests.get(answer.headers["Location"], verify=ca, timeout=10).text == text
    missing = call(
        daemon, "GET", f"/storage/{SID}/files/runs/{run['id']}/none", allow_redirects=False
    )
    assert missing.status_code == 404 and "message" in missing.json()


def test_download_is_a_redirect_to_a_one_time_https_url(daemon: Daemon) -> None:
    grant = call(daemon, "POST", f"/storage/{SID}/file-upload-url/d/file.bin").json()
    ca = daemon.env["REQUESTS_CA_BUNDLE"]
    requests.put(grant["uploadUrl"], data=b"\x00\x01payload", verify=ca)
    answer = call(daemon, "GET", f"/storage/{SID}/files/d/file.bin", allow_redirects=False)
    assert answer.status_code == 302 and answer.headers["Location"].startswith("https://")
    fetched = requests.get(answer.headers["Location"], verify=ca, timeout=10)
    assert fetched.content == b"\x00\x01payload"
    assert requests.get(answer.headers["Location"], verify=ca, timeout=10).status_code == 404
    missing = call(daemon, "GET", f"/storage/{SID}/files/d/none.bin", allow_redirects=False)
    assert missing.status_code == 404


def test_dot_dot_and_other_owners_stay_out(daemon: Daemon) -> None:
    # requests removes literal dot segments itself, so they are sent encoded
    for method, path in (
        ("GET", f"/storage/{SID}/directories/a/%2e%2e/%2e%2e/%2e%2e"),
        ("PUT", f"/storage/{SID}/directories/a/%2e%2e/%2e%2e/x"),
        ("DELETE", f"/storage/{SID}/directories/%2E%2E"),
        ("DELETE", f"/storage/{SID}/files/a/%2e%2e/b"),
        ("POST", f"/storage/{SID}/file-rename/a.txt?new_name=.."),
        ("POST", f"/storage/{SID}/file-rename/a.txt?new_name=x/y"),
        ("POST", f"/storage/{SID}/file-upload-url/a/%2E%2E/%2E%2E/x.py"),
    ):
        answer = call(daemon, method, path)
        assert answer.status_code in (400, 404), (method, path, answer.status_code)
        assert "message" in answer.json()
    data = Path(daemon.env["LOCALRUN_DATA_DIR"])
    assert not (data / "x").exists() and not (data / "objects" / "x").exists()
