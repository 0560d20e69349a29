from __future__ import annotations

import json

import pytest

from localrun.wrf.inspect import inspect_dir, render
from tests.conftest import FIXTURES

EXPECTED = {
    "success_np2": ("succeeded", "ok"),
    "success_nested_np2": ("succeeded", "ok"),
    "fatal_namelist_typo": ("failed", "namelist"),
    "fatal_missing_wrfinput": ("failed", "missing_input"),
    "fatal_size_mismatch": ("failed", "size_mismatch"),
    "runtime_missing_namelist": ("failed", "missing_namelist"),
    "cfl_blowup": ("failed", "cfl"),
    "cfl_blowup_slow": ("failed", "cfl"),
    "too_many_ranks": ("failed", "too_many_ranks"),
    "killed_sigterm": ("failed", "incomplete"),
    "killed_sigterm_exit15": ("failed", "signal"),
    "killed_sigkill": ("failed", "signal"),
    "restart/restarted": ("succeeded", "ok"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_inspect_reads_exit_code_and_stdout_from_the_folder(name: str) -> None:
    report = inspect_dir(FIXTURES / name)
    assert (report["state"], report["code"]) == EXPECTED[name]
    assert {"state", "code", "message", "hint", "progress", "steps", "outputs"} <= set(report)
    json.dumps(report)
    assert render(report).startswith(str(FIXTURES / name))


def test_inspect_reports_progress_and_step_statistics() -> None:
    report = inspect_dir(FIXTURES / "killed_sigkill")
    assert report["progress"]["model_time"] == "0001-01-01_00:27:48"
    assert report["steps"]["1"]["count"] == 139
    assert report["steps"]["1"]["median_s"] == pytest.approx(0.0675, abs=1e-4)


def test_an_explicit_exit_code_wins() -> None:
    report = inspect_dir(FIXTURES / "killed_sigterm", exit_code=-9)
    assert report["code"] == "signal"


def test_not_a_directory() -> None:
    with pytest.raises(FileNotFoundError):
        inspect_dir(FIXTURES / "nope")


def test_a_clean_success_has_no_warning() -> None:
    assert inspect_dir(FIXTURES / "success_np2")["warning"] is None
