"""A Rescale job body (POST jobs/) read into what the service's create_job takes."""

from __future__ import annotations

import math
from typing import Any

from localrun.api.common import number
from localrun.errors import Invalid
from localrun.service import Service

CORE_TYPE = "local"
WRF, USER_INCLUDED = "wrf", "user_included"


def hardware_of(item: dict[str, Any]) -> dict[str, Any]:
    hardware = item.get("hardware") or {}
    if not isinstance(hardware, dict):
        raise Invalid("hardware must be an object")
    return hardware


def cores_of(hardware: dict[str, Any], sweep: bool) -> int:
    """coresPerSlot for each run of a sweep, cores (or slots x coresPerSlot) for a single run."""
    per_slot = hardware.get("coresPerSlot")
    total = hardware.get("cores")
    if total is None and per_slot is not None and hardware.get("slots") is not None:
        total = number(per_slot, "coresPerSlot", 1) * number(hardware["slots"], "slots", 1)
    chosen = (per_slot if sweep else total) or per_slot or total or 1
    value = number(chosen, "cores", 1)
    if not value.is_integer():
        raise Invalid(f"cores must be a whole number, not {chosen!r}")
    return int(value)


def core_type_of(hardware: dict[str, Any]) -> str:
    value = hardware.get("coreType") or CORE_TYPE
    return str(value.get("code") or CORE_TYPE) if isinstance(value, dict) else str(value)


def variable_values(item: dict[str, Any]) -> list[Any]:
    """A variable's values: "values", one "value", or a FixedRange valueGeneration."""
    name = item["name"]
    generation = item.get("valueGeneration") or {}
    if not isinstance(generation, dict):
        raise Invalid(f"variable {name}: valueGeneration must be an object")
    values = item.get("values", generation.get("values"))
    if values is None and "value" in item:
        values = [item["value"]]
    if values is not None:
        if not isinstance(values, list) or not values:
            raise Invalid(f"variable {name}: values must be a non-empty list")
        if any(v is None or isinstance(v, dict | list) for v in values):
            raise Invalid(f"variable {name}: each value must be a number or a string")
        return values
    if "minValue" in generation and "maxValue" in generation:
        low = number(generation["minValue"], f"{name} minValue")
        high = number(generation["maxValue"], f"{name} maxValue", low)
        step = number(generation.get("increment", 1), f"{name} increment", 1e-12)
        count = math.floor((high - low) / step + 1e-9) + 1
        if count > 1000:
            raise Invalid(f"variable {name} makes {count} values; a job may have up to 1000 runs")
        return [round(low + k * step, 10) for k in range(count)]
    raise Invalid(
        f'variable {name}: give "values": [...] or "valueGeneration": '
        '{"type": "FixedRange", "minValue", "maxValue", "increment"}'
    )


def variables_of(raw: Any) -> list[tuple[str, list[Any]]]:
    if not isinstance(raw, list):
        raise Invalid("jobvariables must be a list of variables")
    found = []
    for item in raw:
        if not isinstance(item, dict) or not item.get("name"):
            raise Invalid("each variable needs a name")
        if item.get("variableType", "Param") == "Param":
            found.append((str(item["name"]), variable_values(item)))
    return found


def job_request(svc: Service, body: dict[str, Any]) -> dict[str, Any]:
    """create_job's arguments from the POST jobs/ body; the job's spec keeps the body as
    Rescale shows it back."""
    analyses = body.get("jobanalyses")
    if not isinstance(analyses, list) or len(analyses) != 1 or not isinstance(analyses[0], dict):
        raise Invalid("jobanalyses must hold exactly one analysis")
    item = analyses[0]
    analysis = item.get("analysis") or {}
    code = str(analysis.get("code") or "").strip() if isinstance(analysis, dict) else ""
    if code not in (WRF, USER_INCLUDED):
        raise Invalid(f"analysis code {code!r} is not available: use {WRF} or {USER_INCLUDED}")
    newest = svc.default_version(WRF)
    version = str(analysis.get("version") or "").strip() or newest
    raw_variables = body.get("jobvariables") or item.get("variables") or []
    variables = variables_of(raw_variables)
    hardware = hardware_of(item)
    walltime = hardware.get("walltime")
    hours = None if walltime is None else number(walltime, "walltime (hours)", 1e-6)
    inputs = item.get("inputFiles") or []
    if not isinstance(inputs, list) or not all(isinstance(f, dict) and f.get("id") for f in inputs):
        raise Invalid('inputFiles must be a list of {"id": "<file id>"}')
    command = str(item.get("command") or "")
    name = str(body.get("name") or "").strip() or "rescale-job"
    cores = cores_of(hardware, sweep=bool(variables))
    spec = {
        "name": name,
        "analysis": {"code": code, "version": version},
        "command": command,
        "hardware": {
            "coreType": core_type_of(hardware),
            "coresPerSlot": cores,
            "cores": cores,
            "walltime": hours,
        },
        "inputFiles": [str(f["id"]) for f in inputs],
        "jobvariables": raw_variables,
    }
    return {
        "name": name,
        "model": WRF,
        "version": version if code == WRF else newest,
        # set -e: a step that fails (a `cd` into a folder that is not there) fails the run with
        # its exit status, rather than the next steps running where they should not
        "command": f"set -e\n{command}" if command.strip() else command,
        "cores": cores,
        "walltime_s": None if hours is None else math.ceil(hours * 3600),
        "file_ids": spec["inputFiles"],
        "variables": variables,
        "spec": spec,
    }
