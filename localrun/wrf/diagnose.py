"""Why a WRF run ended: from every rank's rsl files, mpirun's stdout and the exit code."""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass
from pathlib import Path

HEAD_BYTES = 64 * 1024
TAIL_BYTES = 64 * 1024
SUCCESS = "SUCCESS COMPLETE WRF"
FATAL_START = "-------------- FATAL CALLED ---------------"
FATAL_FROM = "FATAL CALLED FROM FILE"
CONTEXT_LINES = 8
BANNER_EXIT = re.compile(r"EXIT CODE:\s*(-?\d+)")
BANNER_SIGNAL = re.compile(r"\(signal (\d+)\)")
RECEIVED = re.compile(r"Program received signal (SIG\w+)")
CFL = re.compile(r"points exceeded v_cfl|w-cfl")
MAYBE = re.compile(r"Maybe here\?:\s*(\w+)")
GENERIC_FATAL = ("Please check and reset these options",)


@dataclass(frozen=True)
class Diagnosis:
    state: str
    code: str
    message: str
    hint: str | None = None
    exit_code: int | None = None
    signal: int | None = None


def read_ends(path: Path) -> str:
    """The head and the tail of a log: start-up failures sit at the top, crashes at the end."""
    with open(path, "rb") as handle:
        head = handle.read(HEAD_BYTES)
        handle.seek(0, 2)
        size = handle.tell()
        if size <= HEAD_BYTES:
            return head.decode("utf-8", "replace")
        handle.seek(max(HEAD_BYTES, size - TAIL_BYTES))
        tail = handle.read()
    return (head + b"\n" + tail).decode("utf-8", "replace")


def rank_logs(work_dir: Path) -> dict[str, str]:
    """Every rsl.out.* and rsl.error.*, rank 0 first."""
    names = sorted(p.name for p in work_dir.glob("rsl.*.[0-9]*"))
    names.sort(key=lambda n: (n.rsplit(".", 1)[-1], n))
    return {name: read_ends(work_dir / name) for name in names}


def diagnose(
    work_dir: Path,
    exit_code: int | None = None,
    mpirun_stdout: str | None = None,
    stop_requested: bool = False,
) -> Diagnosis:
    logs = rank_logs(work_dir)
    stdout = mpirun_stdout or ""
    sig = _signal(exit_code, stdout)
    found = _from_logs(logs, sig)
    if found is not None:
        code, message, hint = found
        if code == "ok" and (exit_code in (0, None) or stop_requested):
            return Diagnosis("succeeded", "ok", "SUCCESS COMPLETE WRF", None, exit_code, None)
        if code != "ok":
            return Diagnosis("failed", code, message, hint, exit_code, sig)
    if stop_requested:
        return Diagnosis("cancelled", "cancelled", "stopped on request", None, exit_code, sig)
    if sig is not None:
        name = _signal_name(sig)
        return Diagnosis(
            "failed",
            "signal",
            f"a process of the run was killed by signal {sig} ({name})",
            "look at the end of rsl.error.* and mpirun's stdout for the cause",
            exit_code,
            sig,
        )
    if exit_code is None:
        return Diagnosis("lost", "lost", "the run's processes are gone and its logs say nothing")
    if exit_code == 0:
        return Diagnosis(
            "failed",
            "incomplete",
            "mpirun exited 0 but WRF never printed SUCCESS COMPLETE WRF",
            "the run was interrupted; rsl.out.0000 ends at the last step it finished",
            exit_code,
        )
    return Diagnosis(
        "failed",
        "exit",
        f"mpirun exited with code {exit_code}",
        "look at rsl.error.0000 and mpirun's stderr",
        exit_code,
    )


def _from_logs(logs: dict[str, str], sig: int | None) -> tuple[str, str, str | None] | None:
    texts = list(logs.values())
    if texts and SUCCESS in texts[0]:
        return ("ok", SUCCESS, None)
    for text in texts:
        block = _fatal(text)
        if block is not None:
            return _classify_fatal(*block)
    for text in texts:
        for line in text.splitlines():
            if "Fortran runtime error" in line:
                return _runtime_error(line.strip())
    cfl = [line.strip() for text in texts for line in text.splitlines() if CFL.search(line)]
    if cfl:
        died = f"; then the model died by signal {sig} ({_signal_name(sig)})" if sig else ""
        return (
            "cfl",
            cfl[0] + died,
            "the model became numerically unstable (CFL): reduce time_step "
            "(about 6 x dx in km seconds), or turn on w_damping / use_adaptive_time_step",
        )
    for text in texts:
        match = RECEIVED.search(text)
        if match:
            return ("signal", match.group(0), "look at the backtrace in rsl.error.*")
    return None


def _fatal(text: str) -> tuple[list[str], list[str]] | None:
    """(lines just before the FATAL block, the block's message lines) or None."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if FATAL_START in line:
            before = [x.strip() for x in lines[max(0, i - CONTEXT_LINES) : i] if x.strip()]
            message: list[str] = []
            for follow in lines[i + 1 :]:
                if follow.startswith("----"):
                    break
                if FATAL_FROM not in follow and follow.strip():
                    message.append(follow.strip())
            return before, message
    return None


def _classify_fatal(before: list[str], message: list[str]) -> tuple[str, str, str | None]:
    text = "\n".join(message)
    context = "\n".join(before)
    if any("ERROR while reading namelist" in b for b in before):
        names = [m.group(1) for b in before if (m := MAYBE.search(b))]
        lines = [b for b in before if "ERROR while reading" in b or "Maybe here" in b]
        hint = "check the spelling and values of the namelist variables WRF points at"
        if names:
            hint = f"check the variable '{names[-1]}' (misspelt or not known to this WRF)"
        return "namelist", "\n".join([*lines, text]), hint
    if "SIZE MISMATCH" in context:
        lines = [b for b in before if "SIZE MISMATCH" in b or "Mismatch" in b]
        return (
            "size_mismatch",
            "\n".join(lines),
            "e_we/e_sn/e_vert in namelist.input must match the grid of wrfinput_d0N",
        )
    if "too small for this many processors" in context:
        lines = [b for b in before if "e_we" in b or "e_sn" in b or "too small" in b]
        return (
            "too_many_ranks",
            "\n".join(lines),
            "use fewer MPI ranks: each patch needs at least 10 cells in x and y",
        )
    if "wrfrst" in text and "opening" in text:
        return "restart_missing", text, "upload the wrfrst_d0N file for the restart time"
    if "error opening" in text and "wrfinput" in text:
        return "missing_input", text, "upload wrfinput_d01 (made by real.exe or ideal.exe)"
    if any(g in text for g in GENERIC_FATAL) and before:
        return "fatal", "\n".join([*before[-4:], text]), None
    return "fatal", text, None


def _runtime_error(line: str) -> tuple[str, str, str | None]:
    if "namelist.input" in line:
        return "missing_namelist", line, "upload namelist.input"
    return "runtime", line, "look at the backtrace in rsl.error.0000"


def _signal(exit_code: int | None, stdout: str) -> int | None:
    match = BANNER_SIGNAL.search(stdout)
    if match:
        return int(match.group(1))
    if exit_code is not None and exit_code < 0:
        return -exit_code
    if BANNER_EXIT.search(stdout) and exit_code not in (None, 0, 1, 2):
        return exit_code
    return None


def _signal_name(number: int | None) -> str:
    if number is None:
        return "unknown"
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
