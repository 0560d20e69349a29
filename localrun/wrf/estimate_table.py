"""The estimator's options as a plain text table (for `localrun estimate`) and as JSON objects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # estimate.py re-exports this module's functions, so no import at run time
    from localrun.wrf.estimate import Option

HEADER = ("cores", "layout", "time", "core-hours", "cost", "recommended", "reason")


def format_duration(seconds: float | None) -> str:
    """Compact and readable: 42.0 s, 3m 05s, 2h 04m; '-' when there is no estimate."""
    if seconds is None:
        return "-"
    if seconds < 100:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _money(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if 0 < value < 0.01 else f"{value:.2f}"


def _row(option: Option) -> tuple[str, ...]:
    return (
        str(option.cores),
        f"{option.layout[0]}x{option.layout[1]}",
        format_duration(option.time_s),
        _number(option.core_hours, 3),
        _money(option.cost),
        "yes" if option.recommended else "",
        option.reason,
    )


def render_table(options: Sequence[Option]) -> str:
    """Aligned columns, numbers right-aligned, the reason last and unpadded."""
    rows = [HEADER, *(_row(o) for o in options)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER) - 1)]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(width) if i in (1, 5) else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=False))
        ]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines) + "\n"


def options_json(options: Sequence[Option]) -> list[dict[str, Any]]:
    """One JSON object per option; null time, core_hours and cost where WRF would refuse."""
    return [
        {
            "cores": o.cores,
            "valid": o.valid,
            "layout": f"{o.layout[0]}x{o.layout[1]}",
            "nproc_x": o.layout[0],
            "nproc_y": o.layout[1],
            "time_s": None if o.time_s is None else round(o.time_s, 3),
            "core_hours": None if o.core_hours is None else round(o.core_hours, 6),
            "cost": None if o.cost is None else round(o.cost, 4),
            "recommended": o.recommended,
            "reason": o.reason,
        }
        for o in options
    ]
