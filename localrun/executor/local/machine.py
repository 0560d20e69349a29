"""What this machine has to hand out."""

from __future__ import annotations

import os

import psutil


def memory_bytes() -> int:
    return int(psutil.virtual_memory().total)


def physical_cores() -> int:
    return psutil.cpu_count(logical=False) or os.cpu_count() or 1
