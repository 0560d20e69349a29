"""Issue 11 item 10: no input gets a 500, HTML or a traceback; each gets a 4xx in its family's
shape. A fixed corpus of what broke before, and a seeded generator of more."""

from __future__ import annotations

import base64
import random
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from localrun.service import Service
from tests.conftest import EXAMPLE

Client = TestClient[Any, Any]
HUGE = "9" * 30


def shape(path: str) -> set[str]:
    if path.startswith("/v1"):
        return {"status", "message"}
    if path.startswith("/api"):
        return {"detail"}
    return {"error"}


async def check(client: Client, method: str, path: str, **kwargs: Any) -> int:
    resp = await client.request(method, path, **kwargs)
    text = await resp.text()
    assert resp.status < 500, (method, path, resp.status, text[:300])
    assert resp.content_type == "application/json", (method, path, text[:300])
    body = await resp.json()
    if resp.status >= 400:
        assert set(body) == shape(path), (path, body)
    return resp.status


@pytest.fixture
async def ids(client: Client, auth: dict[str, str]) -> dict[str, str]:
    native = await (await client.post("/localrun/v1/runs", json={}, headers=auth)).json()
    cloudrun = await (await client.post("/v1/runs", data={}, headers=auth)).json()
    return {"native": native["id"], "cloudrun": cloudrun["id"]}


def headers(token: str, path: str, content_type: str | None = None) -> dict[str, str]:
    scheme = "Token" if path.startswith("/api") else "Bearer"
    found = {"Authorization": f"{scheme} {token}"}
    if content_type:
        found["Content-Type"] = content_type
    return found


BODIES: list[tuple[str, bytes, str]] = [
    ("deep nesting", b"[" * 100_000, "application/json"),
    ("deep object", b'{"a":' * 50_000, "application/json"),
    ("not utf-8", b'{"name": "\xff\xfe"}', "application/json"),
    ("utf-16", '{"name": "x"}'.encode("utf-16"), "application/json; charset=utf-16"),
    ("huge walltime", b'{"walltime_s": 1e30, "name": "x"}', "application/json"),
    ("infinite cores", b'{"cores": 1e400}', "application/json"),
    ("huge cores", b'{"cores": ' + HUGE.encode() + b"}", "application/json"),
    ("lone surrogate", b'{"name": "\\ud800"}', "application/json"),
    ("nul in name", b'{"name": "a\\u0000b"}', "application/json"),
    ("string bool", b'{"oversubscribe": "false", "cores": 99}', "application/json"),
    ("a number", b"42", "application/json"),
]


@pytest.mark.parametrize(("what", "body", "content_type"), BODIES, ids=[b[0] for b in BODIES])
async def test_bad_bodies_are_4xx_in_every_family(
    client: Client, token: str, ids: dict[str, str], what: str, body: bytes, content_type: str
) -> None:
    targets = [
        ("POST", "/localrun/v1/runs"),
        ("POST", f"/localrun/v1/runs/{ids['native']}/start"),
        ("PATCH", f"/v1/runs/{ids['cloudrun']}"),
        ("POST", f"/v1/runs/{ids['cloudrun']}/start"),
        ("POST", "/v1/runs"),
        ("POST", "/api/v2/jobs/"),
    ]
    for method, path in targets:
        await check(client, method, path, data=body, headers=headers(token, path, content_type))


async def test_oversubscribe_as_the_string_false_is_not_true(
    client: Client, auth: dict[str, str], ids: dict[str, str], service: Service
) -> None:
    run = ids["native"]
    for name in ("namelist.input", "wrfinput_d01"):
        form = {"file": (EXAMPLE / name).open("rb")}
        assert (await client.post(f"/localrun/v1/runs/{run}/inputs", data=form, headers=auth)).ok
    resp = await client.post(
        f"/localrun/v1/runs/{run}/start", json={"cores": 4, "oversubscribe": "false"}, headers=auth
    )
    assert resp.status == 400
    assert (await service.get_run("alice", run)).state == "ready"


async def test_huge_numbers_in_paths_and_queries(
    client: Client, token: str, ids: dict[str, str]
) -> None:
    cursor = base64.urlsafe_b64encode(f"seq:{HUGE}".encode()).decode().rstrip("=")
    for path in (
        f"/localrun/v1/runs?cursor={cursor}",
        f"/localrun/v1/runs?limit={HUGE}",
        f"/localrun/v1/runs/{ids['native']}/logs?offset={HUGE}",
        f"/localrun/v1/runs/{ids['native']}/logs?limit=1e400",
        f"/v1/runs?cursor={HUGE}",
        f"/v1/runs?limit={HUGE}",
        f"/api/v2/files/{HUGE}/",
        f"/api/v2/files/{HUGE}/contents/",
        f"/api/v2/jobs/?page={HUGE}",
        f"/api/v2/jobs/?page_size={HUGE}",
        f"/api/v2/jobs/x/runs/{HUGE}/",
        f"/v1/runs/{ids['cloudrun']}/output/fields/T2?domain={HUGE}",
        f"/v1/runs/{ids['cloudrun']}/output/fields/T2?lon1=1e400",
    ):
        assert await check(client, "GET", path, headers=headers(token, path)) >= 400, path


async def test_the_rescale_view_of_a_native_input_is_a_file(
    client: Client, token: str, auth: dict[str, str], ids: dict[str, str]
) -> None:
    form = {"file": (EXAMPLE / "namelist.input").open("rb")}
    resp = await client.post(f"/localrun/v1/runs/{ids['native']}/inputs", data=form, headers=auth)
    file_id = (await resp.json())["files"][0]["name"]
    stored = await (
        await client.get(f"/localrun/v1/runs/{ids['native']}/files", headers=auth)
    ).json()
    assert stored is not None and file_id
    for number in range(1, 4):
        path = f"/api/v2/files/{number}/"
        await check(client, "GET", path, headers=headers(token, path))


MULTIPART = [
    ("no boundary", "multipart/form-data", b"--x\r\n\r\nbody\r\n--x--\r\n"),
    ("wrong boundary", "multipart/form-data; boundary=yyy", b"--x\r\n\r\nbody\r\n--x--\r\n"),
    (
        "truncated",
        "multipart/form-data; boundary=x",
        b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nabc',
    ),
    (
        "CR in header",
        "multipart/form-data; boundary=x",
        b'--x\r\nContent-Disposition: form-data; name="file"; filename="a\rb.txt"\r\n\r\n'
        b"abc\r\n--x--\r\n",
    ),
    (
        "long name",
        "multipart/form-data; boundary=x",
        b'--x\r\nContent-Disposition: form-data; name="file"; filename="'
        + b"n" * 300
        + b'"\r\n\r\nabc\r\n--x--\r\n',
    ),
]


@pytest.mark.parametrize(("what", "content_type", "body"), MULTIPART, ids=[m[0] for m in MULTIPART])
async def test_broken_multipart_is_4xx_in_every_family(
    client: Client, token: str, ids: dict[str, str], what: str, content_type: str, body: bytes
) -> None:
    for path in (
        f"/localrun/v1/runs/{ids['native']}/inputs",
        f"/v1/runs/{ids['cloudrun']}/input",
        "/api/v2/files/contents/",
    ):
        status = await check(
            client, "POST", path, data=body, headers=headers(token, path, content_type)
        )
        assert status >= 400, (what, path)


async def test_a_seeded_stream_of_random_requests_gets_no_5xx(
    client: Client, token: str, ids: dict[str, str]
) -> None:
    rng = random.Random(11)
    paths = [
        "/localrun/v1/runs",
        f"/localrun/v1/runs/{ids['native']}",
        f"/localrun/v1/runs/{ids['native']}/start",
        f"/localrun/v1/runs/{ids['native']}/logs",
        f"/localrun/v1/runs/{ids['native']}/files/x",
        "/v1/runs",
        f"/v1/runs/{ids['cloudrun']}",
        f"/v1/runs/{ids['cloudrun']}/start",
        f"/v1/runs/{ids['cloudrun']}/output/fields/T2",
        "/api/v2/jobs/",
        "/api/v2/files/contents/",
        "/api/v2/analyses/",
    ]
    atoms = [
        '"x"',
        "1",
        "-1",
        "1e999",
        "null",
        "true",
        "[]",
        "{}",
        '"\\ud800"',
        HUGE,
        '"' + "y" * 999 + '"',
    ]
    keys = [
        "name",
        "cores",
        "walltime_s",
        "model",
        "version",
        "oversubscribe",
        "jobanalyses",
        "op",
        "path",
    ]
    for _ in range(300):
        method = rng.choice(["GET", "POST", "PATCH", "DELETE"])
        path = rng.choice(paths)
        if rng.random() < 0.3:
            path += "?" + "&".join(f"{rng.choice(keys)}={rng.choice(atoms)}" for _ in range(2))
        fields = ", ".join(
            f'"{rng.choice(keys)}": {rng.choice(atoms)}' for _ in range(rng.randint(0, 4))
        )
        body = rng.choice(
            [f"{{{fields}}}", f"[{fields}]", fields, rng.randbytes(20).hex()]
        ).encode()
        kind = rng.choice(["application/json", "application/x-www-form-urlencoded", "text/plain"])
        await check(client, method, path, data=body, headers=headers(token, path, kind))
