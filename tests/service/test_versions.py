from __future__ import annotations

import pytest

from localrun.errors import Invalid
from localrun.service.versions import SIMULATOR, resolve

REAL = ["4.5.2", "4.7.1", "4.7.0"]


@pytest.mark.parametrize(
    ("asked", "configured", "fallback", "got"),
    [
        ("latest", REAL, "auto", "4.7.1"),
        ("", REAL, "auto", "4.7.1"),
        ("latest", [], "auto", SIMULATOR),
        ("4.7", REAL, "auto", "4.7.1"),
        ("4.5", REAL, "auto", "4.5.2"),
        ("4.7.0", REAL, "auto", "4.7.0"),
        ("sim", REAL, "auto", SIMULATOR),
        ("simulator", REAL, "refuse", SIMULATOR),
        ("3.9.1", [], "auto", SIMULATOR),
        ("3.9.1", REAL, "simulator", SIMULATOR),
        ("3.9.1", REAL, "newest", "4.7.1"),
    ],
)
def test_a_version_names_one_executable(
    asked: str, configured: list[str], fallback: str, got: str
) -> None:
    assert resolve(asked, configured, fallback) == got


def test_an_unknown_version_is_refused_with_the_versions_there_are() -> None:
    with pytest.raises(
        Invalid,
        match=r"'3.9.1' is not configured here; the versions are 4.7.1, 4.7.0, 4.5.2, simulator",
    ):
        resolve("3.9.1", REAL)
    with pytest.raises(Invalid):
        resolve("4.71", REAL)  # a prefix matches whole components only
    with pytest.raises(Invalid):
        resolve("3.9.1", [], "refuse")
