"""The shape comparer: each kind of difference, reported with its path; every fixture loads."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.parity.shape import FIXTURES, compare, differences, load, type_of

RUN: dict[str, Any] = {
    "keys": {
        "id": "str",
        "status": {"type": "str", "enum": ["PENDING", "RUNNING"]},
        "kubeApp": {
            "type": "object|null",
            "keys": {"events": {"items": {"keys": {"code": "str", "message": "str"}}}},
        },
        "startTime": {"type": "str|null", "format": "%Y-%m-%dT%H:%M:%SZ"},
    },
    "optional": {"region": "str"},
}
GOOD = {
    "id": "r",
    "status": "PENDING",
    "kubeApp": {"events": [{"code": "RUN_FAIL_EXEC", "message": "timeout"}]},
    "startTime": None,
}


def test_a_conforming_value_has_no_difference() -> None:
    assert differences(GOOD, RUN, "run") == []
    assert differences({**GOOD, "kubeApp": None, "region": "local"}, RUN, "run") == []
    assert differences({**GOOD, "startTime": "2024-09-25T02:23:34Z"}, RUN, "run") == []


def test_a_changed_type_deep_inside_names_its_path() -> None:
    value = {**GOOD, "kubeApp": {"events": [{"code": None, "message": "m"}]}}
    assert differences(value, RUN, "run") == ["run.kubeApp.events[0].code: type str -> null"]


def test_missing_unexpected_and_optional_keys() -> None:
    value = {k: v for k, v in GOOD.items() if k != "id"} | {"extra": 1}
    assert differences(value, RUN, "run") == ["run: missing key id", "run: unexpected key extra"]
    assert differences({**GOOD, "region": 3}, RUN, "run") == ["run.region: type str -> int"]
    assert differences({**GOOD, "x": 1}, {**RUN, "extra": True}, "run") == []


def test_enum_format_pattern_and_const() -> None:
    assert differences({**GOOD, "status": "TIMED_OUT"}, RUN, "run") == [
        "run.status: value 'TIMED_OUT' not in ['PENDING', 'RUNNING']"
    ]
    assert differences({**GOOD, "startTime": "2024-09-25T02:23:34+00:00"}, RUN, "run") == [
        "run.startTime: '2024-09-25T02:23:34+00:00' does not parse as '%Y-%m-%dT%H:%M:%SZ'"
    ]
    assert differences("abc", {"type": "str", "pattern": "[a-z]+"}) == []
    assert differences("ab1", {"type": "str", "pattern": "[a-z]+"}) == [
        "body: 'ab1' does not match '[a-z]+'"
    ]
    assert differences("Not found.", {"const": "Not found."}) == []
    assert differences("Gone", {"const": "Not found."}) == [
        "body: value 'Gone' -> expected 'Not found.'"
    ]
    assert differences(1.0, {"const": 1}) == ["body: value 1.0 -> expected 1"]


def test_numbers_nulls_bools_and_unions() -> None:
    assert differences(3, "number") == differences(3.5, "number") == []
    assert differences(True, "int") == ["body: type int -> bool"]
    assert differences(True, "number") == ["body: type number -> bool"]
    assert differences(2, "float") == ["body: type float -> int"]
    assert differences("2.0", "number") == ["body: type number -> str"]
    assert differences(None, "str|null") == differences("x", "str|null") == []
    assert differences(None, {"type": "str", "enum": ["a"]}) == ["body: type str -> null"]
    assert differences(None, {"type": "str|null", "enum": ["a"]}) == []
    assert differences({"a": [1]}, "any") == []


def test_arrays_check_every_item_and_a_least_count() -> None:
    spec = {"items": {"keys": {"cores": "int"}}, "min_items": 1}
    assert differences([{"cores": 2}, {"cores": "4"}], spec, "options") == [
        "options[1].cores: type int -> str"
    ]
    assert differences([], spec, "options") == ["options: 0 item(s), expected at least 1"]
    assert differences({"cores": 2}, spec, "options") == ["options: type array -> object"]


def test_refs_and_bad_shapes() -> None:
    shared = {"keys": {"id": "str"}}
    assert differences([{"id": 1}], {"items": {"$ref": "x"}}, "l", lambda _: shared) == [
        "l[0].id: type str -> int"
    ]
    with pytest.raises(ValueError, match="unknown type"):
        differences(1, "integer")
    with pytest.raises(ValueError, match="unknown constraint"):
        differences(1, {"type": "int", "minimum": 0})
    with pytest.raises(ValueError, match="resolver"):
        differences(1, {"$ref": "x"})


def test_type_of_refuses_what_json_cannot_hold() -> None:
    values: list[Any] = [None, True, 1, 1.5, "", [], {}]
    assert [type_of(v) for v in values] == [
        "null",
        "bool",
        "int",
        "float",
        "str",
        "array",
        "object",
    ]
    with pytest.raises(TypeError):
        type_of(object())


def test_compare_checks_the_status_too() -> None:
    body = {"status": 404, "message": "no run x"}
    assert compare("cloudrun", "error_404", 404, body) == []
    assert compare("cloudrun", "error_404", 400, body) == ["error: status 404 -> 400"]


FILES = sorted(FIXTURES.glob("*/*.json"))


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.stem}" for p in FILES])
def test_every_fixture_states_its_origin_and_is_a_valid_shape(path: Any) -> None:
    fixture = load(path.parent.name, path.stem)
    assert set(fixture) <= {"origin", "root", "status", "shape", "note"}, sorted(fixture)
    origin = fixture["origin"]
    assert "seed 00" in origin or "CLIENTS.md §" in origin, origin
    json.dumps(fixture)

    def walk(spec: Any) -> None:  # every type word and constraint is one the comparer knows
        if isinstance(spec, str):
            differences(None, spec + "|null")
        elif "$ref" in spec:
            load(path.parent.name, spec["$ref"])
        else:
            differences(None, {k: v for k, v in spec.items() if k == "type"})
            for inner in [*spec.get("keys", {}).values(), *spec.get("optional", {}).values()]:
                walk(inner)
            if "items" in spec:
                walk(spec["items"])

    walk(fixture["shape"])


def test_there_are_fixtures_for_every_family() -> None:
    assert {p.parent.name for p in FILES} == {"cloudrun", "rescale", "wherobots", "sharedcloud"}
