"""The Wherobots Runs API in process (aiohttp's test client, no TLS needed there): what the
SDK-driven tests leave out. Names are checked whole, the list's total counts what matches,
metrics carry CPU, memory and cost, the prefix setting moves the family, and a run reads its
owner's store but cannot change it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from localrun.api.keys import SERVICE
from localrun.app import init_app
from localrun.service import Service
from tests.api.test_wherobots_programs import make_wheel
from tests.conftest import make_settings
from tests.polling import eventually

Client = TestClient[Any, Any]
BUSY = "import time\nstart = time.time()\nwhile time.time() - start < 2:\n    pass\nprint('done')\n"
TAMPER = """
import os
path = os.path.join(os.environ["LOCALRUN_STORE"], "scripts", "tamper.py")
for how in ("a", "w"):
    try:
        with open(path, how) as handle:
            handle.write("# changed by the run\\n")
        print("changed", how, flush=True)
    except OSError as exc:
        print("refused", how, type(exc).__name__, flush=True)
shared = []  # files of the run's folder that are hard links (to the store, the wheelhouse)
for folder, _, names in os.walk(".."):
    for name in names:
        found = os.path.join(folder, name)
        if os.path.islink(found) or os.stat(found).st_nlink < 2:
            continue
        try:
            open(found, "ab").close()  # opening to append is enough: it changes nothing
            shared.append(found)
        except OSError:
            pass
print("writable shared files", sorted(shared), flush=True)
import lrdemo
print("lrdemo", lrdemo.VALUE, flush=True)
"""


async def _chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


@pytest.fixture
async def make(aiohttp_client: Any, tmp_path: Path) -> Any:
    async def made(**overrides: Any) -> tuple[Client, Service, dict[str, str]]:
        settings = make_settings(tmp_path / "data", **overrides)
        client: Client = await aiohttp_client(init_app(settings))
        service: Service = client.app[SERVICE]
        key = {"X-API-Key": await service.create_token("alice")}
        return client, service, key

    return made


async def finished(client: Client, key: dict[str, str], run_id: str, prefix: str = "") -> Any:
    async def ended() -> Any:
        run = await (await client.get(f"{prefix}/runs/{run_id}", headers=key)).json()
        return run if run["status"] in ("COMPLETED", "FAILED", "CANCELLED") else None

    return await eventually(ended, timeout=60)


async def log_lines(client: Client, key: dict[str, str], run_id: str, prefix: str = "") -> Any:
    answer = await client.get(f"{prefix}/runs/{run_id}/logs?size=1000", headers=key)
    return [item["raw"] for item in (await answer.json())["items"]]


async def test_names_args_version_and_environment_are_checked_at_creation(make: Any) -> None:
    client, service, key = await make()
    await service.put_object("alice", "s/a.py", _chunk(b"print(1)"))
    script = {"uri": "s3://localrun/alice/s/a.py"}
    for body in (
        {"name": "localrun-newline\n", "runPython": script},
        {"name": "localrun-env-list", "runPython": script, "environment": []},
        {"name": "localrun-env-text", "runPython": script, "environment": ""},
        {"name": "localrun-env-zero", "runPython": script, "environment": 0},
        {"name": "localrun-nul-args", "runPython": {**script, "args": ["a\x00b"]}},
        {"name": "localrun-version1", "runPython": script, "version": {"x": 1}},
        {"name": "localrun-sparkcfg", "runPython": script, "environment": {"sparkConfigs": "x"}},
    ):
        answer = await client.post("/runs", json=body, headers=key)
        assert answer.status == 422, (body, await answer.text())
        assert "message" in await answer.json()
    assert await service.list_runs("alice") == []


async def test_the_list_total_counts_the_matching_runs_only(make: Any) -> None:
    client, service, key = await make()
    await service.put_object("alice", "s/a.py", _chunk(b"print(1)"))
    native = await client.post(
        "/localrun/v1/runs",
        json={"name": "native"},
        headers={"Authorization": "Bearer " + key["X-API-Key"]},
    )
    assert native.status == 201
    made = []
    for name in ("localrun-list-one", "localrun-list-two", "other-list-three"):
        body = {"name": name, "runPython": {"uri": "s3://localrun/alice/s/a.py"}}
        made.append(await (await client.post("/runs", json=body, headers=key)).json())
    for run in made:
        await finished(client, key, run["id"])

    async def listed(query: str) -> tuple[list[str], int, Any]:
        page = await (await client.get(f"/runs?{query}", headers=key)).json()
        return [r["name"] for r in page["items"]], page["total"], page["next_page"]

    assert (await listed("size=100"))[1] == 3
    assert await listed("size=0") == ([], 3, None)  # the seed's minimum: a count
    assert await listed("status=RUNNING") == ([], 0, None)
    names, total, following = await listed("status=COMPLETED&size=2")
    assert (names, total) == (["other-list-three", "localrun-list-two"], 3) and following
    names, total, following = await listed(f"status=COMPLETED&size=2&cursor={following}")
    assert (names, total, following) == (["localrun-list-one"], 3, None)
    names, total, following = await listed("name=localrun-list*&size=1")
    assert (names, total) == (["localrun-list-two"], 2) and following
    names, total, following = await listed(f"name=localrun-list*&size=1&cursor={following}")
    assert (names, total, following) == (["localrun-list-one"], 2, None)
    elsewhere = {"name": "localrun-list-far", "runPython": {"uri": "s3://localrun/alice/s/a.py"}}
    far = await (await client.post("/runs?region=far-1", json=elsewhere, headers=key)).json()
    assert far["region"] == "far-1" and made[0]["region"] == "local"
    assert (await listed("region=far-1"))[:2] == (["localrun-list-far"], 1)
    assert (await listed("region=local"))[1] == 3
    assert (await listed("size=100"))[1] == 4


async def test_metrics_give_cpu_memory_and_cost_from_the_samples(make: Any) -> None:
    client, service, key = await make(cost_per_core_hour=3600.0)  # a dollar per core-second
    await service.put_object("alice", "s/busy.py", _chunk(BUSY.encode()))
    body = {"name": "localrun-busy-01", "runPython": {"uri": "s3://localrun/alice/s/busy.py"}}
    run = await (await client.post("/runs", json=body, headers=key)).json()

    async def instant() -> Any:
        answer = await client.get(f"/runs/{run['id']}/metrics", headers=key)
        metrics = await answer.json()
        assert metrics["series_metrics"] == {}
        return metrics["instant_metrics"]

    async def busy() -> Any:
        found = await instant()
        return found if found.get("CPU_UTILIZATION_PERCENT", 0) > 50 else None

    during = await eventually(busy, timeout=30)  # the busy loop holds its one core
    assert during["CPU_UTILIZATION_PERCENT"] <= 110, during
    assert 0 < during["MEMORY_UTILIZATION_PERCENT"] < 100, during
    assert (await finished(client, key, run["id"]))["status"] == "COMPLETED"
    after = await instant()
    assert 2 <= after["COST_USD"] < 10, after  # one core for about 2 s


async def test_the_prefix_setting_moves_the_family(make: Any) -> None:
    client, _, key = await make(wherobots_prefix="/wb/")
    grant = await client.post("/wb/storage/user_files::local/file-upload-url/s/a.py", headers=key)
    upload_url = (await grant.json())["uploadUrl"]
    assert "/wb/storage/upload/" in upload_url
    put = await client.put("/wb/storage/upload/" + upload_url.rsplit("/", 1)[1], data=b"print(7)")
    assert put.status == 200
    body = {"name": "localrun-prefixed", "runPython": {"uri": "s3://localrun/alice/s/a.py"}}
    run = await (await client.post("/wb/runs", json=body, headers=key)).json()
    assert (await finished(client, key, run["id"], "/wb"))["status"] == "COMPLETED"
    assert await log_lines(client, key, run["id"], "/wb") == ["7"]
    storage = await (await client.get("/wb/storage", headers=key)).json()
    assert [s["type"] for s in storage] == ["MANAGED"]
    assert (await client.get("/runs", headers=key)).status == 404
    assert (await client.get("/storage", headers=key)).status == 404


async def test_a_run_reads_its_owners_store_but_cannot_change_it(make: Any, tmp_path: Path) -> None:
    wheels = tmp_path / "wheelhouse"
    wheels.mkdir()
    wheel = make_wheel(wheels, "lrdemo", "1.0", 42)
    client, service, key = await make(sandbox="bubblewrap", package_index=str(wheels))
    assert service.isolation == "bubblewrap"
    await service.put_object("alice", "scripts/tamper.py", _chunk(TAMPER.encode()))
    stored = service.object_path("alice", "scripts/tamper.py")
    body = {
        "name": "localrun-tamper-1",
        "runPython": {"uri": "s3://localrun/alice/scripts/tamper.py"},
        "environment": {"dependencies": [{"sourceType": "PYPI", "libraryName": "lrdemo"}]},
    }
    answer = await client.post("/runs", json=body, headers=key)
    run = await answer.json()
    assert (await finished(client, key, run["id"]))["status"] == "COMPLETED"
    lines = await log_lines(client, key, run["id"])
    assert lines[-4:] == [
        "refused a OSError",
        "refused w OSError",
        "writable shared files []",
        "lrdemo 42",
    ], lines
    assert stored.read_text() == TAMPER
    assert stored.stat().st_nlink > 1  # the run's snapshot is made of links, not copies
    assert wheel.stat().st_nlink > 1


async def test_a_name_too_long_for_the_disk_is_a_400_everywhere_in_the_drive(make: Any) -> None:
    client, service, key = await make()
    drive, long_name = "/storage/user_files::local", "q" * 300
    await service.put_object("alice", "s/a.py", _chunk(b"print(1)"))
    for method, path in (
        ("POST", f"{drive}/file-upload-url/{long_name}"),
        ("GET", f"{drive}/directories/{long_name}"),
        ("PUT", f"{drive}/directories/{long_name}"),
        ("DELETE", f"{drive}/directories/{long_name}"),
        ("DELETE", f"{drive}/files/{long_name}"),
        ("GET", f"{drive}/files/{long_name}"),
        ("POST", f"{drive}/file-rename/{long_name}?new_name=b.py"),
        ("POST", f"{drive}/file-rename/s/a.py?new_name={long_name}"),
    ):
        answer = await client.request(method, path, headers=key, allow_redirects=False)
        assert answer.status == 400, (method, path[:60], answer.status, await answer.text())
        assert "longer than" in (await answer.json())["message"]
    assert [e.path for e in await service.list_objects("alice", "s")] == ["a.py"]
