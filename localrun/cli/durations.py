"""Durations as people write them: 90, 90s, 15m, 2h, 30d, 1h30m."""

from __future__ import annotations

import argparse
import re

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


def seconds(text: str) -> float:
    """Seconds in text; ValueError when it is not a duration."""
    cleaned = text.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", cleaned):
        return float(cleaned)
    parts = _PART.findall(cleaned)
    if not parts or "".join(n + u for n, u in parts) != cleaned:
        raise ValueError(f"{text!r} is not a duration (like 90s, 15m, 2h, 30d)")
    return sum(float(n) * UNITS[u] for n, u in parts)


def duration_arg(text: str) -> float:
    """argparse type: a positive duration."""
    try:
        value = seconds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than zero")
    return value
