from __future__ import annotations

from datetime import datetime

import pytest

from localrun.api.formats import day_first, iso_z, iso_z_seconds, parse_time


def test_iso_z_always_has_microseconds_and_z() -> None:
    text = iso_z(1_534_817_819.0)
    assert text == "2018-08-21T02:16:59.000000Z"
    datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    assert iso_z(None) is None


def test_other_formats() -> None:
    assert iso_z_seconds(1_534_817_819.7) == "2018-08-21T02:16:59Z"
    assert day_first(1_534_817_819.0) == "21-08-2018 02:16:59"


@pytest.mark.parametrize(
    "text",
    ["2018-08-21T02:16:59Z", "2018-08-21T02:16:59+00:00", "2018-08-21T02:16:59", "1534817819"],
)
def test_parse_time(text: str) -> None:
    assert parse_time(text) == 1_534_817_819.0
