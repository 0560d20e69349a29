"""Every family shows every internal state: a new State fails here until each family maps it."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from localrun.api.cloudrun.shapes import STATUS as CLOUDRUN
from localrun.api.native.shapes import STATES as NATIVE
from localrun.api.rescale.shapes import ORDER
from localrun.api.rescale.shapes import STATUSES as RESCALE
from localrun.api.wherobots.shapes import STATUS as WHEROBOTS
from localrun.runs import TERMINAL, State

FAMILIES: dict[str, Mapping[State, object]] = {
    "native": NATIVE,
    "cloudrun": CLOUDRUN,
    "rescale": RESCALE,
    "wherobots": WHEROBOTS,
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("state", list(State))
def test_every_family_maps_every_state(family: str, state: State) -> None:
    assert state in FAMILIES[family], f"{family} has no word for the state {state}"


def test_the_maps_hold_only_known_words() -> None:
    assert set(CLOUDRUN.values()) <= {
        "created", "ready", "starting", "active", "done", "stopped", "error"
    }  # fmt: skip
    assert all(set(words) <= set(ORDER) for words in RESCALE.values())
    assert all(RESCALE[state] == ("Completed",) for state in TERMINAL)
    assert all(NATIVE[state] == state.value for state in State)
    terminal = {"COMPLETED", "FAILED", "CANCELLED"}  # the SDK polls anything else forever
    assert {WHEROBOTS[state] for state in TERMINAL} <= terminal
