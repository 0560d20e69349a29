"""`localrun inspect DIR`: the daemon's diagnosis for any WRF run directory on disk.

The JSON form is stable: {"dir", "state", "code", "message", "hint", "warning", "exit_code",
"signal", "progress": {"percent", "model_time",
"domains": [{"domain", "percent", "model_time", "steps"}]},
"steps": {"<domain>": {"count", "median_s", "mean_s", "min_s", "max_s", "total_s"}},
"outputs": [{"name", "size"}]}.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from localrun.wrf.diagnose import diagnose
from localrun.wrf.namelist import NamelistError, read_case
from localrun.wrf.rsl import RslReader, progress_json

OUTPUT = re.compile(r"^(wrfout|wrfrst)_d\d\d_")


def _known_exit_code(directory: Path) -> int | None:
    path = directory / "exit_code"
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _known_stdout(directory: Path) -> str | None:
    for name in ("mpirun.stdout", "logs/mpirun.stdout", "../logs/mpirun.stdout"):
        path = directory / name
        if path.is_file():
            return path.read_text(errors="replace")[-65536:]
    return None


def inspect_dir(
    directory: Path, exit_code: int | None = None, mpirun_stdout: str | None = None
) -> dict[str, Any]:
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a directory")
    exit_code = exit_code if exit_code is not None else _known_exit_code(directory)
    mpirun_stdout = mpirun_stdout if mpirun_stdout is not None else _known_stdout(directory)
    found = diagnose(directory, exit_code=exit_code, mpirun_stdout=mpirun_stdout)
    state: str = found.state
    if state == "lost":
        state, code = "unknown", "unknown"
    else:
        code = found.code
    reader = RslReader(directory)
    reader.poll()
    try:
        case = read_case(directory / "namelist.input")
        bounds = {d.id: (d.start, d.end) for d in case.domains}
    except (OSError, NamelistError, UnicodeDecodeError):
        bounds = {}
    progress = reader.progress(bounds)
    return {
        "dir": str(directory),
        "state": state,
        "code": code,
        "message": found.message,
        "hint": found.hint,
        "warning": found.warning,
        "exit_code": exit_code,
        "signal": found.signal,
        "progress": progress_json(progress),
        "steps": {
            str(d): {
                "count": log.steps,
                "median_s": log.median_all_s,
                "mean_s": log.mean_s,
                "min_s": log.min_s,
                "max_s": log.max_s,
                "total_s": round(log.total_s, 5),
            }
            for d, log in sorted(reader.domains.items())
            if log.steps
        },
        "outputs": [
            {"name": p.name, "size": p.stat().st_size}
            for p in sorted(directory.iterdir())
            if OUTPUT.match(p.name) and p.is_file()
        ],
    }


def render(report: dict[str, Any]) -> str:
    lines = [f"{report['dir']}: {report['state']} ({report['code']})"]
    if report["message"]:
        lines += ["  " + line for line in str(report["message"]).splitlines()]
    if report["hint"]:
        lines.append(f"hint: {report['hint']}")
    if report["exit_code"] is not None:
        lines.append(f"exit code: {report['exit_code']}")
    for domain in report["progress"]["domains"]:
        lines.append(
            f"domain {domain['domain']}: {domain['percent']:.1f}% "
            f"(model time {domain['model_time'] or '-'}, {domain['steps']} steps)"
        )
    for domain, stats in report["steps"].items():
        lines.append(
            f"domain {domain} step times: median {stats['median_s']:.4f} s, "
            f"mean {stats['mean_s']:.4f} s, min {stats['min_s']:.4f} s, max {stats['max_s']:.4f} s"
        )
    outputs = report["outputs"]
    lines.append(f"outputs: {len(outputs)} file(s)")
    lines += [f"  {o['name']}  {o['size']} B" for o in outputs]
    return "\n".join(lines)
