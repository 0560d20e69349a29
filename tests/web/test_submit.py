"""The submit form and the estimator's table, through the real application: a case folder
started on the cores chosen, and every refusal answered on the form with no run left."""

from __future__ import annotations

import re

import aiohttp
import markupsafe

from localrun.config import Settings
from localrun.service import Service
from localrun.web.submit import case_file_name, chosen_cores
from tests.conftest import EXAMPLE
from tests.web.pages import Client, log_in, page_csrf, wait_state

NAMELIST = (EXAMPLE / "namelist.input").read_text()
WRFINPUT = (EXAMPLE / "wrfinput_d01").read_bytes()


def case_form(
    csrf: str,
    files: dict[str, bytes],
    cores: str = "",
    name: str = "",
    field: str = "folder",
) -> aiohttp.FormData:
    data = aiohttp.FormData()
    data.add_field("csrf", csrf)
    data.add_field("name", name)
    data.add_field("cores", cores)
    for filename, body in files.items():
        data.add_field(field, body, filename=filename)
    data.add_field("files", b"", filename="")  # the other input, left empty
    return data


async def no_run_left(service: Service, settings: Settings) -> None:
    assert await service.list_runs("alice", limit=10) == []
    runs = settings.data_path / "runs"
    assert not runs.exists() or list(runs.iterdir()) == []


async def test_a_case_folder_starts_on_the_cores_chosen(
    client: Client, token: str, service: Service
) -> None:
    await log_in(client, token)
    page = await (await client.get("/ui/submit")).text()
    assert "webkitdirectory" in page and 'enctype="multipart/form-data"' in page
    files = {
        "mycase/namelist.input": NAMELIST.encode(),
        "mycase/wrfinput_d01": WRFINPUT,
        "mycase/.DS_Store": b"junk",
        "mycase/sub/namelist.input": b"not read",
    }
    resp = await client.post(
        "/ui/submit", data=case_form(await page_csrf(client), files, "2"), allow_redirects=False
    )
    assert resp.status == 303, await resp.text()
    run_id = resp.headers["Location"].rsplit("/", 1)[-1]
    run = await service.get_run("alice", run_id)
    assert run.name == "mycase" and run.cores == 2
    inputs = sorted(f.name for f in await service.input_files(run))
    assert inputs == ["namelist.input", "wrfinput_d01"]
    assert (await wait_state(client, token, run_id))["state"] == "succeeded"


async def test_plain_files_without_cores_start_on_the_recommended_option(
    client: Client, token: str, service: Service
) -> None:
    await log_in(client, token)
    files = {"namelist.input": NAMELIST.encode(), "wrfinput_d01": WRFINPUT}
    form = case_form(await page_csrf(client), files, name="plain", field="files")
    resp = await client.post("/ui/submit", data=form, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    run = await service.get_run("alice", resp.headers["Location"].rsplit("/", 1)[-1])
    (recommended,) = [o for o in await service.compute_options(run) if o.recommended]
    assert run.name == "plain" and run.cores == recommended.cores


async def test_every_refusal_answers_the_form_and_leaves_no_run(
    client: Client, token: str, service: Service, settings: Settings
) -> None:
    await log_in(client, token)
    csrf = await page_csrf(client)
    cases = [
        ({"case/wrfinput_d01": WRFINPUT}, "2", "the case lacks namelist.input"),
        ({"case/namelist.input": b"&time_control\n run_hours = \n"}, "2", "namelist"),
        ({"case/namelist.input": NAMELIST.encode()}, "2", "the case lacks wrfinput_d01"),
        (
            {"case/namelist.input": NAMELIST.encode(), "case/wrfinput_d01": WRFINPUT},
            "64",
            "64 cores asked but this machine hands out 2",
        ),
        ({"case/namelist.input": NAMELIST.encode()}, "two", "cores must be a whole number"),
        ({}, "2", "choose a case folder or its files"),
        ({"case/namelist.input": NAMELIST.encode()}, "2" * 5000, "longer than 4096 bytes"),
    ]
    for files, cores, said in cases:
        resp = await client.post("/ui/submit", data=case_form(csrf, files, cores, "kept-name"))
        text = await resp.text()
        assert resp.status in (400, 409), (said, resp.status, text)
        message = re.search(r'<p class="message bad" id="message">([^<]*)</p>', text)
        assert message and said in markupsafe.Markup(message.group(1)).unescape(), (said, text)
        assert 'value="kept-name"' in text and 'id="submit-form"' in text
        await no_run_left(service, settings)


async def test_a_forged_form_makes_no_run(
    client: Client, token: str, service: Service, settings: Settings
) -> None:
    await log_in(client, token)
    files = {"namelist.input": NAMELIST.encode(), "wrfinput_d01": WRFINPUT}
    resp = await client.post("/ui/submit", data=case_form("forged", files, "2"))
    assert resp.status == 403
    await no_run_left(service, settings)
    client.session.cookie_jar.clear()
    anonymous = await client.post("/ui/submit", data=case_form("x", files, "2"))
    assert anonymous.status == 401
    await no_run_left(service, settings)


async def test_the_estimators_table_for_a_pasted_or_uploaded_namelist(
    client: Client, token: str
) -> None:
    await log_in(client, token)
    assert (await client.get("/ui/estimate")).status == 200
    csrf = await page_csrf(client, "/ui/estimate")
    pasted = await client.post("/ui/estimate", data={"csrf": csrf, "namelist": NAMELIST})
    text = await pasted.text()
    assert pasted.status == 200, text
    cores = re.findall(r'<tr class="[^"]*" data-cores="(\d+)">', text)
    assert cores == ["1", "2"]
    assert text.count("recommended</span>") == 1
    upload = aiohttp.FormData()
    upload.add_field("csrf", csrf)
    upload.add_field("namelist", "")
    upload.add_field("file", NAMELIST.encode(), filename="namelist.input")
    uploaded = await (await client.post("/ui/estimate", data=upload)).text()
    assert re.findall(r'data-cores="(\d+)"', uploaded) == cores
    api = await client.post(
        "/localrun/v1/estimate", data=NAMELIST, headers={"Authorization": f"Bearer {token}"}
    )
    times = [o["time_s"] for o in (await api.json())["options"]]
    assert all(t is not None for t in times)


async def test_a_bad_namelist_is_said_on_the_page_and_escaped(client: Client, token: str) -> None:
    await log_in(client, token)
    csrf = await page_csrf(client, "/ui/estimate")
    evil = "&time_control\n run_hours = '</textarea><script>alert(1)</script>'\n"
    resp = await client.post("/ui/estimate", data={"csrf": csrf, "namelist": evil})
    text = await resp.text()
    assert resp.status == 400 and 'id="message"' in text
    assert "<script>alert" not in text and "&lt;/textarea&gt;&lt;script&gt;" in text
    empty = await client.post("/ui/estimate", data={"csrf": csrf, "namelist": " "})
    assert empty.status == 400 and "Paste a namelist" in await empty.text()
    forged = await client.post("/ui/estimate", data={"csrf": "no", "namelist": NAMELIST})
    assert forged.status == 403


async def test_the_forms_cores_menu_reads_the_same_estimate(client: Client, token: str) -> None:
    assert (await client.post("/ui/estimate.json", data=NAMELIST)).status == 401
    await log_in(client, token)
    csrf = await page_csrf(client, "/ui/submit")
    assert (await client.post("/ui/estimate.json", data=NAMELIST)).status == 403
    headers = {"X-CSRF-Token": csrf}
    resp = await client.post("/ui/estimate.json", data=NAMELIST, headers=headers)
    options = (await resp.json())["options"]
    assert [o["cores"] for o in options] == [1, 2] and all(o["time"] != "-" for o in options)
    bad = await client.post("/ui/estimate.json", data="&x\n y = \n", headers=headers)
    assert bad.status == 400 and (await bad.json())["error"]["code"] == "namelist"


def test_only_the_chosen_folders_own_files_are_uploaded() -> None:
    assert case_file_name("namelist.input") == "namelist.input"
    assert case_file_name("case/wrfinput_d01") == "wrfinput_d01"
    assert case_file_name("case\\wrfinput_d01") == "wrfinput_d01"
    for skipped in ("", "case/sub/x", ".hidden", "case/.DS_Store", "/"):
        assert case_file_name(skipped) is None
    assert chosen_cores(" 3 ") == 3 and chosen_cores("") is None
