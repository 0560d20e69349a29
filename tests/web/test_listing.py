"""The list's filters, from any query."""

from __future__ import annotations

from aiohttp.test_utils import make_mocked_request

from localrun.web.listing import MAX_NAME, Filters, filters


def test_known_states_and_names_are_kept_anything_else_dropped() -> None:
    assert filters(make_mocked_request("GET", "/?state=running&name=%20a%20")) == Filters(
        "running", "a"
    )
    assert filters(make_mocked_request("GET", "/?state=%3Cx%3E")) == Filters()
    long = filters(make_mocked_request("GET", "/?name=" + "y" * 1000))
    assert long.name == "y" * MAX_NAME
    assert Filters("queued", "").query == {"state": "queued"}
