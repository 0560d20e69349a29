"""`localrun inspect DIR`: the daemon's diagnosis for any WRF run directory on disk.

The JSON form is stable: {"dir", "state", "code", "message", "hint", "warning", "exit_code",
"signal", "progress": {"percent", "model_time",
"domains": [{"domain", "percent", "model_time", "steps"}]},
"steps": {"<domain>": {"count", "median_s", "mean_s", "min_s", "max_s", "total_s"}},
"outputs": [{"name", "size"}], "daemon": {...} or null}.

A folder the daemon made (`<data_dir>/runs/<id>`, holding `work/` and `logs/`) is read as the
daemon reads it: WRF's files in `work/`, the exit status the launch wrapper wrote, and
`logs/run.json`, which says whether a stop was requested and what the daemon decided.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from localrun import run_record
from localrun.wrf.diagnose import diagnose
from localrun.wrf.namelist import NamelistError, read_case
from localrun.wrf.rsl import RslReader, progress_json

OUTPUT = re.compile(r"^(wrfout|wrfrst)_d\d\d_")


def _known_exit_code(directory: Path) -> int | None:
    for name in ("exit_code", "../logs/exit_status"):
        try:
            return int((directory / name).read_text().strip())
        except (OSError, ValueError):
            continue
    return None


def run_folder(directory: Path) -> Path:
    """The directory WRF ran in: a daemon run folder's `work/`, else the directory itself."""
    work = directory / "work"
    if work.is_dir() and (directory / "logs").is_dir():
        return work
    return directory


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
    shown, directory = directory, run_folder(directory)
    daemon = run_record.read(directory.parent / "logs") if directory != shown else None
    exit_code = exit_code if exit_code is not None else _known_exit_code(directory)
    mpirun_stdout = mpirun_stdout if mpirun_stdout is not None else _known_stdout(directory)
    stop_requested = bool(daemon and daemon.get("stop_requested"))
    found = diagnose(
        directory, exit_code=exit_code, mpirun_stdout=mpirun_stdout, stop_requested=stop_requested
    )
    state: str = found.state
    code, message, hint = found.code, found.message, found.hint
    if daemon is not None and daemon.get("terminal"):
        state, code = str(daemon.get("state")), str(daemon.get("error_code") or found.code)
        message = daemon.get("message") or message
        hint = daemon.get("hint") or hint
    elif daemon is not None and state == "lost":
        state, code = str(daemon.get("state")), "live"
        message = "the daemon has not decided this run yet: it is still " + state
    elif state == "lost":
        state, code = "unknown", "unknown"
    reader = RslReader(directory)
    reader.poll()
    try:
        case = read_case(directory / "namelist.input")
        bounds = {d.id: (d.start, d.end) for d in case.domains}
    except (OSError, NamelistError, UnicodeDecodeError):
        bounds = {}
    progress = reader.progress(bounds)
    return {
        "dir": str(shown),
        "state": state,
        "code": code,
        "message": message,
        "hint": hint,
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
        "daemon": daemon,
    }


def render(report: dict[str, Any]) -> str:
    lines = [f"{report['dir']}: {report['state']} ({report['code']})"]
    if report["message"]:
        lines += ["  " + line for line in str(report["message"]).splitlines()]
    if report["hint"]:
        lines.append(f"hint: {report['hint']}")
    if report["exit_code"] is not None:
        lines.append(f"exit code: {report['exit_code']}")
    daemon = report.get("daemon")
    if daemon:
        reason = daemon.get("stop_reason")
        asked = f", stop requested ({reason})" if daemon.get("stop_requested") else ""
        lines.append(f"daemon: {daemon.get('state')}{asked}")
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
