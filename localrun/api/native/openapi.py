"""The OpenAPI document of localrun's own API."""

from __future__ import annotations

from typing import Any

from localrun import __version__

_RUN_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}

# (method, path, summary, parameters)
OPERATIONS: list[tuple[str, str, str, list[dict[str, Any]]]] = [
    (
        "post",
        "/localrun/v1/runs",
        "Create a run (JSON: name, model, version, cores, walltime_s)",
        [],
    ),
    ("get", "/localrun/v1/runs", "List runs (state, name, job, created_after, cursor, limit)", []),
    ("get", "/localrun/v1/runs/{id}", "Get a run (events=1 adds its events)", [_RUN_ID]),
    (
        "delete",
        "/localrun/v1/runs/{id}",
        "Delete a run's files; the record stays",
        [_RUN_ID],
    ),
    ("post", "/localrun/v1/runs/{id}/inputs", "Upload input files (multipart)", [_RUN_ID]),
    (
        "post",
        "/localrun/v1/runs/{id}/start",
        "Start a ready run (JSON: cores, oversubscribe)",
        [_RUN_ID],
    ),
    ("post", "/localrun/v1/runs/{id}/stop", "Stop a run", [_RUN_ID]),
    ("get", "/localrun/v1/runs/{id}/events", "Every state transition of a run", [_RUN_ID]),
    ("get", "/localrun/v1/runs/{id}/logs", "Read a log from a byte offset (follow=s)", [_RUN_ID]),
    ("get", "/localrun/v1/runs/{id}/files", "List the files a run wrote", [_RUN_ID]),
    (
        "get",
        "/localrun/v1/runs/{id}/files/{path}",
        "Download a file (HTTP Range supported)",
        [_RUN_ID, {"name": "path", "in": "path", "required": True, "schema": {"type": "string"}}],
    ),
    ("post", "/localrun/v1/estimate", "Core-count options for a namelist (body: namelist)", []),
    ("get", "/localrun/v1/health", "Daemon health", []),
    ("get", "/localrun/v1/openapi.json", "This document", []),
    ("get", "/healthz", "Daemon health (no token needed)", []),
]

_PUBLIC = {"/healthz", "/localrun/v1/openapi.json"}

_INT = {"type": "integer", "minimum": 1}
# The JSON bodies; a field not listed is refused with 400.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/localrun/v1/runs"): {
        "name": {"type": "string"},
        "model": {"type": "string", "default": "wrf"},
        "version": {"type": "string", "default": "latest"},
        "cores": _INT,
        "walltime_s": _INT,
    },
    ("post", "/localrun/v1/runs/{id}/start"): {
        "cores": _INT,
        "oversubscribe": {"type": "boolean", "default": False},
    },
}


def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, params in OPERATIONS:
        operation: dict[str, Any] = {
            "summary": summary,
            "parameters": params,
            "responses": {
                "200": {"description": "OK"},
                "4XX": {"$ref": "#/components/responses/Error"},
            },
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
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.0.3",
        "info": {"title": "localrun", "version": __version__},
        "paths": paths,
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {
                "Error": {
                    "description": "Error",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "error": {
                                        "type": "object",
                                        "properties": {
                                            "status": {"type": "integer"},
                                            "code": {"type": "string"},
                                            "message": {"type": "string"},
                                        },
                                    }
                                },
                            }
                        }
                    },
                }
            },
        },
    }
