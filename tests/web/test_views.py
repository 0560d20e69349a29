"""The pages through the real application: login, the list, a run's page, Stop, downloads,
escaping, and who sees what."""

from __future__ import annotations

import re

import markupsafe

from localrun.service import Service
from localrun.web.auth import CSRF, SESSION
from tests.web.pages import (
    Client,
    create,
    csrf_of,
    log_in,
    page_csrf,
    start_example,
    wait_state,
)

INJECTION = "<script>alert('x')</script>\"><img src=x onerror=alert(1)>"


async def test_without_a_cookie_the_page_is_the_login_form_and_shows_no_run(
    client: Client, token: str
) -> None:
    run_id = await create(client, token, "private-run")
    resp = await client.get("/")
    text = await resp.text()
    assert resp.status == 200 and 'action="/ui/login"' in text
    assert "private-run" not in text
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    page = await client.get(f"/ui/runs/{run_id}")
    assert page.status == 401 and "private-run" not in await page.text()
    assert (await client.get("/ui/runs.json")).status == 401
    assert (await client.get("/ui/live")).status == 401
    forged = await client.get("/", headers={"Cookie": f"{SESSION}=lr_not-a-token"})
    assert "private-run" not in await forged.text()


async def test_login_sets_a_strict_http_only_cookie_and_logout_clears_it(
    client: Client, token: str
) -> None:
    await create(client, token, "mine")
    csrf = await page_csrf(client)
    resp = await client.post(
        "/ui/login", data={"token": token, "csrf": csrf}, allow_redirects=False
    )
    assert resp.status == 303
    cookie = resp.cookies[SESSION]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
    listing = await (await client.get("/")).text()
    assert "mine" in listing and 'action="/ui/logout"' in listing
    out = await client.post("/ui/logout", data={"csrf": csrf_of(listing)}, allow_redirects=False)
    assert out.status == 303 and out.cookies[SESSION].value == ""
    client.session.cookie_jar.clear(lambda c: c.key == SESSION)
    assert "mine" not in await (await client.get("/")).text()


async def test_a_bad_token_or_a_missing_csrf_token_logs_nobody_in(
    client: Client, token: str
) -> None:
    csrf = await page_csrf(client)
    bad = await client.post("/ui/login", data={"token": "lr_wrong", "csrf": csrf})
    assert bad.status == 401 and "not valid" in await bad.text()
    forged = await client.post("/ui/login", data={"token": token, "csrf": "guess"})
    assert forged.status == 403 and SESSION not in forged.cookies
    none = await client.post("/ui/login", data={"token": token})
    assert none.status == 403
    assert (
        await client.post("/ui/login", data=b"\xff\xfe", headers={"Content-Type": "text/x"})
    ).status in (400, 403)


async def test_another_owners_cookie_sees_none_of_my_runs(
    client: Client, token: str, service: Service
) -> None:
    mine = await create(client, token, "alices-run")
    await log_in(client, await service.create_token("bob"))
    assert "alices-run" not in await (await client.get("/")).text()
    page = await client.get(f"/ui/runs/{mine}")
    assert page.status == 404 and "alices-run" not in await page.text()
    rows = await (await client.get("/ui/runs.json")).json()
    assert rows == {"runs": []}
    csrf = await page_csrf(client)
    stop = await client.post(f"/ui/runs/{mine}/stop", data={"csrf": csrf})
    assert stop.status == 404
    assert (await client.get(f"/ui/runs/{mine}/files/namelist.input")).status == 404


async def test_a_script_in_a_run_name_is_shown_as_text(client: Client, token: str) -> None:
    run_id = await create(client, token, INJECTION)
    await log_in(client, token)
    for path in ("/", f"/ui/runs/{run_id}", "/?name=" + INJECTION):
        text = await (await client.get(path)).text()
        assert "<script>alert" not in text and "<img src=x" not in text, path
        assert str(markupsafe.escape(INJECTION)) in text, path


async def test_the_list_filters_by_state_and_name_newest_first(client: Client, token: str) -> None:
    for name in ("alpha-1", "beta-2", "alpha-3"):
        await create(client, token, name)
    await log_in(client, token)
    text = await (await client.get("/")).text()
    assert text.index("alpha-3") < text.index("beta-2") < text.index("alpha-1")
    named = await (await client.get("/?name=ALPHA")).text()
    assert "alpha-1" in named and "alpha-3" in named and "beta-2" not in named
    assert "alpha-1" not in await (await client.get("/?state=running")).text()
    odd = await client.get("/?state=<bogus>&name=" + "x" * 5000)
    assert odd.status == 200


async def test_a_run_page_shows_steps_events_log_and_outputs(client: Client, token: str) -> None:
    run_id = await start_example(client, token, "full")
    assert (await wait_state(client, token, run_id))["state"] == "succeeded"
    await log_in(client, token)
    text = await (await client.get(f"/ui/runs/{run_id}")).text()
    auth = {"Authorization": f"Bearer {token}"}
    log = await client.get(
        f"/localrun/v1/runs/{run_id}/logs", params={"name": "rsl.out.0000"}, headers=auth
    )
    steps = len(re.findall(r"^Timing for main", (await log.json())["text"], re.MULTILINE))
    assert steps > 0
    assert len(re.findall(r'<circle class="step"', text)) == steps
    assert 'id="step-plot"' in text and "SUCCESS COMPLETE WRF" in text
    assert text.count("<li><time>") >= 4 and "succeeded" in text
    assert 'id="stop"' not in text
    links = re.findall(rf'href="/ui/runs/{run_id}/files/([^"]+)"', text)
    wrfout = [link for link in links if link.startswith("wrfout_d01_")]
    assert wrfout and "namelist.input" not in links
    got = await client.get(f"/ui/runs/{run_id}/files/{wrfout[0]}")
    assert got.status == 200 and (await got.read())[:4] == b"\x89HDF"
    assert "attachment" in got.headers["Content-Disposition"]
    other_log = await (await client.get(f"/ui/runs/{run_id}?log=stdout")).text()
    assert '<option value="stdout" selected>' in other_log
    for bad in ("../../localrun.db", "%2e%2e/%2e%2e/localrun.db", "rsl.out.0000/../../x"):
        assert (await client.get(f"/ui/runs/{run_id}/files/{bad}")).status in (400, 404)
        page = await client.get(f"/ui/runs/{run_id}?log={bad}")
        assert page.status == 200


async def test_stop_asks_first_needs_the_csrf_token_and_cancels(client: Client, token: str) -> None:
    slow = "\n&localrun_simulator\n speed = 0.2,\n/\n"
    run_id = await start_example(client, token, "to-stop", slow)
    await wait_state(client, token, run_id, ("running",))
    await log_in(client, token)
    text = await (await client.get(f"/ui/runs/{run_id}")).text()
    assert '<details class="stop">' in text and 'id="stop"' in text
    refused = await client.post(f"/ui/runs/{run_id}/stop", data={"csrf": "wrong"})
    assert refused.status == 403
    resp = await client.post(
        f"/ui/runs/{run_id}/stop", data={"csrf": csrf_of(text)}, allow_redirects=False
    )
    assert resp.status == 303 and resp.headers["Location"] == f"/ui/runs/{run_id}"
    assert (await wait_state(client, token, run_id))["state"] == "cancelled"
    again = await client.post(f"/ui/runs/{run_id}/stop", data={"csrf": csrf_of(text)})
    assert again.status == 409 and "nothing to stop" in await again.text()


async def test_a_missing_run_is_a_page_not_a_traceback(client: Client, token: str) -> None:
    await log_in(client, token)
    resp = await client.get("/ui/runs/no-such-run")
    assert resp.status == 404 and resp.content_type == "text/html"
    assert "no run no-such-run" in await resp.text()
    assert client.session.cookie_jar.filter_cookies(client.make_url("/")).get(CSRF)
