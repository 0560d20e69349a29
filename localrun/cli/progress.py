"""A run's progress as one line of text, and the ending a watcher prints."""

from __future__ import annotations

from typing import Any

from localrun.wrf.estimate_table import format_duration


def progress_line(run: dict[str, Any], width: int = 30) -> str:
    progress = run.get("progress") or {}
    percent = float(progress.get("percent") or 0.0)
    filled = int(width * percent / 100)
    bar = "#" * filled + "-" * (width - filled)
    left = progress.get("remaining_s")
    left_text = "?" if left is None else format_duration(float(left))
    model_time = progress.get("model_time") or "-"
    return f"[{bar}] {percent:5.1f}%  {run['state']:<9} model {model_time}  left {left_text}   "


def ending(run: dict[str, Any]) -> str:
    error = run.get("error") or {}
    text = f"{run['state']}"
    if error.get("message"):
        text += f" ({error.get('code')}): {error['message']}"
    if error.get("hint"):
        text += f"\nhint: {error['hint']}"
    return text
