"""The CSRF double-submit check and the session cookie's attributes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request

from localrun.errors import Forbidden
from localrun.web.auth import CSRF, SESSION, check_csrf, csrf_token
from tests.conftest import make_settings


def test_the_form_must_repeat_the_cookies_token() -> None:
    request = make_mocked_request("GET", "/", headers={"Cookie": f"{CSRF}=abc"})
    check_csrf(request, {"csrf": "abc"})
    for fields in ({}, {"csrf": ""}, {"csrf": "abd"}):
        with pytest.raises(Forbidden):
            check_csrf(request, fields)
    with pytest.raises(Forbidden):
        check_csrf(make_mocked_request("GET", "/"), {"csrf": ""})


def test_a_browser_keeps_its_token_and_a_new_one_gets_one() -> None:
    kept = make_mocked_request("GET", "/", headers={"Cookie": f"{CSRF}=abc"})
    assert csrf_token(kept) == ("abc", False)
    token, new = csrf_token(make_mocked_request("GET", "/"))
    assert new and len(token) >= 24


async def test_under_tls_the_session_cookie_is_secure(aiohttp_client: Any, tmp_path: Path) -> None:
    from localrun.api.keys import SERVICE
    from localrun.app import init_app

    settings = make_settings(tmp_path, tls_cert="cert.pem", tls_key="key.pem")
    client = await aiohttp_client(init_app(settings))
    token = await client.app[SERVICE].create_token("alice")
    resp = await client.get("/")
    assert resp.cookies[CSRF]["secure"]
    client.session.cookie_jar.update_cookies({CSRF: resp.cookies[CSRF].value})
    csrf = resp.cookies[CSRF].value
    done = await client.post(
        "/ui/login", data={"token": token, "csrf": csrf}, allow_redirects=False
    )
    assert done.status == 303
    assert done.cookies[SESSION]["secure"] and done.cookies[SESSION]["samesite"] == "Strict"
