"""Wherobots' answers (over HTTPS, as the clients insist) against fixtures written from seeds 001
and 003 and CLIENTS.md §B and §C: runs in every state, logs, metrics, the list, storage and
the Files drive, and the errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.parity.harness import MODULE, Answers, endpoints, started
from tests.polling import eventually

pytestmark = MODULE
SID = "user_files%3A%3Alocal"
ENDPOINTS = [
    "create",
    "get",
    "list",
    "logs",
    "metrics",
    "cancel",
    "storage",
    "credentials",
    "upload_url",
    "directories",
    "error_401",
    "error_403",
    "error_404",
    "error_422",
]
SCRIPTS = {
    "hello.py": b"for i in range(3):\n    print('line', i, flush=True)\n",
    "sleep.py": b"import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n",
    "fail.py": b"raise SystemExit('broken on purpose')\n",
}


async def _chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def answers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Answers]:
    found = Answers()
    async with started(tmp_path_factory.mktemp("wherobots"), tls=True) as (client, service):
        key = {"X-API-Key": await service.create_token("alice")}
        other = {"Authorization": f"Bearer {await service.create_token('bob')}"}
        for name, code in SCRIPTS.items():
            await service.put_object("alice", f"scripts/{name}", _chunk(code))

        async def record(endpoint: str, method: str, path: str, **kwargs: Any) -> Any:
            kwargs.setdefault("headers", key)
            resp = await client.request(method, path, **kwargs)
            return await found.record(endpoint, f"{method} {path}", resp)

        async def create(
            name: str, script: str, runtime: str = "tiny", limit: int = 600, **more: Any
        ) -> Any:
            body = {
                **more,
                "name": name,
                "runtime": runtime,
                "timeoutSeconds": limit,
                "runPython": {"uri": f"s3://localrun/alice/scripts/{script}", "args": []},
            }
            return await record("create", "POST", "/runs?region=local", json=body)

        async def until(run_id: str, wanted: tuple[str, ...]) -> Any:
            async def reached() -> bool:
                run = await (await client.get(f"/runs/{run_id}", headers=key)).json()
                ended = run["status"] in ("COMPLETED", "FAILED", "CANCELLED")
                assert run["status"] in wanted or not ended, (wanted, run["status"], run["kubeApp"])
                return run["status"] in wanted

            await eventually(reached, timeout=60)
            return await record("get", "GET", f"/runs/{run_id}")

        spark = {"sparkConfigs": {"spark.executor.memory": "1g"}, "dependencies": []}
        done = await create("localrun-parity-hello", "hello.py", environment=spark)
        await record("get", "GET", f"/runs/{done['id']}")
        await until(done["id"], ("COMPLETED",))
        await record("logs", "GET", f"/runs/{done['id']}/logs?cursor=0&size=2")
        await record("logs", "GET", f"/runs/{done['id']}/logs?cursor=999999999999999&size=100")
        await record("metrics", "GET", f"/runs/{done['id']}/metrics")

        busy = await create("localrun-parity-busy", "sleep.py", runtime="small")
        await until(busy["id"], ("RUNNING",))
        waiting = await create("localrun-parity-waiting", "hello.py")
        await record("get", "GET", f"/runs/{waiting['id']}")
        await record("logs", "GET", f"/runs/{waiting['id']}/logs?cursor=0&size=100")
        await record("metrics", "GET", f"/runs/{busy['id']}/metrics")
        for run in (waiting, busy):
            await record("cancel", "POST", f"/runs/{run['id']}/cancel")
            await until(run["id"], ("CANCELLED",))

        failed = await create("localrun-parity-fails", "fail.py")
        await until(failed["id"], ("FAILED",))
        late = await create("localrun-parity-timeout", "sleep.py", limit=1)
        await until(late["id"], ("FAILED",))

        await record("list", "GET", "/runs?size=2")
        await record("list", "GET", "/runs?status=FAILED&status=CANCELLED&name=localrun-parity*")
        await record("storage", "GET", "/storage")
        grant = {"path": "s3://localrun/alice/scripts/x.py", "access_mode": "read_write"}
        await record("credentials", "POST", "/storage/credentials", json=grant)
        await record("upload_url", "POST", f"/storage/{SID}/file-upload-url/scripts/new.py")
        await record("directories", "GET", f"/storage/{SID}/directories/")
        await record("directories", "GET", f"/storage/{SID}/directories/scripts?limit=2")

        await record("error_401", "GET", "/runs", headers={})
        await record("error_401", "GET", f"/runs/{done['id']}", headers={"X-API-Key": "nope"})
        theirs = {"path": "s3://localrun/bob/scripts/x.py", "access_mode": "read"}
        await record("error_403", "POST", "/storage/credentials", json=theirs)
        await record("error_404", "GET", "/runs/nope")
        await record("error_404", "GET", f"/runs/{done['id']}", headers=other)
        await record("error_404", "POST", f"/runs/{done['id']}/cancel", headers=other)
        short = {"name": "short", "runPython": {"uri": "s3://localrun/alice/scripts/hello.py"}}
        await record("error_422", "POST", "/runs", json=short)
        huge = {"name": "localrun-parity-huge", "runtime": "huge", "runPython": short["runPython"]}
        await record("error_422", "POST", "/runs", json=huge)
        yield found


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_wherobots_answer_has_the_documented_shape(answers: Answers, endpoint: str) -> None:
    answers.check("wherobots", endpoint)


async def test_every_wherobots_fixture_is_checked() -> None:
    assert sorted(ENDPOINTS) == endpoints("wherobots")
