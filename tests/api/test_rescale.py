"""Rescale API in the test's loop: auth, envelopes, statuses, files, sweeps, errors, safety."""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from yarl import URL

from localrun.app import init_app
from localrun.service import Service
from tests.api.raw import raw_get
from tests.conftest import EXAMPLE, make_settings
from tests.polling import eventually

Client = TestClient[Any, Any]
Headers = dict[str, str]
EVERY_STATUS = ["Completed", "Executing", "Validated", "Started", "Queued", "Pending"]


@pytest.fixture
def rs(token: str) -> Headers:
    return {"Authorization": f"Token {token}"}


def namelist(minutes: int = 5) -> bytes:
    lines = []
    for line in (EXAMPLE / "namelist.input").read_text().splitlines():
        if line.strip().split("=")[0].strip().lower() == "run_minutes":
            line = f" run_minutes = {minutes},"
        lines.append(line)
    return ("\n".join(lines) + "\n").encode()


def archive(members: dict[str, bytes], links: tuple[str, ...] = ()) -> bytes:
    """A zip with these members (a name ending in / is a folder) and symlink members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buffer.getvalue()


LINK_ICS = "ln -s ics/wrfinput_d01 ."


def ics_zip() -> bytes:
    """What rescalepy uploads for a directory ics/ holding wrfinput_d01."""
    return archive({"ics/": b"", "ics/wrfinput_d01": (EXAMPLE / "wrfinput_d01").read_bytes()})


async def upload(client: Client, rs: Headers, name: str, content: bytes) -> str:
    form = aiohttp.FormData()
    form.add_field("file", content, filename=name, content_type="{'type_id': 1}")
    resp = await client.post("/api/v2/files/contents/", data=form, headers=rs)
    assert resp.status == 201, await resp.text()
    file_id: str = (await resp.json())["id"]
    return file_id


def job_body(
    file_ids: list[str], command: str, cores: int = 2, code: str = "wrf", **more: Any
) -> dict[str, Any]:
    analysis = {
        "analysis": {"code": code, "version": "4.5"},
        "command": command,
        "hardware": {"coreType": "onyx", "coresPerSlot": cores, "cores": cores, "walltime": 1},
        "inputFiles": [{"id": i} for i in file_ids],
        "useRescaleLicense": False,
    }
    analysis.update(more.pop("analysis", {}))
    return {"name": "t", "jobanalyses": [analysis], **more}


async def create(client: Client, rs: Headers, body: dict[str, Any]) -> dict[str, Any]:
    resp = await client.post("/api/v2/jobs/", json=body, headers=rs)
    assert resp.status == 201, await resp.text()
    job: dict[str, Any] = await resp.json()
    return job


async def submit(client: Client, rs: Headers, job_id: str) -> None:
    headers = {**rs, "Content-Type": "application/json"}
    resp = await client.post(f"/api/v2/jobs/{job_id}/submit/", headers=headers)
    assert resp.status == 200, await resp.text()


async def get_json(client: Client, rs: Headers, path: str, status: int = 200) -> Any:
    resp = await client.get(path, headers=rs, allow_redirects=False)
    assert resp.status == status, await resp.text()
    return await resp.json()


async def statuses(client: Client, rs: Headers, job_id: str) -> list[dict[str, Any]]:
    body = await get_json(client, rs, f"/api/v2/jobs/{job_id}/statuses/")
    results: list[dict[str, Any]] = body["results"]
    return results


async def completed(
    client: Client, rs: Headers, job_id: str, within: float = 120
) -> list[dict[str, Any]]:
    async def ended() -> list[dict[str, Any]] | None:
        found = await statuses(client, rs, job_id)
        return found if found[0]["status"] == "Completed" else None

    result: list[dict[str, Any]] = await eventually(ended, timeout=within)
    return result


async def wrf_job(client: Client, rs: Headers, minutes: int = 5) -> str:
    files = [
        await upload(client, rs, "namelist.input", namelist(minutes)),
        await upload(client, rs, "ics.zip", ics_zip()),
    ]
    job = await create(client, rs, job_body(files, f"{LINK_ICS} && mpirun -np 2 wrf.exe"))
    job_id: str = job["id"]
    await submit(client, rs, job_id)
    return job_id


async def shell_job(client: Client, rs: Headers, command: str, **more: Any) -> str:
    job = await create(client, rs, job_body([], command, cores=1, code="user_included", **more))
    job_id: str = job["id"]
    await submit(client, rs, job_id)
    return job_id


async def detail(resp: aiohttp.ClientResponse, status: int) -> str:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert set(body) == {"detail"} and body["detail"]
    message: str = body["detail"]
    return message


# auth, paths, envelopes


async def test_token_check_and_401(client: Client, rs: Headers, token: str) -> None:
    body = await get_json(client, rs, "/api/v2/")
    assert body["jobs"].startswith("http://127.0.0.1:") and body["jobs"].endswith("/api/v2/jobs/")
    assert await detail(await client.get("/api/v2/"), 401)
    assert await detail(await client.get("/api/v2/", headers={"Authorization": "Token no"}), 401)
    bearer = {"Authorization": f"Bearer {token}"}
    assert await detail(await client.get("/api/v2/jobs/", headers=bearer), 401)
    assert await detail(await client.get("/api/jobs/x/runs/", headers={}), 401)


@pytest.mark.parametrize("path", ["", "/analyses", "/coretypes", "/jobs"])
async def test_paths_answer_with_and_without_slash(client: Client, rs: Headers, path: str) -> None:
    for variant in ("/api/v2" + path, "/api/v2" + path + "/"):
        resp = await client.get(variant, headers=rs, allow_redirects=False)
        assert resp.status == 200, variant


async def test_lists_are_paginated_with_absolute_links(client: Client, rs: Headers) -> None:
    headers = {**rs, "Host": "runs.example:8443"}
    first = await get_json(client, headers, "/api/v2/analyses/?page_size=1")
    assert first["count"] == 2 and first["previous"] is None
    assert [a["code"] for a in first["results"]] == ["wrf"]
    following = URL(first["next"])
    assert str(following.origin()) == "http://runs.example:8443"
    assert following.path == "/api/v2/analyses/"
    assert dict(following.query) == {"page_size": "1", "page": "2"}
    second = await get_json(client, rs, following.path_qs)
    assert [a["code"] for a in second["results"]] == ["user_included"]
    assert second["next"] is None and URL(second["previous"]).query["page"] == "1"
    assert await detail(await client.get("/api/v2/analyses/?page=3", headers=rs), 404)
    assert await detail(await client.get("/api/v2/analyses/?page=0", headers=rs), 400)
    assert await detail(await client.get("/api/v2/analyses/?page_size=x", headers=rs), 400)


async def test_analyses_and_coretypes(client: Client, rs: Headers) -> None:
    analyses = (await get_json(client, rs, "/api/v2/analyses/"))["results"]
    wrf = next(a for a in analyses if a["code"] == "wrf")
    assert [v["versionCode"] for v in wrf["versions"]] == ["simulator"]
    cores = (await get_json(client, rs, "/api/v2/coretypes/"))["results"]
    assert [c["code"] for c in cores] == ["local"]
    assert float(cores[0]["price"]) == 0.0 and max(cores[0]["cores"]) == 2


async def test_analyses_list_configured_versions_newest_first(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    models = "wrf:4.5=/opt/a/wrf.exe,wrf:4.10.1=/opt/b/wrf.exe,wrf:4.7=/opt/c/wrf.exe"
    client = await aiohttp_client(init_app(make_settings(tmp_path / "d", models=models)))
    from localrun.api.keys import SERVICE

    headers = {"Authorization": f"Token {await client.app[SERVICE].create_token('a')}"}
    analyses = (await get_json(client, headers, "/api/v2/analyses/"))["results"]
    codes = [v["versionCode"] for v in analyses[0]["versions"]]
    assert codes == ["4.10.1", "4.7", "4.5", "simulator"]


# files


async def test_upload_is_kept_apart_and_downloads(
    client: Client, rs: Headers, service: Service
) -> None:
    file_id = await upload(client, rs, "namelist.input", b"&time_control\n/\n")
    [stored] = list((service.settings.data_path / "files").glob("*/namelist.input"))
    assert stored.read_bytes() == b"&time_control\n/\n"
    assert not list(service.settings.data_path.rglob(".upload-*"))
    resp = await client.get(f"/api/v2/files/{file_id}/contents/", headers=rs)
    assert resp.status == 200 and await resp.read() == b"&time_control\n/\n"
    resp = await client.get(f"/api/files/{file_id}/contents", headers=rs)
    assert await resp.read() == b"&time_control\n/\n"
    meta = await get_json(client, rs, f"/api/v2/files/{file_id}/")
    assert meta["name"] == "namelist.input" and meta["typeId"] == 1 and meta["decryptedSize"] == 16
    bob = {"Authorization": f"Token {await service.create_token('bob')}"}
    assert await detail(await client.get(f"/api/v2/files/{file_id}/contents/", headers=bob), 404)
    assert await detail(await client.get("/api/v2/files/999/contents/", headers=rs), 404)
    resp = await client.post("/api/v2/files/contents/", data=b"x", headers=rs)
    assert "multipart" in await detail(resp, 400)


# the job flow


async def test_job_runs_with_inputs_staged_and_completes(
    client: Client, rs: Headers, service: Service
) -> None:
    files = [
        await upload(client, rs, "namelist.input", namelist(5)),
        await upload(client, rs, "ics.zip", ics_zip()),
    ]
    job = await create(client, rs, job_body(files, f"{LINK_ICS} && mpirun -np 2 wrf.exe"))
    job_id = job["id"]
    assert [f["name"] for f in job["jobanalyses"][0]["inputFiles"]] == ["namelist.input", "ics.zip"]
    first = await service.job_run("alice", job_id, 1)
    staged = sorted(p.name for p in service.paths(first.id).input.iterdir())
    assert staged == ["ics", "namelist.input"]  # as Rescale unpacks: the folder kept
    assert [s["status"] for s in await statuses(client, rs, job_id)] == ["Pending"]
    await submit(client, rs, job_id)
    resp = await client.post(f"/api/v2/jobs/{job_id}/submit/", headers=rs)
    assert "submitted already" in await detail(resp, 409)

    found = await completed(client, rs, job_id)
    assert [s["status"] for s in found] == EVERY_STATUS
    assert [s["statusDate"] for s in found] == sorted(
        (s["statusDate"] for s in found), reverse=True
    )
    assert found[0]["statusReason"] == "Completed successfully"
    one = await get_json(client, rs, f"/api/v2/jobs/{job_id}/statuses/?page_size=1")
    assert one["count"] == 6 and one["results"][0]["status"] == "Completed" and one["next"]
    details = await get_json(client, rs, f"/api/v2/jobs/{job_id}")
    assert details["jobStatus"]["content"] == "Completed"

    listed = (await get_json(client, rs, f"/api/v2/jobs/{job_id}/files/"))["results"]
    names = {f["relativePath"] for f in listed}
    assert {"rsl.out.0000", "rsl.error.0001", "process_output.log"} <= names
    assert any(n.startswith("wrfout_d01_") for n in names)
    assert not names & {"wrfinput_d01", "namelist.input"}
    assert all(f["typeId"] == 5 and f["name"] == f["relativePath"] for f in listed)
    again = (await get_json(client, rs, f"/api/jobs/{job_id}/files")).get("results")
    assert [(f["id"], f["relativePath"]) for f in again] == [
        (f["id"], f["relativePath"]) for f in listed
    ]
    rsl = next(f for f in listed if f["name"] == "rsl.out.0000")
    resp = await client.get(f"/api/v2/files/{rsl['id']}/contents/", headers=rs)
    body = await resp.read()
    assert b"SUCCESS COMPLETE WRF" in body
    assert rsl["md5"] == hashlib.md5(body).hexdigest()
    assert all(isinstance(f["md5"], str) and len(f["md5"]) == 32 for f in listed)

    runs = await get_json(client, rs, f"/api/v2/jobs/{job_id}/runs/")
    assert runs["count"] == 1
    [run] = runs["results"]
    assert run["id"] == "1" and run["variables"] == [] and run["type"] == 3
    assert run["outputFileCount"] == len(listed) and run["dateCompleted"].endswith("Z")
    assert await get_json(client, rs, f"/api/jobs/{job_id}/runs/1") == run
    snapshot = await client.post(f"/api/jobs/{job_id}/runs/1/snapshot/", headers=rs)
    assert "in progress" in await detail(snapshot, 409)


async def test_failed_run_completes_with_the_diagnosis(client: Client, rs: Headers) -> None:
    only_namelist = [await upload(client, rs, "namelist.input", namelist(5))]
    job = await create(client, rs, job_body(only_namelist, "mpirun -np 1 wrf.exe", cores=1))
    await submit(client, rs, job["id"])
    found = await completed(client, rs, job["id"])
    reason = found[0]["statusReason"]
    assert reason.startswith("The run failed (missing_input)")
    assert "wrfinput_d01" in reason and "Hint:" in reason


async def test_walltime_is_enforced(client: Client, rs: Headers) -> None:
    job_id = await shell_job(
        client, rs, "sleep 120", analysis={"hardware": {"cores": 1, "walltime": 0.0005}}
    )
    found = await completed(client, rs, job_id, within=60)
    assert "timed out" in found[0]["statusReason"]
    assert "Stopping" in [s["status"] for s in found]


async def test_sweep_makes_one_run_per_combination(client: Client, rs: Headers) -> None:
    variables = [
        {"name": "x", "values": [1, "two"]},
        {
            "name": "y",
            "variableType": "Param",
            "valueGeneration": {
                "type": "FixedRange",
                "minValue": 0,
                "maxValue": 1,
                "increment": 0.5,
            },
        },
        {"name": "Cd", "variableType": "Result"},
    ]
    job_id = await shell_job(client, rs, 'echo "$x $y" > vars.txt', jobvariables=variables)
    await completed(client, rs, job_id)
    runs = (await get_json(client, rs, f"/api/v2/jobs/{job_id}/runs/"))["results"]
    assert [r["id"] for r in runs] == ["1", "2", "3", "4", "5", "6"]
    seen = []
    for run in runs:
        values = {v["name"]: v for v in run["variables"]}
        assert list(values) == ["x", "y"]
        text = f"{values['x']['displayValue']} {values['y']['displayValue']}"
        tail = await get_json(
            client, rs, f"/api/jobs/{job_id}/runs/{run['id']}/tail/vars.txt?lines=1"
        )
        assert tail["lines"] == [text]
        seen.append(text)
    assert seen == ["1 0", "1 0.5", "1 1", "two 0", "two 0.5", "two 1"]
    assert runs[3]["variables"][0]["value"] is None and runs[1]["variables"][1]["value"] == 0.5
    files = (await get_json(client, rs, f"/api/v2/jobs/{job_id}/files/"))["results"]
    assert {f["relativePath"] for f in files if f["name"] == "vars.txt"} == {
        f"run{k}/vars.txt" for k in range(1, 7)
    }


# errors and safety


async def test_errors_are_in_rescale_shape(client: Client, rs: Headers) -> None:
    assert "no job nope" in await detail(await client.get("/api/v2/jobs/nope/", headers=rs), 404)
    assert await detail(await client.get("/api/jobs/nope/runs/", headers=rs), 404)
    assert await detail(await client.get("/api/v2/nothing/", headers=rs), 404)
    assert await detail(await client.delete("/api/v2/analyses/", headers=rs), 405)
    post = "/api/v2/jobs/"
    assert await detail(await client.post(post, data=b"{bad", headers=rs), 400)
    assert await detail(await client.post(post, json=[1], headers=rs), 400)
    bad = [
        (job_body([], "true", code="ansys"), 400, "analysis code"),
        (job_body([], "true", cores=64), 400, "cores"),
        (job_body(["999"], "true"), 404, "no file 999"),
        (job_body([], " "), 400, "command"),
        (job_body([], "true", jobvariables=[{"name": "x-y", "values": [1]}]), 400, "x-y"),
        (job_body([], "true", jobvariables=[{"name": "x"}]), 400, "valueGeneration"),
        ({"name": "t", "jobanalyses": []}, 400, "jobanalyses"),
    ]
    for body, status, words in bad:
        assert words in await detail(await client.post(post, json=body, headers=rs), status)
    assert (await get_json(client, rs, "/api/v2/jobs/"))["count"] == 0


@pytest.mark.parametrize(
    ("members", "links"),
    [({"../evil.txt": b"x"}, ()), ({"/tmp/evil.txt": b"x"}, ()), ({"ok": b"x"}, ("evil.txt",))],
)
async def test_zip_slip_is_refused(
    client: Client, rs: Headers, service: Service, members: dict[str, bytes], links: tuple[str]
) -> None:
    file_id = await upload(client, rs, "case.zip", archive(members, links))
    resp = await client.post("/api/v2/jobs/", json=job_body([file_id], "true"), headers=rs)
    assert "case.zip" in await detail(resp, 400)
    assert not list(service.settings.data_path.parent.rglob("evil.txt"))
    assert not Path("/tmp/evil.txt").exists()
    assert (await get_json(client, rs, "/api/v2/jobs/"))["count"] == 0
    assert not list((service.settings.data_path / "files").glob(".staging-*"))


async def test_zip_layout_and_name_clashes(client: Client, rs: Headers, service: Service) -> None:
    ids = [
        await upload(client, rs, "ics.zip", archive({"ics/": b"", "ics/a": b"a"})),
        await upload(client, rs, "data.zip", archive({"data/b": b"b", "c": b"c"})),
        await upload(client, rs, "case.zip", archive({"other/d": b"d"})),
    ]
    job = await create(client, rs, job_body(ids, "true"))
    root = service.paths((await service.job_run("alice", job["id"], 1)).id).input
    found = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert found == ["c", "data/b", "ics/a", "other/d"]
    twice = [await upload(client, rs, "ics", b"1"), ids[0]]
    resp = await client.post("/api/v2/jobs/", json=job_body(twice, "true"), headers=rs)
    assert "two input files give ics" in await detail(resp, 400)


async def test_directory_contents_and_tail(client: Client, rs: Headers) -> None:
    command = (
        "printf 'one\\ntwo\\nthree\\n' > log.txt; mkdir sub; echo deep > sub/f.txt; "
        "truncate -s 64M sparse.bin; printf '\\na\\nb\\n' >> sparse.bin; truncate -s 64M zeros; "
        "ln -s /etc/passwd leak"
    )
    job_id = await shell_job(client, rs, command)
    await completed(client, rs, job_id)
    run = f"/api/jobs/{job_id}/runs/1"
    listing = await get_json(client, rs, run + "/directory-contents/")
    assert {"path": "sub/f.txt", "resource": f"{run}/tail/sub/f.txt"} in listing
    v2 = await get_json(client, rs, f"/api/v2/jobs/{job_id}/runs/1/directory-contents")
    assert {e["resource"] for e in v2} == {"/api/v2" + e["resource"][4:] for e in listing}
    tail = await get_json(client, rs, run + "/tail/log.txt?lines=2")
    assert tail == {"fileType": "log.txt: ASCII text", "lines": ["two", "three"]}
    assert (await get_json(client, rs, run + "/tail/sub/f.txt/?lines=5"))["lines"] == ["deep"]
    assert (await get_json(client, rs, run + "/tail/sparse.bin?lines=2"))["lines"] == ["a", "b"]
    zeros = await get_json(client, rs, run + "/tail/zeros?lines=3")
    assert zeros["fileType"] == "zeros: data" and zeros["lines"] == ["\x00" * 65536]
    assert (await get_json(client, rs, run + "/tail/log.txt?lines=0"))["lines"] == []
    resp = await client.get(run + "/tail/log.txt", headers=rs)
    assert resp.status == 200 and await resp.read() == b"one\ntwo\nthree\n"
    assert await detail(await client.get(run + "/tail/log.txt?lines=-1", headers=rs), 400)
    assert await detail(await client.get(run + "/tail/missing.txt", headers=rs), 404)
    assert await detail(await client.get(run + "/tail/leak?lines=1", headers=rs), 400)
    for path in ("../../../etc/passwd", "sub/../../input/x", "%2E%2E/%2E%2E/x", "%2Fetc%2Fpasswd"):
        status, body = await raw_get(client, f"{run}/tail/{path}?lines=1", rs)
        assert status == 400 and set(body) == {"detail"}, (path, body)


async def test_another_owner_sees_nothing(client: Client, rs: Headers, service: Service) -> None:
    file_id = await upload(client, rs, "a.txt", b"a")
    job = await create(client, rs, job_body([file_id], "true"))
    bob = {"Authorization": f"Token {await service.create_token('bob')}"}
    for path in (
        f"/api/v2/jobs/{job['id']}/",
        f"/api/v2/jobs/{job['id']}/statuses/",
        f"/api/jobs/{job['id']}/runs/1/",
        f"/api/v2/files/{file_id}/",
    ):
        assert await detail(await client.get(path, headers=bob), 404)
    resp = await client.post("/api/v2/jobs/", json=job_body([file_id], "true"), headers=bob)
    assert await detail(resp, 404)
    assert (await get_json(client, bob, "/api/v2/jobs/"))["count"] == 0


async def test_mpirun_on_path_is_the_configured_launcher(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    from localrun.api.keys import SERVICE

    app = init_app(make_settings(tmp_path / "plain", stall_floor_s=5.0))
    client = await aiohttp_client(app)
    rs = {"Authorization": f"Token {await app[SERVICE].create_token('a')}"}
    files = [await upload(client, rs, "namelist.input", namelist(5))]
    files.append(await upload(client, rs, "ics.zip", ics_zip()))
    job = await create(client, rs, job_body(files, f"{LINK_ICS} && mpirun -np 1 wrf.exe", cores=1))
    await submit(client, rs, job["id"])
    found = await completed(client, rs, job["id"], within=60)
    assert found[0]["statusReason"] == "Completed successfully"


def test_a_run_waiting_in_a_schedulers_queue_is_newest_queued() -> None:
    from localrun.api.rescale.shapes import job_statuses
    from localrun.runs import Event, Run, State

    run = Run(
        id="r", owner="a", family="rescale", name="n", model="wrf", version="4",
        state=State.QUEUED, walltime_s=60, created_at=0.0,
    )  # fmt: skip
    said = "waiting in the queue of Slurm job 7: Priority"
    events = [
        Event(1, "r", 1.0, State.READY, "all inputs present"),
        Event(2, "r", 2.0, State.QUEUED, "queued for 1 core(s)"),
        Event(3, "r", 3.0, State.STARTING, "launching"),
        Event(4, "r", 4.0, State.QUEUED, said),
    ]
    newest = job_statuses([(run, events)])[0]
    assert (newest["status"], newest["statusReason"]) == ("Queued", said)
