from __future__ import annotations

import pytest

from localrun.errors import Invalid
from localrun.sweeps import combinations


def test_every_combination_in_order_with_shell_text() -> None:
    found = combinations([("a", [1, 2.0]), ("b", [True, "x y"])])
    assert [[text for _, _, text in combo] for combo in found] == [
        ["1", "true"],
        ["1", "x y"],
        ["2", "true"],
        ["2", "x y"],
    ]
    assert combinations([]) == [[]]


@pytest.mark.parametrize(
    ("variables", "words"),
    [
        ([("1x", [1])], "must be a shell name"),
        ([("a", [])], "has no values"),
        ([("a", [1]), ("a", [2])], "may appear once"),
        ([("a", list(range(100))), ("b", list(range(11)))], "make 1100 runs"),
    ],
)
def test_refused_sweeps(variables: list[tuple[str, list[object]]], words: str) -> None:
    with pytest.raises(Invalid, match=words):
        combinations(variables)
