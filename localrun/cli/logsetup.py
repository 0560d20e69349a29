"""The daemon's logging: journald priorities under systemd, timestamps elsewhere; debug for
localrun's own loggers only (never aiosqlite's SQL)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

PRIORITIES = ((logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))


class JournalFormatter(logging.Formatter):
    """`<N>` before each line: journald reads it as the syslog priority (and adds the time)."""

    def format(self, record: logging.LogRecord) -> str:
        priority = next((p for level, p in PRIORITIES if record.levelno >= level), 7)
        text = super().format(record)
        return "\n".join(f"<{priority}>{line}" for line in text.splitlines())


def setup(level: str, log_file: Path | None = None) -> None:
    if log_file is not None:
        handler: logging.Handler = logging.FileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    if log_file is None and os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(logging.INFO, logging.getLevelName(level.upper())))
    logging.getLogger("localrun").setLevel(level.upper())
