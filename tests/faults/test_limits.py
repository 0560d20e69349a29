"""Issue 11 item 6: archives and quotas cannot get around the upload limits."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from aiohttp import FormData

from localrun.api.keys import SERVICE
from localrun.app import init_app
from tests.api.test_rescale import job_body
from tests.conftest import make_settings


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


async def test_what_an_archive_unpacks_to_counts_and_a_quota_holds(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path / "data", max_upload_bytes=4 << 20, quota_bytes=6 << 20)
    client = await aiohttp_client(init_app(settings))
    service = client.app[SERVICE]
    rs = {"Authorization": "Token " + await service.create_token("alice")}

    async def upload(name: str, data: bytes) -> Any:
        form = FormData()
        form.add_field("file", data, filename=name)
        return await client.post("/api/v2/files/contents/", data=form, headers=rs)

    bomb = await upload("bomb.zip", zipped({"zeros": b"\0" * (64 << 20)}))
    assert bomb.status == 201
    resp = await client.post(
        "/api/v2/jobs/", json=job_body([(await bomb.json())["id"]], "true"), headers=rs
    )
    assert resp.status == 413 and "unpacks to" in (await resp.json())["detail"]
    runs = tmp_path / "data" / "runs"
    assert not runs.exists() or not list(runs.iterdir())  # no run was left behind
    assert (await upload("a.bin", b"a" * (3 << 20))).status == 201
    too_much = await upload("b.bin", b"b" * (3 << 20))  # under the upload limit, over the quota
    assert too_much.status == 413, await too_much.text()
    assert len(list((tmp_path / "data" / "files").iterdir())) == 2  # nothing half-written
