"""One helper per timestamp format a client parses; never isoformat() by accident."""

from __future__ import annotations

from datetime import UTC, datetime


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


_ISO_Z: dict[float, str] = {}  # a run's times do not change: a listing formats the same ones


def iso_z(epoch: float | None) -> str | None:
    """2018-08-21T02:16:59.707338Z: always microseconds, always a literal Z."""
    if epoch is None:
        return None
    text = _ISO_Z.get(epoch)
    if text is None:
        if len(_ISO_Z) >= 100_000:
            _ISO_Z.clear()
        t = _utc(epoch)  # strftime costs three times these fields
        text = _ISO_Z[epoch] = (
            f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
            f".{t.microsecond:06d}Z"
        )
    return text


def iso_z_seconds(epoch: float | None) -> str | None:
    """2018-08-21T02:16:59Z."""
    return None if epoch is None else _utc(epoch).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_first(epoch: float | None) -> str | None:
    """21-08-2018 02:16:59, as Sharedcloud's CLI parses it."""
    return None if epoch is None else _utc(epoch).strftime("%d-%m-%Y %H:%M:%S")


def parse_time(text: str) -> float:
    """An ISO-8601 time (Z or offset; naive = UTC) or epoch seconds, as epoch seconds."""
    try:
        return float(text)
    except ValueError:
        pass
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
