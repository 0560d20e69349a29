"""Compare the shape of a JSON answer with a fixture written from the service's documents.

A shape is a type word, or an object of constraints:

* a type word: ``str``, ``int``, ``float``, ``number`` (int or float), ``bool``, ``null``,
  ``object``, ``array``, ``any``, or a union of them: ``"str|null"``;
* ``{"type": ..., "enum": [...]}``: a value (when not null) among these;
* ``{"type": "str", "format": "%Y-%m-%dT%H:%M:%S.%fZ"}``: a strptime format it must parse with;
* ``{"type": "str", "pattern": "^...$"}``: a regular expression it must match whole;
* ``{"const": value}``: exactly this value;
* ``{"keys": {...}, "optional": {...}, "extra": false}``: an object with every key of ``keys``,
  maybe those of ``optional``, and (unless ``extra`` is true) no other;
* ``{"items": shape, "min_items": n}``: an array whose every item has that shape;
* ``{"$ref": "name"}``: the ``shape`` of the fixture ``name`` in the same folder.

`differences` lists every way a value departs from its shape, each with its path
(``run.kubeApp.events[0].code: type str -> null``); an empty list means it conforms.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TYPES = {"str", "int", "float", "number", "bool", "null", "object", "array", "any"}
CONSTRAINTS = {
    "type",
    "enum",
    "format",
    "pattern",
    "const",
    "keys",
    "optional",
    "extra",
    "items",
    "min_items",
    "$ref",
}

Resolver = Callable[[str], Any]


def type_of(value: Any) -> str:
    """The type word of a decoded JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {value!r}")


def _allowed(spec: Any) -> set[str]:
    if isinstance(spec, str):
        words = set(spec.split("|"))
    elif "type" in spec:
        words = set(str(spec["type"]).split("|"))
    elif "keys" in spec or "optional" in spec:
        words = {"object"}
    elif "items" in spec:
        words = {"array"}
    else:
        words = {"any"}
    unknown = words - TYPES
    if unknown:
        raise ValueError(f"unknown type word(s) {sorted(unknown)} in shape {spec!r}")
    return words


def _matches(actual: str, allowed: set[str]) -> bool:
    if "any" in allowed or actual in allowed:
        return True
    return actual in ("int", "float") and "number" in allowed


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def differences(
    value: Any, spec: Any, path: str = "body", resolve: Resolver | None = None
) -> list[str]:
    """Every departure of value from spec, one line each, with the path where it is."""
    if isinstance(spec, dict) and "$ref" in spec:
        if resolve is None:
            raise ValueError(f"{path}: shape refers to {spec['$ref']!r} without a resolver")
        return differences(value, resolve(spec["$ref"]), path, resolve)
    if isinstance(spec, dict):
        unknown = set(spec) - CONSTRAINTS
        if unknown:
            raise ValueError(f"{path}: unknown constraint(s) {sorted(unknown)} in shape")
        if "const" in spec:
            if value != spec["const"] or type_of(value) != type_of(spec["const"]):
                return [f"{path}: value {value!r} -> expected {spec['const']!r}"]
            return []
    allowed = _allowed(spec)
    actual = type_of(value)
    if not _matches(actual, allowed):
        want = "|".join(sorted(allowed)) if isinstance(spec, dict) else spec
        return [f"{path}: type {want} -> {actual}"]
    if isinstance(spec, str) or value is None:
        return []
    found: list[str] = []
    if "enum" in spec and value not in spec["enum"]:
        found.append(f"{path}: value {value!r} not in {spec['enum']!r}")
    if "format" in spec and isinstance(value, str):
        try:
            datetime.strptime(value, spec["format"])
        except ValueError:
            found.append(f"{path}: {value!r} does not parse as {spec['format']!r}")
    if "pattern" in spec and isinstance(value, str) and not re.fullmatch(spec["pattern"], value):
        found.append(f"{path}: {value!r} does not match {spec['pattern']!r}")
    if isinstance(value, dict) and ("keys" in spec or "optional" in spec):
        required: dict[str, Any] = spec.get("keys", {})
        optional: dict[str, Any] = spec.get("optional", {})
        for key in required:
            if key not in value:
                found.append(f"{path}: missing key {key}")
        for key, item in value.items():
            inner = required.get(key, optional.get(key))
            if key in required or key in optional:
                found += differences(item, inner, _child(path, key), resolve)
            elif not spec.get("extra", False):
                found.append(f"{path}: unexpected key {key}")
    if isinstance(value, list):
        least = spec.get("min_items", 0)
        if len(value) < least:
            found.append(f"{path}: {len(value)} item(s), expected at least {least}")
        if "items" in spec:
            for index, item in enumerate(value):
                found += differences(item, spec["items"], f"{path}[{index}]", resolve)
    return found


def load(family: str, endpoint: str) -> dict[str, Any]:
    """The fixture tests/parity/fixtures/<family>/<endpoint>.json, which states its origin."""
    fixture: dict[str, Any] = json.loads((FIXTURES / family / f"{endpoint}.json").read_text())
    if not str(fixture.get("origin", "")).strip():
        raise ValueError(f"{family}/{endpoint}.json does not say where its shape comes from")
    return fixture


def compare(family: str, endpoint: str, status: int, body: Any) -> list[str]:
    """How an answer (its status and decoded body) departs from the endpoint's fixture."""
    fixture = load(family, endpoint)
    root = fixture.get("root", "body")
    found = []
    if "status" in fixture and status != fixture["status"]:
        found.append(f"{root}: status {fixture['status']} -> {status}")

    def resolve(name: str) -> Any:
        return load(family, name)["shape"]

    return found + differences(body, fixture["shape"], root, resolve)
