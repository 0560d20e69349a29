"""What the official Cloudrun client reads from every Run it is sent (CLIENTS.md §A3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

CLIENT_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"
RUN_KEYS = {
    "compute_config",
    "compute_options",
    "disk_usage",
    "error",
    "id",
    "input_files",
    "model",
    "output_files",
    "percent_complete",
    "remaining_time",
    "required_input_files",
    "run_name",
    "selected_compute_option",
    "status",
    "version",
    "time_created",
    "time_started",
    "time_stopped",
}
TIMES = ("time_created", "time_started", "time_stopped")


def check_run(body: dict[str, Any]) -> dict[str, Any]:
    """What the client's Run._update does with a response, plus the types it relies on."""
    missing = RUN_KEYS - set(body)
    assert not missing, f"Run lacks {sorted(missing)}"
    datetime.strptime(body["time_created"], CLIENT_TIME)
    for key in ("time_started", "time_stopped"):
        if body[key] is not None:
            datetime.strptime(body[key], CLIENT_TIME)
    assert body["status"] in {"created", "ready", "starting", "active", "done", "stopped", "error"}
    assert isinstance(body["model"], str)
    assert isinstance(body["disk_usage"], int)
    for option in body["compute_options"]:
        assert isinstance(option["compute_option_id"], str)
        assert type(option["cores"]) is int
        assert {"cost", "time"} <= set(option)
    for item in body["input_files"]:
        assert set(item) == {"fileid", "filename", "size"}
    for item in body["output_files"]:
        assert set(item) == {"filename", "size"}
    assert (body["error"] is None) == (body["status"] != "error")
    return body
