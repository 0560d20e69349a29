from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from localrun.runs import StopReason
from localrun.wrf.monitor import Monitor
from tests.conftest import FIXTURES


def folder(tmp_path: Path, fixture: str | None = None) -> tuple[Path, Path]:
    work, inputs = tmp_path / "work", tmp_path / "input"
    inputs.mkdir()
    if fixture is None:
        work.mkdir()
    else:
        shutil.copytree(FIXTURES / fixture, work)
        shutil.copy(work / "namelist.input", inputs / "namelist.input")
    return work, inputs


@pytest.mark.parametrize(
    ("exit_code", "stop", "state", "code"),
    [
        (0, None, "succeeded", "ok"),
        (3, None, "failed", "exit"),
        (-9, None, "failed", "signal"),
        (None, None, "lost", "lost"),
        (-15, "user", "cancelled", "cancelled"),
        (-15, "timed_out", "timed_out", "timed_out"),
    ],
)
def test_a_command_without_rsl_files_ends_by_its_exit_code(
    tmp_path: Path, exit_code: int | None, stop: str | None, state: str, code: str
) -> None:
    work, inputs = folder(tmp_path)
    reason = None if stop is None else StopReason(stop)
    outcome = Monitor(work, inputs, 1, shell=True).outcome(exit_code, None, reason)
    assert (outcome.state, outcome.code) == (state, code)
    if code == "exit":
        assert outcome.message == "the command exited with code 3"


def test_a_wrf_run_without_rsl_files_is_not_a_success(tmp_path: Path) -> None:
    work, inputs = folder(tmp_path)
    outcome = Monitor(work, inputs, 1).outcome(0, None, None)
    assert (outcome.state, outcome.code) == ("failed", "incomplete")


def test_a_command_that_ran_wrf_is_judged_by_wrf_logs(tmp_path: Path) -> None:
    work, inputs = folder(tmp_path, "fatal_missing_wrfinput")
    monitor = Monitor(work, inputs, 1, shell=True)
    monitor.poll()
    outcome = monitor.outcome(0, None, None)
    assert (outcome.state, outcome.code) == ("failed", "missing_input")


def test_calibration_uses_the_median_of_every_step(tmp_path: Path) -> None:
    work, inputs = folder(tmp_path, "success_np2")
    monitor = Monitor(work, inputs, 2)
    monitor.poll()
    sample = monitor.calibration_sample("host", 60.0)
    assert sample is not None
    stats = monitor.reader.step_stats(1)
    assert stats is not None
    [domain] = sample["domains"]
    assert domain["median_step_s"] == stats.median_s
    assert domain["steps"] == stats.count
    assert domain["frames"] >= 1 and domain["write_s"] > 0
    assert sample["cores"] == 2


def test_a_success_with_cfl_warnings_says_so_in_its_summary(tmp_path: Path) -> None:
    work, inputs = folder(tmp_path, "success_np2")
    cfl = (FIXTURES / "cfl_blowup_slow" / "rsl.out.0000").read_text().splitlines()
    for path in work.glob("rsl.*"):
        lines = path.read_text().splitlines()
        warned = [x for x in cfl if "cfl" in x][:2]
        path.write_text("\n".join([*lines[:-1], *warned, lines[-1], ""]))
    outcome = Monitor(work, inputs, 2).outcome(0, "", None)
    assert outcome.state == "succeeded" and outcome.warning is not None
    assert outcome.summary.startswith("succeeded, with a warning: WRF logged 2 CFL warning(s)")
    assert "w-cfl:    7.41" in outcome.summary and "reduce time_step" in outcome.summary
    (tmp_path / "plain").mkdir()
    plain = Monitor(*folder(tmp_path / "plain", "success_np2"), 2).outcome(0, "", None)
    assert plain.summary == "succeeded"
