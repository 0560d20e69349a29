"""What the simulator's namelist reader refuses (like WRF's Fortran reads), and its own knobs.

WRF reads each group with a Fortran namelist READ: an unknown variable, a value that is not of
the variable's type or a group that never ends makes the READ fail, and WRF prints the group name
and the line it stopped at ("Maybe here?") before a FATAL block. This module finds those lines.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from localrun.wrf import namelist_vars as nv

SIM_GROUP = "localrun_simulator"
DEFAULT_COST_US = 0.92

_GROUP = re.compile(r"^\s*[&$](\w+)\s*(.*)$")
_END = re.compile(r"^\s*(/|[&$]end)\s*$", re.IGNORECASE)
_NAME = re.compile(r"([A-Za-z]\w*)(\s*\([^)]*\))?\s*=")
_INT = re.compile(r"^[+-]?\d+$")
_REAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eEdD][+-]?\d+)?$")
_LOGICAL = re.compile(r"^\.?(t|f|true|false)\.?$", re.IGNORECASE)
_REPEAT = re.compile(r"^\d+\*(.*)$")

_DATE_PARTS = ("year", "month", "day", "hour", "minute", "second")
_INTEGER_NAMES = frozenset(
    [f"{w}_{p}" for w in ("start", "end") for p in _DATE_PARTS]
    + [
        "run_days",
        "run_hours",
        "run_minutes",
        "run_seconds",
        "history_interval",
        "frames_per_outfile",
        "restart_interval",
        "interval_seconds",
        "time_step",
        "time_step_fract_num",
        "time_step_fract_den",
        "max_dom",
        "grid_id",
        "s_we",
        "e_we",
        "s_sn",
        "e_sn",
        "s_vert",
        "e_vert",
        "parent_id",
        "i_parent_start",
        "j_parent_start",
        "parent_grid_ratio",
        "parent_time_step_ratio",
        "nproc_x",
        "nproc_y",
        "max_step_increase_pct",
        "nio_tasks_per_group",
        "nio_groups",
        "debug_level",
    ]
)
_REAL_NAMES = frozenset(
    [
        "dx",
        "dy",
        "target_cfl",
        "target_hcfl",
        "starting_time_step",
        "max_time_step",
        "min_time_step",
        "speed",
        "fail_at_percent",
        "hang_at_percent",
        "cost_us",
    ]
)
_LOGICAL_NAMES = frozenset(
    ["restart", "input_from_file", "use_adaptive_time_step", "step_to_output_time"]
)
_KNOBS = frozenset({"speed", "fail_at_percent", "hang_at_percent", "cost_us"})


@dataclass(frozen=True)
class GroupError:
    group: str
    lines: tuple[str, ...]


@dataclass
class _Reader:
    group: str = ""
    name: str = ""
    previous: str = ""
    failed: bool = False


def namelist_errors(text: str) -> list[GroupError]:
    """Every group whose Fortran READ would fail, with the 'Maybe here?' lines; [] when none."""
    errors: list[GroupError] = []
    state = _Reader()
    for raw in text.splitlines():
        line = _strip_comment(raw).strip()
        if not state.group:
            match = _GROUP.match(line)
            if not match:
                continue
            state = _Reader(group=match.group(1).lower(), previous=raw)
            line = match.group(2).strip()
            if not line:
                continue
        if _END.match(line):
            state = _Reader()
            continue
        if not state.failed and not _line_ok(state, line.removesuffix("/").strip()):
            state.failed = True
            if _checked(state.group):
                errors.append(GroupError(state.group, (state.previous, raw)))
        state.previous = raw
        if line.endswith("/") and not _in_string(line):
            state = _Reader()
    if state.group and not state.failed and _checked(state.group):
        errors.append(GroupError(state.group, (state.previous,)))
    return errors


def _checked(group: str) -> bool:
    return group in nv.CHECKED_GROUPS or group == SIM_GROUP


def _known(group: str, name: str) -> bool:
    if group == SIM_GROUP:
        return name in _KNOBS
    return group not in nv.CHECKED_GROUPS or name in nv.known(group)


def _line_ok(state: _Reader, line: str) -> bool:
    if not line:
        return True
    if line.count('"') % 2 or line.count("'") % 2:
        return False
    matches = list(_NAME.finditer(line))
    if not matches:
        return bool(state.name) and _values_ok(state.name, line)
    if line[: matches[0].start()].strip(" ,"):
        return False
    for match, end in zip(matches, [m.start() for m in matches[1:]] + [len(line)], strict=True):
        state.name = match.group(1).lower()
        if not _known(state.group, state.name):
            return False
        if not _values_ok(state.name, line[match.end() : end]):
            return False
    return True


def _values_ok(name: str, values: str) -> bool:
    tokens = [t for t in re.split(r"[,\s]+", values.strip()) if t]
    if name in _LOGICAL_NAMES:
        return all(_LOGICAL.match(_unrepeat(t)) for t in tokens)
    if name in _INTEGER_NAMES:
        return all(_INT.match(_unrepeat(t)) for t in tokens)
    if name in _REAL_NAMES:
        return all(_REAL.match(_unrepeat(t)) for t in tokens)
    return True


def _unrepeat(token: str) -> str:
    match = _REPEAT.match(token)
    return match.group(1) if match else token


def _strip_comment(line: str) -> str:
    quote = ""
    for i, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "!":
            return line[:i]
    return line


def _in_string(line: str) -> bool:
    return bool(line.count('"') % 2 or line.count("'") % 2)


def error_lines(errors: list[GroupError]) -> Iterator[str]:
    for error in errors:
        yield f"  ------ ERROR while reading namelist {error.group} ------"
        for line in error.lines:
            yield f"Maybe here?:     {line.rstrip()}"


@dataclass(frozen=True)
class Knobs:
    speed: float = 1.0
    fail_at_percent: float | None = None
    hang_at_percent: float | None = None
    cost_us: float = DEFAULT_COST_US


class KnobError(ValueError):
    pass


_ENV = {
    "speed": "LOCALRUN_SIM_SPEED",
    "fail_at_percent": "LOCALRUN_SIM_FAIL_AT",
    "hang_at_percent": "LOCALRUN_SIM_HANG_AT",
    "cost_us": "LOCALRUN_SIM_COST_US",
}


def read_knobs(raw: Mapping[str, Mapping[str, Any]], env: Mapping[str, str] = os.environ) -> Knobs:
    """Knobs from the &localrun_simulator group, else from LOCALRUN_SIM_* variables."""
    group = raw.get(SIM_GROUP, {})
    values: dict[str, float | None] = {}
    for name, variable in _ENV.items():
        value: Any = group.get(name)
        where = f"&{SIM_GROUP} {name}"
        if value is None and env.get(variable, "").strip():
            value, where = env[variable].strip(), variable
        values[name] = None if value is None else _number(value, where)
    for name in ("speed", "cost_us"):
        number = values[name]
        if number is not None and number <= 0:
            raise KnobError(f"{name} must be positive, not {number:g}")
    return Knobs(
        speed=values["speed"] or 1.0,
        fail_at_percent=values["fail_at_percent"],
        hang_at_percent=values["hang_at_percent"],
        cost_us=values["cost_us"] or DEFAULT_COST_US,
    )


def _number(value: Any, where: str) -> float:
    first = value[0] if isinstance(value, list) else value
    try:
        return float(first)
    except (TypeError, ValueError):
        raise KnobError(f"{where} must be a number, not {first!r}") from None


def namelist_output(raw: Mapping[str, Mapping[str, Any]]) -> str:
    """namelist.output: the groups as read, one `name = values` line each, like WRF's."""
    lines: list[str] = []
    for group, variables in raw.items():
        lines.append(f" &{group.upper()}")
        for name, value in variables.items():
            items = value if isinstance(value, list) else [value]
            lines.append(f" {name.upper()} = " + ", ".join(_fortran(v) for v in items) + ",")
        lines.append(" /")
    return "\n".join(lines) + "\n"


def _fortran(value: Any) -> str:
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, str):
        return f"'{value}'"
    return "" if value is None else str(value)
