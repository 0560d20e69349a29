"""Run a test file with pytest in a subprocess, with localrun's plugin, and read its report."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path


def plugin_installed() -> bool:
    """Whether the pytest11 entry point is in the installed metadata (after pip install)."""
    return any(e.value == "localrun.testing.plugin" for e in entry_points(group="pytest11"))


@dataclass
class Outcome:
    returncode: int
    output: str
    times: dict[str, float]  # test name -> seconds of its call, from the JUnit report


def run_pytest(
    folder: Path, *args: str, env: dict[str, str] | None = None, unset: tuple[str, ...] = ()
) -> Outcome:
    report = folder / "report.xml"
    plugin = [] if plugin_installed() else ["-p", "localrun.testing.plugin"]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *plugin,
            "-p",
            "no:cacheprovider",
            "-q",
            f"--junitxml={report}",
            "--basetemp",
            str(folder / "tmp"),
            *args,
        ],
        cwd=folder,
        env={
            **{k: v for k, v in os.environ.items() if k not in unset},
            "PYTEST_ADDOPTS": "",
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    times = {}
    if report.exists():
        for case in ET.parse(report).iter("testcase"):
            times[case.get("name", "")] = float(case.get("time", "0"))
    return Outcome(done.returncode, done.stdout + done.stderr, times)
