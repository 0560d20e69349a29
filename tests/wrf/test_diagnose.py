"""The classifier over every real WRF run in the fixtures folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from localrun.wrf.diagnose import diagnose, read_ends
from tests.conftest import FIXTURES

# folder: (stop requested, state, code, a line the message must hold)
TABLE: dict[str, tuple[bool, str, str, str]] = {
    "success_np1": (False, "succeeded", "ok", "SUCCESS COMPLETE WRF"),
    "success_np2": (False, "succeeded", "ok", "SUCCESS COMPLETE WRF"),
    "success_adaptive_dt": (False, "succeeded", "ok", "SUCCESS COMPLETE WRF"),
    "success_nested_np2": (False, "succeeded", "ok", "SUCCESS COMPLETE WRF"),
    "restart/first": (False, "succeeded", "ok", "SUCCESS COMPLETE WRF"),
    "restart/restarted": (False, "succeeded", "ok", "SUCCESS COMPLETE WRF"),
    "fatal_namelist_typo": (False, "failed", "namelist", "histroy_interval"),
    "fatal_missing_wrfinput": (False, "failed", "missing_input", "error opening wrfinput_d01"),
    "fatal_size_mismatch": (False, "failed", "size_mismatch", "namelist e_we"),
    "runtime_missing_namelist": (False, "failed", "missing_namelist", "Cannot open file"),
    "cfl_blowup": (False, "failed", "cfl", "points exceeded v_cfl"),
    "cfl_blowup_slow": (False, "failed", "cfl", "points exceeded v_cfl"),
    "too_many_ranks": (False, "failed", "too_many_ranks", "nproc_y =    3"),
    "killed_sigterm": (True, "cancelled", "cancelled", "stopped on request"),
    "killed_sigterm_exit15": (True, "cancelled", "cancelled", "stopped on request"),
    "killed_sigkill": (True, "cancelled", "cancelled", "stopped on request"),
}

# The same killed runs when nobody asked for a stop, as `localrun inspect` sees them.
UNASKED = {
    "killed_sigterm": ("failed", "incomplete"),
    "killed_sigterm_exit15": ("failed", "signal"),
    "killed_sigkill": ("failed", "signal"),
}


def scenario_dirs() -> list[str]:
    found = [p.parent for p in FIXTURES.rglob("exit_code")]
    return sorted(str(p.relative_to(FIXTURES)) for p in found)


def test_every_fixture_folder_is_in_the_table() -> None:
    assert scenario_dirs() == sorted(TABLE)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_fixture_is_classified(name: str) -> None:
    stop, state, code, line = TABLE[name]
    folder = FIXTURES / name
    exit_code = int((folder / "exit_code").read_text())
    stdout = (folder / "mpirun.stdout").read_text()
    found = diagnose(folder, exit_code=exit_code, mpirun_stdout=stdout, stop_requested=stop)
    assert (found.state, found.code) == (state, code)
    assert line in found.message
    if state == "failed":
        assert found.hint


@pytest.mark.parametrize("name", sorted(UNASKED))
def test_killed_runs_without_a_stop_request(name: str) -> None:
    folder = FIXTURES / name
    exit_code = int((folder / "exit_code").read_text())
    found = diagnose(folder, exit_code, (folder / "mpirun.stdout").read_text(), False)
    assert (found.state, found.code) == UNASKED[name]


def test_hints_name_the_cause() -> None:
    typo = diagnose(FIXTURES / "fatal_namelist_typo", 1, "")
    assert typo.hint is not None and "histroy_interval" in typo.hint
    cfl = diagnose(FIXTURES / "cfl_blowup", 11, (FIXTURES / "cfl_blowup/mpirun.stdout").read_text())
    assert cfl.hint is not None and "time_step" in cfl.hint
    assert cfl.signal == 11 and "SIGSEGV" in cfl.message


def test_no_exit_code_and_silent_logs_is_lost(tmp_path: Path) -> None:
    (tmp_path / "rsl.out.0000").write_text("taskid: 0 hostname: vm\n")
    assert diagnose(tmp_path, None).state == "lost"


def test_success_marker_without_exit_code_is_success() -> None:
    assert diagnose(FIXTURES / "success_np2", None).state == "succeeded"


def test_read_ends_keeps_head_and_tail_of_a_huge_log(tmp_path: Path) -> None:
    path = tmp_path / "rsl.error.0000"
    with open(path, "w") as handle:
        handle.write("-------------- FATAL CALLED ---------------\nFIRST\n")
        handle.write(("filler line\n") * 500_000)
        handle.write("LAST\n")
    text = read_ends(path)
    assert "FIRST" in text and "LAST" in text
    assert len(text) < 200_000
