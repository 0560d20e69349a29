"""The response schemas of localrun's own API (OpenAPI 3.0 schema objects)."""

from __future__ import annotations

from typing import Any


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def _object(properties: dict[str, Any], extra: bool = False) -> dict[str, Any]:
    return {
        "type": "object",
        "required": sorted(properties),
        "properties": properties,
        "additionalProperties": extra,
    }


_STR = {"type": "string"}
_INT = {"type": "integer"}
_NUM = {"type": "number"}
_BOOL = {"type": "boolean"}
_TIME = _nullable({"type": "string", "format": "date-time"})
_REF = "#/components/schemas/"
STATES = ["created", "ready", "queued", "starting", "running"]
STATES += ["succeeded", "failed", "cancelled", "timed_out", "lost"]

_EVENT = _object({"at": {"type": "string", "format": "date-time"}, "state": _STR, "message": _STR})

_PROGRESS = _nullable(
    {
        "type": "object",
        "description": "Per-domain progress as WRF's rsl logs show it",
        "properties": {
            "percent": _nullable(_NUM),
            "model_time": _nullable(_STR),
            "remaining_s": _nullable(_NUM),
        },
        "additionalProperties": True,
    }
)

_RUN_PROPERTIES: dict[str, Any] = {
    "id": _STR,
    "name": _STR,
    "model": _STR,
    "version": _STR,
    "executable": _STR,
    "family": _STR,
    "state": {"type": "string", "enum": STATES},
    "cores": _nullable(_INT),
    "walltime_s": _nullable(_INT),
    "created_at": _TIME,
    "queued_at": _TIME,
    "started_at": _TIME,
    "ended_at": _TIME,
    "progress": _PROGRESS,
    "usage": _nullable({"type": "object", "additionalProperties": True}),
    "exit_code": _nullable(_INT),
    "error": _nullable(
        _object({"code": _nullable(_STR), "message": _nullable(_STR), "hint": _nullable(_STR)})
    ),
    "required_inputs": {"type": "array", "items": _STR},
    "missing_inputs": {"type": "array", "items": _STR},
    "stop_requested": _BOOL,
    "queue_reason": _nullable(_STR),
    "job": _nullable(_object({"id": _STR, "index": _nullable(_INT)})),
    "queue_position": {"type": "integer", "description": "1: next to start (queued runs)"},
    "preprocess": _nullable({"type": "string", "description": "ideal or real: run first"}),
    "links": {
        "type": "object",
        "description": "linked runs: resumed_from/resumed_by, retry_of/retried_by "
        "(run ids), restart_at (model time), attempt, cfl_retries (left)",
        "additionalProperties": True,
    },
}
_RUN = _object(_RUN_PROPERTIES)
_RUN["required"] = sorted(set(_RUN_PROPERTIES) - {"queue_position"})  # queued runs only
_RUN["properties"] = {**_RUN_PROPERTIES, "events": {"type": "array", "items": _EVENT}}
_RUN["additionalProperties"] = True  # new fields may appear; clients ignore what they do not know

_HEALTH = {
    "type": "object",
    "required": ["status", "version", "uptime_s", "cores", "mpi", "models"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded"]},
        "version": _STR,
        "uptime_s": _NUM,
        "disk_free_bytes": _INT,
        "sandbox": _STR,
        "single_user": _BOOL,
        "executor": {"type": "object", "additionalProperties": True},
        "cores": _object({"total": _INT, "free": _INT}),
        "mpi": {"type": "object", "additionalProperties": True},
        "models": {"type": "array", "items": {"type": "object", "additionalProperties": True}},
    },
    "additionalProperties": True,
}

SCHEMAS: dict[str, Any] = {
    "Run": _RUN,
    "RunList": _object(
        {"runs": {"type": "array", "items": {"$ref": _REF + "Run"}}, "next_cursor": _nullable(_STR)}
    ),
    "Upload": _object(
        {
            "files": {
                "type": "array",
                "items": _object(
                    {
                        "name": _STR,
                        "size": _INT,
                        "md5": {**_STR, "description": "hex md5 of the bytes stored"},
                    }
                ),
            },
            "run": {"$ref": _REF + "Run"},
        }
    ),
    "Events": _object({"events": {"type": "array", "items": _EVENT}}),
    "LogChunk": _object(
        {
            "name": _STR,
            "offset": _INT,
            "next_offset": _INT,
            "size": _INT,
            "eof": _BOOL,
            "text": _STR,
        }
    ),
    "Files": _object(
        {
            "files": {
                "type": "array",
                "items": _object({"path": _STR, "size": _INT, "modified_at": {"type": "string"}}),
            }
        }
    ),
    "Estimate": _object(
        {"options": {"type": "array", "items": {"type": "object", "additionalProperties": True}}}
    ),
    "Health": _HEALTH,
    "Document": {"type": "object", "required": ["openapi", "paths"]},
    "Error": _object(
        {
            "error": {
                "type": "object",
                "required": ["status", "message"],
                "properties": {
                    "status": _INT,
                    "code": _nullable(_STR),
                    "message": _STR,
                },
                "additionalProperties": True,
            }
        }
    ),
}
