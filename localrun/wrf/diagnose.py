"""Why a WRF run ended: from every rank's rsl files, mpirun's stdout and the exit code (WRF.md §3).

Only the ends of each file are read (WINDOW bytes of head and of tail): start-up failures fill
small files, and a run that dies after hours of steps says why at the bottom, so a multi-GB
rsl.out.0000 costs no more than a small one.
"""

from __future__ import annotations

import difflib
import os
import re
import signal
from dataclasses import dataclass
from pathlib import Path

from localrun.runs import State
from localrun.wrf import typos
from localrun.wrf.decomposition import MIN_PATCH, layout
from localrun.wrf.namelist_vars import known

WINDOW = 64 * 1024
SUCCESS = "SUCCESS COMPLETE WRF"
FATAL_START = "-------------- FATAL CALLED ---------------"
FATAL_FROM = "FATAL CALLED FROM FILE"
GENERIC_FATAL = "Please check and reset these options"
CONTEXT_LINES = 40
RSL_NAME = re.compile(r"^rsl\.(out|error)\.(\d+)$")
BANNER_SIGNAL = re.compile(r"\(signal (\d+)\)")
RECEIVED = re.compile(r"Program received signal (SIG\w+)")
CFL = "points exceeded v_cfl"
W_CFL = "w-cfl"
RUNTIME = "Fortran runtime error"
NAMELIST_ERROR = re.compile(r"ERROR while reading namelist\s+(\w+)")
# module_io_quilt_old.F's own READs of &namelist_quilt and &domains (dmpar builds)
QUILT_READ = re.compile(r"ERROR reading namelist\s+(\w+)")
MAYBE = re.compile(r"Maybe here\?:\s*(\w+)")
# WRF writes the restart file's name with an A32 edit, right-aligned: "opening   wrfrst_d01_…"
OPENING = re.compile(r"error opening\s+(\S+)\s+for reading")
MAX_W = re.compile(r"w-cfl:\s*(\S+)")
MISMATCH_NAMELIST = re.compile(r"SIZE MISMATCH:\s+namelist (\w+)\s*=\s*(-?\d+)")
MISMATCH_INPUT = re.compile(r"SIZE MISMATCH:\s+input file (\S+)\s*=\s*(-?\d+)")
PATCH = re.compile(r"(e_we|e_sn) =\s*(\d+), nproc_[xy] =\s*(\d+)")
TOO_SMALL = "too small for this many processors"
NOTEWORTHY = ("ERROR", "MISMATCH", "NOTE:", "WARNING", "Error", "error")
# Signals that end a run that was asked to stop; a crash is anything else.
STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGKILL, signal.SIGHUP})

CFL_WARNING_HINT = (
    "the run finished, but it came close to numerical instability (CFL): a somewhat longer run "
    "or a stronger storm may blow up; reduce time_step (about 6 × dx in km, in seconds) or set "
    "use_adaptive_time_step = .true."
)
CFL_HINT = (
    "the model became numerically unstable (CFL): reduce time_step (about 6 × dx in km, in "
    "seconds) or set use_adaptive_time_step = .true."
)


@dataclass(frozen=True)
class Diagnosis:
    """state: succeeded, failed, cancelled or lost (the daemon adds timed_out itself).

    code: ok, namelist, missing_input, missing_namelist, restart_missing, size_mismatch,
    too_many_ranks, cfl, runtime, signal, fatal, incomplete, exit, cancelled or lost.
    message: the lines WRF (or mpirun) gave; hint: what to change, where one helps.
    """

    state: State
    code: str
    message: str
    hint: str | None = None
    exit_code: int | None = None
    signal: int | None = None
    warning: str | None = None  # on a succeeded run: what WRF complained of on the way


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    hint: str | None


def diagnose(
    work_dir: Path,
    exit_code: int | None = None,
    mpirun_stdout: str | None = None,
    stop_requested: bool = False,
) -> Diagnosis:
    """Decide a finished run's outcome from its logs; the exit code only settles what they leave.

    `exit_code` None means unknown (a run adopted after a daemon restart whose process is gone).
    """
    files = rank_files(work_dir)
    sig = banner_signal(exit_code, mpirun_stdout or "")
    marker = success_line(files)
    if marker is not None:
        return _after_success(marker, exit_code, sig, stop_requested, files)
    found = find_cause(files, stop_requested, sig)
    if found is not None:
        return Diagnosis(State.FAILED, found.code, found.message, found.hint, exit_code, sig)
    return _without_cause(exit_code, sig, stop_requested, bool(files))


def command_outcome(exit_code: int | None, stop_requested: bool) -> Diagnosis:
    """The outcome of a command line that wrote no rsl files: its exit status says it all."""
    if stop_requested:
        return _without_cause(exit_code, None, True, False)
    if exit_code == 0:
        return Diagnosis(State.SUCCEEDED, "ok", "the command exited 0", None, 0)
    if exit_code is None:
        return Diagnosis(State.LOST, "lost", "the command's processes are gone; no exit code known")
    if exit_code < 0:
        return Diagnosis(
            State.FAILED,
            "signal",
            f"the command was killed by signal {-exit_code} ({_signal_name(-exit_code)})",
            None,
            exit_code,
            -exit_code,
        )
    return Diagnosis(
        State.FAILED, "exit", f"the command exited with code {exit_code}", None, exit_code
    )


def rank_files(work_dir: Path) -> list[Path]:
    """Every rsl.error.N and rsl.out.N, by rank; rank 0 first, rsl.error (the fuller) before out."""
    found = [(m, p) for p in work_dir.glob("rsl.*") if (m := RSL_NAME.match(p.name))]
    found.sort(key=lambda mp: (int(mp[0].group(2)), mp[0].group(1) != "error"))
    return [p for _, p in found]


def read_ends(path: Path, window: int = WINDOW) -> str:
    """The whole file if small, else its first and last `window` bytes, in whole lines."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size <= 2 * window:
            return handle.read().decode("utf-8", "replace")
        head = handle.read(window)
        handle.seek(size - window)
        tail = handle.read(window)
    head = head[: head.rfind(b"\n") + 1]
    tail = tail[tail.find(b"\n") + 1 :]
    return (head + tail).decode("utf-8", "replace")


def success_line(files: list[Path]) -> str | None:
    """WRF's SUCCESS line from rank 0's files, if it printed one."""
    for path in files:
        if _rank(path) != 0:
            break
        for line in read_ends(path).splitlines():
            if SUCCESS in line:
                return line.strip()
    return None


def banner_signal(exit_code: int | None, stdout: str) -> int | None:
    """The signal that ended a rank (MPICH's banner) or mpirun (a negative exit code)."""
    match = BANNER_SIGNAL.search(stdout[-WINDOW:])
    if match:
        return int(match.group(1))
    if exit_code is not None and exit_code < 0:
        return -exit_code
    return None


def find_cause(files: list[Path], stop_requested: bool, sig: int | None) -> Finding | None:
    """The first FATAL block of any rank, else a runtime error, a CFL blow-up or a crash."""
    clues = _Clues()
    for path in files:
        lines = read_ends(path).splitlines()
        fatal = _fatal(lines, path)
        if fatal is not None:
            return fatal
        clues.collect(lines, path.name)
    return clues.verdict(stop_requested, sig)


def _after_success(
    marker: str, exit_code: int | None, sig: int | None, stop_requested: bool, files: list[Path]
) -> Diagnosis:
    # A stop that lands after WRF finished does not undo the run.
    if exit_code in (0, None) or stop_requested:
        warnings = cfl_warnings(files)
        if warnings is None:
            return Diagnosis(State.SUCCEEDED, "ok", marker, None, exit_code, None)
        message = "\n".join([marker, f"warning: {warnings.summary}:", *warnings.worst])
        warning = f"{warnings.summary}: {' / '.join(warnings.worst)}"
        return Diagnosis(State.SUCCEEDED, "ok", message, CFL_WARNING_HINT, exit_code, None, warning)
    return Diagnosis(
        State.FAILED,
        "signal" if sig is not None else "exit",
        f"{marker}\nbut mpirun exited with code {exit_code}{_signal_words(sig)}",
        "WRF finished its steps, so its outputs are probably complete; mpirun's stdout and "
        "stderr say what went wrong afterwards",
        exit_code,
        sig,
    )


def _without_cause(
    exit_code: int | None, sig: int | None, stop_requested: bool, any_logs: bool
) -> Diagnosis:
    if stop_requested:
        ended = "" if exit_code is None else f" (mpirun exit code {exit_code}{_signal_words(sig)})"
        return Diagnosis(
            State.CANCELLED, "cancelled", f"stopped on request{ended}", None, exit_code, sig
        )
    if sig is not None:
        return Diagnosis(
            State.FAILED,
            "signal",
            f"a process of the run was killed by signal {sig} ({_signal_name(sig)})",
            "nothing in the rsl files explains it: something outside WRF ended the run "
            "(a user, a scheduler, or the kernel's out-of-memory killer: see `dmesg`)",
            exit_code,
            sig,
        )
    if exit_code is None:
        return Diagnosis(
            State.LOST, "lost", "the run's processes are gone and its logs name no cause"
        )
    if exit_code == 0:
        return Diagnosis(
            State.FAILED,
            "incomplete",
            "mpirun exited 0 but WRF never printed SUCCESS COMPLETE WRF",
            "the run was interrupted from outside; rsl.out.0000 ends at the last step it finished",
            exit_code,
        )
    return Diagnosis(
        State.FAILED,
        "exit",
        f"mpirun exited with code {exit_code} and WRF logged no error",
        _exit_hint(exit_code, any_logs),
        exit_code,
    )


def _exit_hint(exit_code: int, any_logs: bool) -> str:
    if not any_logs:
        return "wrf.exe wrote no rsl files, so it never started: see mpirun's stderr"
    if exit_code == 2:
        return "mpirun exits 2 after SIGINT (Ctrl-C): was the run interrupted?"
    return "see mpirun's stderr and the end of rsl.error.0000"


class _Clues:
    """What a crash leaves outside a FATAL block, first occurrence of each, over every rank."""

    def __init__(self) -> None:
        self.runtime: Finding | None = None
        self.cfl: list[str] = []
        self.crash: list[str] = []
        self.crash_signal: int | None = None
        self.crash_file = ""

    def collect(self, lines: list[str], name: str) -> None:
        for i, line in enumerate(lines):
            if self.runtime is None and RUNTIME in line:
                self.runtime = _runtime_error(line.strip(), name)
            elif not self.cfl and CFL in line:
                self.cfl = [x.strip() for x in lines[i : i + 2] if CFL in x or W_CFL in x]
            elif not self.crash and (match := RECEIVED.search(line)):
                self.crash = [line.strip()]
                self.crash_signal = _signal_number(match.group(1))
                self.crash_file = name

    def crashed(self, stop_requested: bool, sig: int | None) -> bool:
        """A rank died on its own; under a stop request, the stop's own signals do not count."""
        if self.crash_signal is not None and (
            self.crash_signal not in STOP_SIGNALS or not stop_requested
        ):
            return True
        return sig is not None and sig not in STOP_SIGNALS

    def verdict(self, stop_requested: bool, sig: int | None) -> Finding | None:
        if self.runtime is not None:
            return self.runtime
        if not self.crashed(stop_requested, sig):
            return None  # CFL warnings alone are survivable; the run ended otherwise
        died = self.crash[-1:] or [f"then a rank died by signal {sig} ({_signal_name(sig)})"]
        if self.cfl:
            return Finding("cfl", "\n".join([*self.cfl, *died]), CFL_HINT)
        if self.crash:
            hint = f"WRF crashed: the backtrace is in {self.crash_file}"
            return Finding("signal", "\n".join(self.crash), hint)
        return None


def _fatal(lines: list[str], path: Path) -> Finding | None:
    start = next((i for i, line in enumerate(lines) if FATAL_START in line), None)
    if start is None:
        return None
    before = [x.strip() for x in lines[max(0, start - CONTEXT_LINES) : start] if x.strip()]
    block = _fatal_message(lines[start + 1 :])
    quilt = next((m for b in block if (m := QUILT_READ.search(b))), None)
    if quilt is not None:
        return _quilt_read(quilt.group(1), block, path.parent / "namelist.input")
    return _classify_fatal(before, block, path.name)


def _fatal_message(lines: list[str]) -> list[str]:
    """The block's lines after `FATAL CALLED FROM FILE`, up to its closing dashes."""
    message: list[str] = []
    for line in lines[:CONTEXT_LINES]:
        text = line.strip()
        if text and set(text) == {"-"}:
            break
        if text and FATAL_FROM not in text:
            message.append(text)
    return message


def _classify_fatal(before: list[str], block: list[str], name: str) -> Finding:
    text = "\n".join(block)
    if any(NAMELIST_ERROR.search(b) for b in before):
        return _namelist(before, block)
    if any("SIZE MISMATCH" in b for b in before):
        return _size_mismatch(before)
    if any(TOO_SMALL in b for b in before):
        return _too_many_ranks(before)
    opening = OPENING.search(text)
    if opening:
        return _missing_file(opening.group(1), text)
    if GENERIC_FATAL in text or not block:
        message = "\n".join([*_noteworthy(before), *block])
        return Finding("fatal", message, f"the lines before the FATAL block in {name} say why")
    return Finding("fatal", text, f"see {name} for what WRF did before it stopped")


def _noteworthy(before: list[str]) -> list[str]:
    """The lines just before a generic FATAL block that say something."""
    recent = before[-12:]
    picked = [b for b in recent if any(word in b for word in NOTEWORTHY)]
    return picked or recent[-4:]


def _namelist(before: list[str], block: list[str]) -> Finding:
    lines: list[str] = []
    suspects: list[tuple[str, str]] = []
    group = ""
    for line in before:
        if match := NAMELIST_ERROR.search(line):
            group = match.group(1)
            lines.append(line)
        elif match := MAYBE.search(line):
            suspects.append((group, match.group(1)))
            lines.append(line)
    return Finding("namelist", "\n".join([*lines, *block]), _namelist_hint(suspects))


def _quilt_read(group: str, block: list[str], namelist: Path) -> Finding:
    """`ERROR reading namelist <group>`: WRF names no line, so compare the run's namelist.input
    with the registry to name what it could not read."""
    return Finding("namelist", "\n".join(block), _quilt_hint(group, namelist))


def _quilt_hint(group: str, namelist: Path) -> str:
    try:
        text = namelist.read_text(errors="replace")
    except OSError:
        return f"WRF could not read &{group} of namelist.input: check its names and values"
    if typos.group_names(text, group) is None:
        return (
            f"namelist.input has no &{group} group, which wrf.exe reads: add one (it may be empty)"
        )
    unknown = typos.unknown_in(text, group)
    if not unknown:
        return (
            f"every name in &{group} is one WRF knows: a value there is not of its variable's "
            "type, or a list is longer than WRF's limit"
        )
    said = "; ".join(f"'{u.name}' ({typos.advice(u)})" for u in unknown)
    which = "variable" if len(unknown) == 1 else "variables"
    return f"&{group} has the unknown {which} {said}: fix namelist.input"


def _namelist_hint(suspects: list[tuple[str, str]]) -> str:
    """Name the variable WRF tripped on: one it does not know, else the last one it showed."""
    for group, variable in suspects:
        names = known(group)
        if names and variable not in names:
            close = difflib.get_close_matches(variable, names, n=1)
            guess = f" (did you mean '{close[0]}'?)" if close else ""
            return f"&{group} has no variable '{variable}'{guess}: fix namelist.input"
    if suspects:
        group, variable = suspects[-1]
        return f"check the value of '{variable}' in &{group} (and the lines around it)"
    return "check namelist.input: WRF could not read one of its groups"


def _size_mismatch(before: list[str]) -> Finding:
    lines = [b for b in before if "SIZE MISMATCH" in b or "Mismatch" in b]
    ours = next((m for b in before if (m := MISMATCH_NAMELIST.search(b))), None)
    theirs = next((m for b in before if (m := MISMATCH_INPUT.search(b))), None)
    hint = "e_we, e_sn and e_vert in namelist.input must match the input files' grid"
    if ours and theirs:
        hint = (
            f"namelist.input has {ours.group(1)} = {ours.group(2)} but the input file has "
            f"{theirs.group(1)} = {theirs.group(2)}: make them agree (or remake the input)"
        )
    return Finding("size_mismatch", "\n".join(lines), hint)


def _too_many_ranks(before: list[str]) -> Finding:
    start = next(i for i, b in enumerate(before) if TOO_SMALL in b)
    lines = before[start:]
    sizes = {
        m.group(1): (int(m.group(2)), int(m.group(3))) for b in lines if (m := PATCH.search(b))
    }
    hint = f"use fewer cores: each rank's patch needs at least {MIN_PATCH} cells in x and y"
    if "e_we" in sizes and "e_sn" in sizes:
        (e_we, nx), (e_sn, ny) = sizes["e_we"], sizes["e_sn"]
        fit = _most_ranks(e_we, e_sn, nx * ny)
        if fit:
            hint += f"; this domain ({e_we} × {e_sn}) takes at most {fit} ranks"
    return Finding("too_many_ranks", "\n".join(lines), hint)


def _most_ranks(e_we: int, e_sn: int, refused: int) -> int | None:
    """The largest rank count below `refused` whose automatic split WRF accepts."""
    for ranks in range(refused - 1, 0, -1):
        split = layout(ranks)
        if e_we // split.nproc_x >= MIN_PATCH and e_sn // split.nproc_y >= MIN_PATCH:
            return ranks
    return None


def _missing_file(file: str, text: str) -> Finding:
    if file.startswith("wrfrst"):
        hint = f"a restart run needs {file} in the run directory: upload it"
        return Finding("restart_missing", text, hint)
    hint = f"upload {file} (made by real.exe or ideal.exe)"
    return Finding("missing_input", text, hint)


@dataclass(frozen=True)
class CflWarnings:
    count: int
    ranks: int
    partial: bool  # some rank's log was too large to be read whole
    worst: list[str]  # the `points exceeded` line with the largest w-cfl, and its Max W line
    worst_cfl: str

    @property
    def summary(self) -> str:
        many = "at least " if self.partial else ""
        ranks = "rank" if self.ranks == 1 else "ranks"
        return (
            f"WRF logged {many}{self.count} CFL warning(s) (points exceeded v_cfl = 2) "
            f"in {self.ranks} {ranks}; the worst, w-cfl {self.worst_cfl}"
        )


def cfl_warnings(files: list[Path]) -> CflWarnings | None:
    """The CFL lines of a run that went on (each rank's fuller file read once); None if none."""
    count, ranks, partial = 0, 0, False
    worst: tuple[float, list[str], str] | None = None
    seen: set[int] = set()
    for path in files:
        if _rank(path) in seen:
            continue
        seen.add(_rank(path))
        lines = read_ends(path).splitlines()
        partial = partial or path.stat().st_size > 2 * WINDOW
        found = [i for i, line in enumerate(lines) if CFL in line]
        count, ranks = count + len(found), ranks + bool(found)
        for i in found:
            pair = [x.strip() for x in lines[i : i + 2] if CFL in x or W_CFL in x]
            value, shown = _w_cfl(pair)
            if worst is None or value > worst[0]:
                worst = (value, pair[:2], shown)
    if worst is None:
        return None
    return CflWarnings(count, ranks, partial, worst[1], worst[2])


def _w_cfl(lines: list[str]) -> tuple[float, str]:
    """The w-cfl figure of a Max W line; WRF's f7.2 prints ******* when it overflows."""
    match = next((m for line in lines if (m := MAX_W.search(line))), None)
    if match is None:
        return -1.0, "unknown"
    try:
        return float(match.group(1)), match.group(1)
    except ValueError:
        return float("inf"), match.group(1)


def _runtime_error(line: str, name: str) -> Finding:
    if "namelist.input" in line:
        return Finding("missing_namelist", line, "namelist.input is missing: upload it")
    return Finding("runtime", line, f"a Fortran runtime error: the backtrace is in {name}")


def _rank(path: Path) -> int:
    return int(path.name.rsplit(".", 1)[1])


def _signal_number(name: str) -> int | None:
    try:
        return int(signal.Signals[name])
    except KeyError:
        return None


def _signal_name(number: int | None) -> str:
    if number is None:
        return "unknown"
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _signal_words(sig: int | None) -> str:
    return "" if sig is None else f", signal {sig} ({_signal_name(sig)})"
