"""Which family and route a request is counted under."""

from __future__ import annotations

from localrun.api.metrics.requests import family_of
from localrun.api.native.views import get_run


def test_the_family_is_the_handlers_package() -> None:
    assert family_of(get_run) == "native"

    def page() -> None: ...

    page.__module__ = "localrun.web.views"
    assert family_of(page) == "web"
    assert family_of(print) == "other"
