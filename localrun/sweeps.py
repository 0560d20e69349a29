"""A parameter sweep: every combination of some variables' values, as shell-ready text."""

from __future__ import annotations

import itertools
import re
from typing import Any

from localrun.errors import Invalid


def combinations(variables: list[tuple[str, list[Any]]]) -> list[list[tuple[str, Any, str]]]:
    """Every combination of the variables' values as (name, value, text); [[]] for none."""
    names = [name for name, _ in variables]
    for name, values in variables:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise Invalid(f"variable name {name!r} must be a shell name (letters, digits, _)")
        if not values:
            raise Invalid(f"variable {name} has no values")
    if len(set(names)) != len(names):
        raise Invalid("each variable may appear once")
    count = 1
    for _, values in variables:
        count *= len(values)
    if count > 1000:
        raise Invalid(f"the variables make {count} runs; a job may have up to 1000")
    texts = [[(name, v, value_text(v)) for v in values] for name, values in variables]
    return [list(combo) for combo in itertools.product(*texts)]


def value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
