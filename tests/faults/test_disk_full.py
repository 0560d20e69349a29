"""Issue 11 item 9: a full disk is a 507 in every dialect, and runs are still recorded.

Runs on a small tmpfs, which needs the right to mount one (root, as in CI)."""

from __future__ import annotations

import contextlib
import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData

from localrun.api.keys import SERVICE
from localrun.app import init_app
from localrun.service import Service
from tests.api.test_rescale import job_body
from tests.conftest import make_settings
from tests.polling import eventually


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with filler.open("wb") as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"\0" * (1 << 20))
            handle.flush()
    return filler


async def test_a_full_disk_is_507_everywhere_and_runs_still_end(
    aiohttp_client: Any, small_disk: Path
) -> None:
    settings = make_settings(small_disk / "data", single_user=True)
    client = await aiohttp_client(init_app(settings))
    service: Service = client.app[SERVICE]
    token = await service.create_token("alice")
    rs = {"Authorization": f"Token {token}"}
    bearer = {"Authorization": f"Bearer {token}"}
    job = await client.post("/api/v2/jobs/", json=job_body([], "sleep 2", cores=1), headers=rs)
    job_id = (await job.json())["id"]
    assert (await client.post(f"/api/v2/jobs/{job_id}/submit/", headers=rs)).status == 200
    run = await service.job_run("alice", job_id, 1)
    created = await client.post("/localrun/v1/runs", json={"name": "late"}, headers=bearer)
    native = (await created.json())["id"]
    cloudrun = (await (await client.post("/v1/runs", data={}, headers=bearer)).json())["id"]
    assert (small_disk / "data" / "disk-reserve").exists()
    filler = fill(small_disk)
    try:
        form = FormData()
        form.add_field("file", b"x" * 4096, filename="a.txt")
        resp = await client.post(f"/localrun/v1/runs/{native}/inputs", data=form, headers=bearer)
        assert resp.status == 507 and (await resp.json())["error"]["code"] == "no_space"
        form = FormData()
        form.add_field("file", b"x" * 4096, filename="a.txt")
        resp = await client.post("/api/v2/files/contents/", data=form, headers=rs)
        assert resp.status == 507 and set(await resp.json()) == {"detail"}
        form = FormData()
        form.add_field("file", b"x" * 4096, filename="a.txt")
        resp = await client.post(f"/v1/runs/{cloudrun}/input", data=form, headers=bearer)
        assert resp.status == 507 and set(await resp.json()) == {"status", "message"}

        async def ended() -> bool:
            return (await service.get_run("alice", run.id)).terminal

        await eventually(ended, timeout=30)
        assert (await service.get_run("alice", run.id)).state == "succeeded"
        assert not (small_disk / "data" / "disk-reserve").exists()  # spent on the records
        health = await client.get("/healthz")
        assert health.status == 200
    finally:
        filler.unlink()
    await eventually(lambda: (small_disk / "data" / "disk-reserve").exists(), timeout=10)
    assert errno.ENOSPC  # the disk was really full: the uploads above were refused by it
