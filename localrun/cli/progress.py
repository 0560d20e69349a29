"""A run's progress: a rich bar redrawn in place on a terminal, plain lines elsewhere.

rich sizes the bar to the terminal's width and redraws the one line with terminal controls,
which our own `\\r` bar did not (it wrapped at 80 columns and wrote frames into files)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import IO, Any

from localrun.runs import TERMINAL
from localrun.wrf.estimate_table import format_duration

PLAIN_EVERY_S = 5.0  # a plain line this often when the output is not a terminal
POLL_S = 1.0


def _left_text(run: dict[str, Any]) -> str:
    if run["state"] in TERMINAL:
        return "-"
    left = (run.get("progress") or {}).get("remaining_s")
    return "?" if left is None else format_duration(float(left))


def percent_of(run: dict[str, Any]) -> float:
    return float((run.get("progress") or {}).get("percent") or 0.0)


def progress_line(run: dict[str, Any], width: int = 30) -> str:
    """One plain line: bar, percent, state, model time and (while live) the time left."""
    percent = percent_of(run)
    filled = int(width * percent / 100)
    bar = "#" * filled + "-" * (width - filled)
    model_time = (run.get("progress") or {}).get("model_time") or "-"
    text = f"[{bar}] {percent:5.1f}%  {run['state']:<9} model {model_time}"
    if run["state"] not in TERMINAL:
        text += f"  left {_left_text(run)}"
    return text


def ending(run: dict[str, Any]) -> str:
    error = run.get("error") or {}
    text = f"{run['state']}"
    if error.get("message"):
        text += f" ({error.get('code')}): {error['message']}"
    if error.get("hint"):
        text += f"\nhint: {error['hint']}"
    return text


def elapsed_s(run: dict[str, Any], now: float | None = None) -> float | None:
    """Seconds from start to end (or to now while it runs); None before it starts."""
    start = _epoch(run.get("started_at"))
    if start is None:
        return None
    end = _epoch(run.get("ended_at"))
    return max(0.0, (end if end is not None else (now or time.time())) - start)


def _epoch(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def follow(
    fetch: Callable[[], dict[str, Any]],
    out: IO[str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll fetch() until the run ends, showing its progress on out; the last run seen."""
    out = out or sys.stdout
    if out.isatty():
        return _follow_live(fetch, out, sleep)
    return _follow_plain(fetch, out, sleep)


def _follow_plain(
    fetch: Callable[[], dict[str, Any]], out: IO[str], sleep: Callable[[float], None]
) -> dict[str, Any]:
    last_at, last_state = -PLAIN_EVERY_S, ""
    while True:
        run = fetch()
        now = time.monotonic()
        if run["state"] != last_state or now - last_at >= PLAIN_EVERY_S or _ended(run):
            stamp = time.strftime("%H:%M:%S")
            out.write(f"{stamp} {progress_line(run, width=20)}\n")
            out.flush()
            last_at, last_state = now, run["state"]
        if _ended(run):
            return run
        sleep(POLL_S)


def _follow_live(
    fetch: Callable[[], dict[str, Any]], out: IO[str], sleep: Callable[[float], None]
) -> dict[str, Any]:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    console = Console(file=out, highlight=False)
    columns = (
        TextColumn("{task.fields[state]:<9}"),
        BarColumn(bar_width=None),
        TaskProgressColumn(),
        TextColumn("model {task.fields[model]}"),
        TextColumn("{task.fields[left]}"),
    )
    with Progress(*columns, console=console, auto_refresh=False, expand=True) as bar:
        task = bar.add_task("run", total=100.0, state="", model="-", left="left ?")
        while True:
            run = fetch()
            model = (run.get("progress") or {}).get("model_time") or "-"
            bar.update(
                task,
                completed=percent_of(run),
                state=run["state"],
                model=model,
                left="" if run["state"] in TERMINAL else f"left {_left_text(run)}",
                refresh=True,
            )
            if _ended(run):
                return run
            sleep(POLL_S)


def _ended(run: dict[str, Any]) -> bool:
    return run["state"] in TERMINAL
