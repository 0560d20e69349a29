"""The OpenAPI document of localrun's own API."""

from __future__ import annotations

from typing import Any

from localrun import __version__
from localrun.api.native.openapi_schemas import SCHEMAS
from localrun.config import MAX_CFL_RETRIES

_REF = "#/components/schemas/"

_RUN_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_NAME = {
    "name": "name",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "the file's name in the run's input folder: one path component",
}


def _query(name: str, kind: str = "string", about: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": {"type": kind}, "description": about}


_LIST_QUERY = [
    _query("state", about="comma-separated states"),
    _query("name"),
    _query("job"),
    _query("created_after", about="ISO-8601 time or epoch seconds"),
    _query("cursor", about="next_cursor of the page before"),
    _query("limit", "integer", "at most 1000 (default 50)"),
]
_LOG_QUERY = [
    _query("name", about="a file of the run's directory, or stdout, stderr"),
    _query("offset", "integer"),
    _query("limit", "integer"),
    _query("follow", "integer", "seconds to wait for more while the run is live (max 60)"),
]
_EVENTS_QUERY = [_query("events", "boolean", "1 adds the run's events")]
_BYTES = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}

# (method, path, summary, parameters, {status: schema name, or None for no JSON body})
OPERATIONS: list[tuple[str, str, str, list[dict[str, Any]], dict[str, str | None]]] = [
    (
        "post",
        "/localrun/v1/runs",
        "Create a run (JSON: name, model, version, cores, walltime_s, cfl_retries, preprocess)",
        [],
        {"201": "Run"},
    ),
    ("get", "/localrun/v1/runs", "List runs, oldest first", _LIST_QUERY, {"200": "RunList"}),
    ("get", "/localrun/v1/runs/{id}", "Get a run", [_RUN_ID, *_EVENTS_QUERY], {"200": "Run"}),
    (
        "delete",
        "/localrun/v1/runs/{id}",
        "Delete a run's files (200, the record stays); record=true deletes the run too (204)",
        [_RUN_ID, _query("record", "boolean", "also delete the record and its events")],
        {"200": "Run", "204": None},
    ),
    (
        "post",
        "/localrun/v1/runs/{id}/inputs",
        "Upload input files (multipart, one file per part)",
        [_RUN_ID],
        {"201": "Upload"},
    ),
    (
        "put",
        "/localrun/v1/runs/{id}/inputs/{name}",
        "Upload one input file as the request's body, its bytes as they are (any Content-Type, "
        "with Content-Length or chunked): streamed to disk, md5 computed on the way, renamed "
        "into place when complete; a file of that name is replaced. The fastest way in: no "
        "multipart framing to parse. A Content-Length over the upload limit or the quota left "
        "is refused (413) before the body is read; a body cut short stores nothing (400).",
        [_RUN_ID, _NAME],
        {"201": "Upload"},
    ),
    (
        "post",
        "/localrun/v1/runs/{id}/start",
        "Start a ready run (JSON: cores, oversubscribe)",
        [_RUN_ID],
        {"202": "Run"},
    ),
    ("post", "/localrun/v1/runs/{id}/stop", "Stop a run", [_RUN_ID], {"202": "Run"}),
    (
        "post",
        "/localrun/v1/runs/{id}/resume",
        "A new run that goes on from the run's newest restart files (JSON: cores, start)",
        [_RUN_ID],
        {"201": "Run"},
    ),
    (
        "get",
        "/localrun/v1/runs/{id}/events",
        "Every state transition of a run",
        [_RUN_ID],
        {"200": "Events"},
    ),
    (
        "get",
        "/localrun/v1/runs/{id}/logs",
        "Read a log from a byte offset",
        [_RUN_ID, *_LOG_QUERY],
        {"200": "LogChunk"},
    ),
    (
        "get",
        "/localrun/v1/runs/{id}/files",
        "List the files a run wrote",
        [_RUN_ID],
        {"200": "Files"},
    ),
    (
        "get",
        "/localrun/v1/runs/{id}/files/{path}",
        "Download a file (HTTP Range supported)",
        [_RUN_ID, {"name": "path", "in": "path", "required": True, "schema": {"type": "string"}}],
        {"200": "bytes", "206": "bytes"},
    ),
    (
        "post",
        "/localrun/v1/estimate",
        "Core-count options for a namelist (body: the namelist's text)",
        [],
        {"200": "Estimate"},
    ),
    ("get", "/localrun/v1/health", "Daemon health, with paths", [], {"200": "Health"}),
    ("get", "/localrun/v1/openapi.json", "This document", [], {"200": "Document"}),
    ("get", "/healthz", "Daemon health (no token needed)", [], {"200": "Health"}),
]

_PUBLIC = {"/healthz", "/localrun/v1/openapi.json"}
_FILES = {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
_RAW_BODIES: dict[str, dict[str, Any]] = {
    "/localrun/v1/runs/{id}/inputs": {"multipart/form-data": {"schema": _FILES}},
    "/localrun/v1/runs/{id}/inputs/{name}": {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
    },
    "/localrun/v1/estimate": {"text/plain": {"schema": {"type": "string"}}},
}

_INT = {"type": "integer", "minimum": 1}
# The JSON bodies; a field not listed is refused with 400.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/localrun/v1/runs"): {
        "name": {"type": "string"},
        "model": {"type": "string", "default": "wrf"},
        "version": {"type": "string", "default": "latest"},
        "cores": _INT,
        "walltime_s": _INT,
        "cfl_retries": {"type": "integer", "minimum": 0, "maximum": MAX_CFL_RETRIES},
        "preprocess": {"type": "string", "enum": ["ideal", "real"]},
    },
    ("post", "/localrun/v1/runs/{id}/resume"): {
        "cores": _INT,
        "start": {"type": "boolean", "default": True},
    },
    ("post", "/localrun/v1/runs/{id}/start"): {
        "cores": _INT,
        "oversubscribe": {"type": "boolean", "default": False},
    },
}


def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, params, answers in OPERATIONS:
        responses: dict[str, Any] = {}
        for status, answer in answers.items():
            responses[status] = _response(status, answer)
        responses["4XX"] = {"$ref": "#/components/responses/Error"}
        operation: dict[str, Any] = {
            "summary": summary,
            "operationId": f"{method}_{path.strip('/').replace('/', '_')}",
            "parameters": params,
            "responses": responses,
        }
        if path in _PUBLIC:
            operation["security"] = []
        if (method, path) in BODIES:
            schema = {
                "type": "object",
                "properties": BODIES[(method, path)],
                "additionalProperties": False,
            }
            operation["requestBody"] = {"content": {"application/json": {"schema": schema}}}
        if path in _RAW_BODIES:
            operation["requestBody"] = {"required": True, "content": _RAW_BODIES[path]}
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.0.3",
        "info": {"title": "localrun", "version": __version__},
        "paths": paths,
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
            "responses": {
                "Error": {
                    "description": "Error",
                    "content": {"application/json": {"schema": {"$ref": _REF + "Error"}}},
                }
            },
        },
    }


def _response(status: str, schema: str | None) -> dict[str, Any]:
    description = {"200": "OK", "201": "Created", "202": "Accepted", "204": "No Content"}
    answer: dict[str, Any] = {"description": description.get(status, "Partial Content")}
    if schema == "bytes":
        answer["content"] = _BYTES
    elif schema is not None:
        answer["content"] = {"application/json": {"schema": {"$ref": _REF + schema}}}
    return answer
