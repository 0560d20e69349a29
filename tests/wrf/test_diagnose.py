"""The outcome classifier over every real WRF run in the fixtures folder, and a few made-up ones."""

from __future__ import annotations

import os
import shutil
import tracemalloc
from pathlib import Path

import pytest

from localrun.wrf.diagnose import Diagnosis, diagnose, read_ends
from tests.conftest import FIXTURES

# folder: (stop requested, state, code, in the message, in the hint)
TABLE: dict[str, tuple[bool, str, str, str, str | None]] = {
    "success_np1": (False, "succeeded", "ok", "wrf: SUCCESS COMPLETE WRF", None),
    "success_np2": (False, "succeeded", "ok", "d01 0001-01-01_00:10:00 wrf: SUCCESS", None),
    "success_adaptive_dt": (False, "succeeded", "ok", "SUCCESS COMPLETE WRF", None),
    "success_nested_np2": (False, "succeeded", "ok", "SUCCESS COMPLETE WRF", None),
    "restart/first": (False, "succeeded", "ok", "SUCCESS COMPLETE WRF", None),
    "restart/restarted": (False, "succeeded", "ok", "SUCCESS COMPLETE WRF", None),
    "fatal_namelist_typo": (
        False,
        "failed",
        "namelist",
        "Maybe here?:      histroy_interval",
        "no variable 'histroy_interval' (did you mean 'history_interval'?)",
    ),
    "fatal_missing_wrfinput": (
        False,
        "failed",
        "missing_input",
        "program wrf: error opening wrfinput_d01 for reading",
        "upload wrfinput_d01",
    ),
    "fatal_size_mismatch": (
        False,
        "failed",
        "size_mismatch",
        "input file WEST-EAST_GRID_DIMENSION   =           62",
        "e_we = 63 but the input file has WEST-EAST_GRID_DIMENSION = 62",
    ),
    "runtime_missing_namelist": (
        False,
        "failed",
        "missing_namelist",
        "Fortran runtime error: Cannot open file 'namelist.input'",
        "namelist.input is missing",
    ),
    "cfl_blowup": (
        False,
        "failed",
        "cfl",
        "3529  points exceeded v_cfl = 2 in domain d01",
        "reduce time_step",
    ),
    "cfl_blowup_slow": (
        False,
        "failed",
        "cfl",
        "3953  points exceeded v_cfl = 2 in domain d01",
        "reduce time_step",
    ),
    "too_many_ranks": (
        False,
        "failed",
        "too_many_ranks",
        "e_sn =    22, nproc_y =    3, with cell width in y-direction =    7",
        "use fewer cores",
    ),
    "killed_sigterm": (True, "cancelled", "cancelled", "stopped on request", None),
    "killed_sigterm_exit15": (True, "cancelled", "cancelled", "stopped on request", None),
    "killed_sigkill": (True, "cancelled", "cancelled", "stopped on request", None),
}
NOT_RUNS = {"case_quarter_ss"}  # the base case's inputs, no logs

# The killed runs when nobody asked for a stop.
UNASKED = {
    "killed_sigterm": ("failed", "incomplete", "never printed SUCCESS COMPLETE WRF"),
    "killed_sigterm_exit15": ("failed", "signal", "killed by signal 15 (SIGTERM)"),
    "killed_sigkill": ("failed", "signal", "killed by signal 9 (SIGKILL)"),
}


def run_of(name: str, stop: bool = False) -> Diagnosis:
    folder = FIXTURES / name
    exit_code = int((folder / "exit_code").read_text())
    stdout = (folder / "mpirun.stdout").read_text()
    return diagnose(folder, exit_code=exit_code, mpirun_stdout=stdout, stop_requested=stop)


def test_every_fixture_folder_is_in_the_table() -> None:
    assert FIXTURES.is_dir(), f"no fixtures at {FIXTURES} (set LOCALRUN_FIXTURES)"
    folders = {
        str(d.relative_to(FIXTURES))
        for d in FIXTURES.rglob("*")
        if d.is_dir() and any(child.is_file() for child in d.iterdir())
    }
    assert folders == set(TABLE) | NOT_RUNS


@pytest.mark.parametrize("name", sorted(TABLE))
def test_fixture_is_classified(name: str) -> None:
    stop, state, code, line, hint = TABLE[name]
    found = run_of(name, stop)
    assert (found.state, found.code) == (state, code)
    assert line in found.message
    if hint is None:
        assert state != "failed"
    else:
        assert found.hint is not None and hint in found.hint
    assert found.exit_code == int((FIXTURES / name / "exit_code").read_text())


@pytest.mark.parametrize("name", sorted(UNASKED))
def test_killed_runs_without_a_stop_request(name: str) -> None:
    state, code, line = UNASKED[name]
    found = run_of(name)
    assert (found.state, found.code) == (state, code)
    assert line in found.message


@pytest.mark.parametrize("name", sorted(TABLE))
def test_adopted_runs_with_unknown_exit_status(name: str) -> None:
    """Exit code and mpirun's stdout lost (daemon restarted): only the logs speak."""
    _, state, code, _, _ = TABLE[name]
    found = diagnose(FIXTURES / name, exit_code=None, mpirun_stdout=None)
    expected = ("lost", "lost") if state == "cancelled" else (state, code)
    assert (found.state, found.code) == expected


def test_signals_and_messages_of_blow_ups() -> None:
    segv, abrt = run_of("cfl_blowup"), run_of("cfl_blowup_slow")
    assert (segv.signal, abrt.signal) == (11, 6)
    assert "Program received signal SIGSEGV" in segv.message
    assert "w-cfl: 1698.94" in segv.message
    assert "Program received signal SIGABRT" in abrt.message
    assert run_of("killed_sigterm_exit15", stop=True).signal == 15


def test_namelist_message_keeps_the_lines_wrf_pointed_at() -> None:
    message = run_of("fatal_namelist_typo").message.splitlines()
    assert message == [
        "------ ERROR while reading namelist time_control ------",
        "Maybe here?:      end_second                          = 00,   00,   00,",
        "Maybe here?:      histroy_interval                    = 10,   10,   10,",
        "ERRORS while reading one or more namelists from namelist.input.",
    ]


def test_too_many_ranks_hint_names_a_count_that_fits() -> None:
    hint = run_of("too_many_ranks").hint
    assert hint is not None and "at most 4 ranks" in hint  # 2 x 2 patches of 11 x 11 cells


def test_fatal_block_in_another_rank_only(tmp_path: Path) -> None:
    source = FIXTURES / "fatal_missing_wrfinput"
    for path in source.glob("rsl.*"):
        shutil.copy(path, tmp_path / path.name)
    for name in ("rsl.out.0000", "rsl.error.0000"):
        lines = (tmp_path / name).read_text().splitlines(keepends=True)
        (tmp_path / name).write_text("".join(lines[:5]))
    found = diagnose(tmp_path, exit_code=1, mpirun_stdout="")
    assert (found.state, found.code) == ("failed", "missing_input")


def fatal(before: list[str], block: list[str]) -> str:
    return "\n".join(
        [
            "taskid: 0 hostname: vm",
            *before,
            "-------------- FATAL CALLED ---------------",
            "FATAL CALLED FROM FILE:  <stdin>  LINE:      70",
            *block,
            "-------------------------------------------",
            "",
        ]
    )


def test_missing_restart_file(tmp_path: Path) -> None:
    name = "wrfrst_d01_0001-01-01_00:05:00"
    (tmp_path / "rsl.out.0000").write_text(
        fatal(
            [f" RESTART run: opening {name} for reading"],
            # real WRF 4.7.1 (WRF.md §9): an A32 edit, so three spaces, and no ierr=
            [f"program wrf: error opening   {name} for reading"],
        )
    )
    found = diagnose(tmp_path, exit_code=1, mpirun_stdout="")
    assert (found.state, found.code) == ("failed", "restart_missing")
    assert found.hint is not None and f"needs {name} in the run directory" in found.hint


def test_a_long_restart_name_cut_by_wrfs_a32_edit(tmp_path: Path) -> None:
    name = "wrfrst_d01_2024-06-01_00:00:00_from_the_big_run"[:32]
    (tmp_path / "rsl.out.0000").write_text(
        fatal([], [f"program wrf: error opening {name} for reading"])
    )
    assert diagnose(tmp_path, exit_code=1).code == "restart_missing"


DOMAINS_TYPO = [
    # as real dmpar WRF prints it (module_io_quilt_old.F); no "Maybe here?" lines
    " module_io_quilt_old.F        2931 F",
]


def quilt_failure(tmp_path: Path, group: str, namelist: str | None) -> Diagnosis:
    tmp_path.mkdir(exist_ok=True)
    if namelist is not None:
        (tmp_path / "namelist.input").write_text(namelist)
    (tmp_path / "rsl.error.0000").write_text(
        fatal(DOMAINS_TYPO, [f"ERROR reading namelist {group}"])
        + "Abort(1) on node 0 (rank 0 in comm 0): application called MPI_Abort(MPI_COMM_WORLD, 1)"
        " - process 0\n"
    )
    return diagnose(tmp_path, exit_code=1, mpirun_stdout="")


def real_namelist(old: str, new: str) -> str:
    text = (FIXTURES / "success_np2" / "namelist.input").read_text()
    assert old in text
    return text.replace(old, new, 1)


def test_domains_read_by_the_quilt_module_names_the_unknown_variables(tmp_path: Path) -> None:
    text = real_namelist(" time_step ", " time_stepp ").replace(" max_dom ", " max_domm ", 1)
    found = quilt_failure(tmp_path, "domains", text)
    assert (found.state, found.code) == ("failed", "namelist")
    assert found.message == "ERROR reading namelist domains"
    assert found.hint == (
        "&domains has the unknown variables 'time_stepp' (did you mean 'time_step'?); "
        "'max_domm' (did you mean 'max_dom'?): fix namelist.input"
    )


def test_quilt_read_errors_without_an_unknown_name(tmp_path: Path) -> None:
    nothing_unknown = quilt_failure(tmp_path / "a", "domains", real_namelist("", ""))
    assert nothing_unknown.code == "namelist"
    assert "every name in &domains is one WRF knows" in (nothing_unknown.hint or "")
    text = real_namelist("&namelist_quilt", "&namelist_quilts")
    missing = quilt_failure(tmp_path / "b", "namelist_quilt", text)
    assert "no &namelist_quilt group" in (missing.hint or "")
    no_namelist = quilt_failure(tmp_path / "c", "domains", None)
    assert no_namelist.code == "namelist" and "&domains" in (no_namelist.hint or "")


def test_success_with_cfl_warnings_says_how_many_and_the_worst(tmp_path: Path) -> None:
    """The real CFL lines of cfl_blowup_slow, in a run that went on to finish."""
    cfl = [x for x in fixture_lines("cfl_blowup_slow", "rsl.out.0000") if "cfl" in x]
    for path in (FIXTURES / "success_np2").glob("rsl.*"):
        lines = path.read_text().splitlines()
        (tmp_path / path.name).write_text("\n".join([*lines[:-1], *cfl, lines[-1], ""]))
    found = diagnose(tmp_path, exit_code=0, mpirun_stdout="")
    assert (found.state, found.code) == ("succeeded", "ok")
    events = sum("points exceeded" in x for x in cfl)
    assert found.warning is not None
    assert f"WRF logged {2 * events} CFL warning(s)" in found.warning
    assert "in 2 ranks; the worst, w-cfl *******" in found.warning
    assert found.message.splitlines()[0] == "d01 0001-01-01_00:10:00 wrf: SUCCESS COMPLETE WRF"
    assert found.hint is not None and "reduce time_step" in found.hint
    plain = diagnose(FIXTURES / "success_np2", exit_code=0)
    assert (plain.warning, plain.hint) == (None, None)


def fixture_lines(name: str, file: str) -> list[str]:
    return (FIXTURES / name / file).read_text().splitlines()


def test_generic_fatal_block_reports_the_lines_before_it(tmp_path: Path) -> None:
    (tmp_path / "rsl.error.0000").write_text(
        fatal(
            [" routine chatter", "  --- ERROR: mp_physics = 99 is not a scheme", " more chatter"],
            ["NOTE:       1 namelist settings are wrong. Please check and reset these options"],
        )
    )
    found = diagnose(tmp_path, exit_code=1, mpirun_stdout="")
    assert (found.state, found.code) == ("failed", "fatal")
    assert found.message.splitlines() == [
        "--- ERROR: mp_physics = 99 is not a scheme",
        "NOTE:       1 namelist settings are wrong. Please check and reset these options",
    ]


def test_a_specific_fatal_block_is_its_own_message(tmp_path: Path) -> None:
    (tmp_path / "rsl.out.0000").write_text(fatal([" chatter"], ["grid spacing too small"]))
    found = diagnose(tmp_path, exit_code=1)
    assert (found.code, found.message) == ("fatal", "grid spacing too small")


def test_known_namelist_variable_with_a_bad_value(tmp_path: Path) -> None:
    (tmp_path / "rsl.out.0000").write_text(
        fatal(
            [
                "  ------ ERROR while reading namelist domains ------",
                "Maybe here?:      time_step                           = 1x2,",
            ],
            ["ERRORS while reading one or more namelists from namelist.input."],
        )
    )
    found = diagnose(tmp_path, exit_code=1)
    assert found.code == "namelist"
    assert found.hint == "check the value of 'time_step' in &domains (and the lines around it)"


def test_success_marker_with_unknown_exit_code_is_success() -> None:
    found = diagnose(FIXTURES / "success_np2", None)
    assert (found.state, found.code) == ("succeeded", "ok")


def test_success_marker_counts_in_rank_zero(tmp_path: Path) -> None:
    for path in (FIXTURES / "success_np2").glob("rsl.*"):
        shutil.copy(path, tmp_path / path.name)
    for name in ("rsl.out.0000", "rsl.error.0000"):
        text = (tmp_path / name).read_text()
        (tmp_path / name).write_text(text[: text.rindex("d01 0001-01-01_00:10:00 wrf: SUCCESS")])
    assert "SUCCESS COMPLETE WRF" in (tmp_path / "rsl.out.0001").read_text()
    assert diagnose(tmp_path, exit_code=0).code == "incomplete"


def test_success_marker_then_a_failing_exit_is_not_success() -> None:
    unasked = diagnose(FIXTURES / "success_np2", exit_code=1, mpirun_stdout="")
    assert (unasked.state, unasked.code) == ("failed", "exit")
    asked = diagnose(FIXTURES / "success_np2", exit_code=-9, stop_requested=True)
    assert asked.state == "succeeded"


def test_stop_signals_in_the_logs_are_no_crash_when_a_stop_was_asked(tmp_path: Path) -> None:
    (tmp_path / "rsl.error.0000").write_text(
        "taskid: 0 hostname: vm\n\nProgram received signal SIGTERM: Termination signal.\n"
    )
    assert diagnose(tmp_path, exit_code=15, stop_requested=True).code == "cancelled"
    assert diagnose(tmp_path, exit_code=15).code == "signal"


def test_cfl_warnings_without_a_crash_are_not_the_cause(tmp_path: Path) -> None:
    cfl = (FIXTURES / "cfl_blowup_slow" / "rsl.out.0000").read_text()
    (tmp_path / "rsl.out.0000").write_text(cfl)
    assert diagnose(tmp_path, exit_code=0, stop_requested=True).state == "cancelled"
    assert diagnose(tmp_path, exit_code=0).code == "incomplete"
    assert diagnose(tmp_path, exit_code=-11).code == "cfl"


def test_no_logs_at_all(tmp_path: Path) -> None:
    never_started = diagnose(tmp_path, exit_code=1, mpirun_stdout="")
    assert (never_started.state, never_started.code) == ("failed", "exit")
    assert never_started.hint is not None and "never started" in never_started.hint
    assert diagnose(tmp_path, exit_code=None).state == "lost"


def test_silent_logs_and_unknown_exit_status_is_lost(tmp_path: Path) -> None:
    (tmp_path / "rsl.out.0000").write_text("taskid: 0 hostname: vm\n")
    found = diagnose(tmp_path, None)
    assert (found.state, found.code) == ("lost", "lost")


def test_exit_two_without_a_cause_suggests_an_interrupt() -> None:
    found = diagnose(FIXTURES / "killed_sigterm", exit_code=2, mpirun_stdout="")
    assert (found.state, found.code) == ("failed", "exit")
    assert found.hint is not None and "SIGINT" in found.hint


def test_read_ends_keeps_whole_lines_of_head_and_tail(tmp_path: Path) -> None:
    path = tmp_path / "rsl.error.0000"
    path.write_text("".join(f"line {n}\n" for n in range(10_000)))
    lines = read_ends(path, window=1000).splitlines()
    assert lines[0] == "line 0" and lines[-1] == "line 9999"
    assert all(line.startswith("line ") and line[5:].isdigit() for line in lines)
    assert 150 < len(lines) < 260


def test_huge_logs_are_read_only_at_their_ends(tmp_path: Path) -> None:
    """A 2 GiB rank-0 log (sparse here) holding the blow-up at its end."""
    source = FIXTURES / "cfl_blowup"
    for name in ("rsl.out.0000", "rsl.error.0000"):
        data = (source / name).read_bytes()
        cut = data.index(b"Timing for main")
        path = tmp_path / name
        path.write_bytes(data[:cut])
        os.truncate(path, 2 << 30)
        with open(path, "ab") as handle:
            handle.write(data[cut:])
    tracemalloc.start()
    try:
        found = diagnose(tmp_path, 11, (source / "mpirun.stdout").read_text())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (found.state, found.code) == ("failed", "cfl")
    assert peak < 4 << 20
