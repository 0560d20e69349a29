"""Run a WRF case from inside a handler and get localrun's diagnosis of it.

    from localrun.handlers import run_case

    def handler(event):
        return run_case({"time_step": event[0], "run_minutes": 6})

run_case copies the case (the shipped example case unless `case` names a folder, such as
`os.path.join(os.environ["LOCALRUN_STORE"], "cases/mine")`: the owner's stored objects, put
there through the Files drive or the S3 endpoint, as they were when the run was made) into
`directory` (default: the job's working directory, where the supervisor follows WRF's progress),
sets the namelist values given, runs `mpirun -np N wrf.exe` there (N = the job's cores unless
`cores` says otherwise) and returns the diagnosis `localrun inspect --json` prints: "state",
"code", "message", "hint", "exit_code", "progress", "steps", "outputs", plus "edits".

A key is a variable name found in one of the namelist's groups ("time_step"), or
"group.name" ("domains.time_step", which also adds a variable the namelist lacks). A value is a
number, a bool, a string or a list of them (one per domain).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from localrun.executor.local.foreground import run_to_end
from localrun.wrf.inspect import inspect_dir

EXAMPLE_CASE = Path(__file__).resolve().parents[1] / "example_case"
NAMELIST = "namelist.input"
GROUP = re.compile(r"^\s*&(\w+)")
END = re.compile(r"^\s*/\s*$")
ASSIGNMENT = re.compile(r"^(\s*)(\w+)(\s*=\s*)")


def fortran(value: Any) -> str:
    """A value as a namelist writes it."""
    if isinstance(value, bool):
        return ".true." if value else ".false."
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, list | tuple) and value:
        return ", ".join(fortran(v) for v in value)
    raise ValueError(f"{value!r} cannot be written in a namelist")


def edit_namelist(text: str, edits: Mapping[str, Any]) -> str:
    """The namelist with each edit applied, every other line kept as it was."""
    lines = text.splitlines()
    for key, value in edits.items():
        group, _, name = key.lower().rpartition(".")
        lines = _set(lines, group or None, name, fortran(value), key)
    return "\n".join(lines) + "\n"


def _set(lines: list[str], group: str | None, name: str, value: str, key: str) -> list[str]:
    current: str | None = None
    end_of: dict[str, int] = {}
    for number, line in enumerate(lines):
        opened = GROUP.match(line)
        if opened:
            current = opened.group(1).lower()
            continue
        if END.match(line) and current is not None:
            end_of.setdefault(current, number)
            current = None
            continue
        found = ASSIGNMENT.match(line)
        if found and found.group(2).lower() == name and group in (None, current):
            return [
                *lines[:number],
                f"{found.group(1)}{found.group(2)}{found.group(3)}{value},",
                *lines[number + 1 :],
            ]
    if group is not None and group in end_of:
        at = end_of[group]
        return [*lines[:at], f" {name} = {value},", *lines[at:]]
    where = f"group &{group}" if group else "any group (write it as group.name to add it)"
    raise KeyError(f"{key}: no such variable in {where} of {NAMELIST}")


def copy_case(case: Path, directory: Path) -> None:
    if not (case / NAMELIST).is_file():
        raise FileNotFoundError(f"{case} holds no {NAMELIST}")
    directory.mkdir(parents=True, exist_ok=True)
    for item in sorted(case.iterdir()):
        if item.is_file() and not item.name.startswith("."):
            target = directory / item.name
            if item.resolve() != target.resolve():
                target.unlink(missing_ok=True)
                shutil.copyfile(item, target)


def run_case(
    edits: Mapping[str, Any] | None = None,
    *,
    case: str | Path | None = None,
    directory: str | Path = ".",
    cores: int | None = None,
) -> dict[str, Any]:
    """Copy the case into directory, apply edits to its namelist, run it, diagnose it."""
    where = Path(directory).resolve()
    copy_case(Path(case).resolve() if case is not None else EXAMPLE_CASE, where)
    namelist = where / NAMELIST
    namelist.write_text(edit_namelist(namelist.read_text(), dict(edits or {})))
    ranks = cores or int(os.environ.get("LOCALRUN_CORES", "1"))
    status = run_to_end(
        ["mpirun", "-np", str(ranks), "wrf.exe"],
        where,
        where / "mpirun.stdout",
        where / "mpirun.stderr",
    )
    (where / "exit_code").write_text(f"{status}\n")
    report = {**inspect_dir(where, exit_code=status), "edits": dict(edits or {})}
    plain: dict[str, Any] = json.loads(json.dumps(report))  # so that repr(plain) is a literal
    return plain
