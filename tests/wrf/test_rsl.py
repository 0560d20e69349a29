"""The incremental rsl reader on the real logs, fed whole and in pieces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localrun.wrf.namelist import read_case
from localrun.wrf.rsl import RslReader
from tests.conftest import FIXTURES

WITH_STEPS = [
    "success_np1",
    "success_np2",
    "success_adaptive_dt",
    "success_nested_np2",
    "cfl_blowup",
    "cfl_blowup_slow",
    "killed_sigterm",
    "killed_sigterm_exit15",
    "killed_sigkill",
    "restart/first",
    "restart/restarted",
]


def read(folder: Path) -> RslReader:
    reader = RslReader(folder)
    reader.poll()
    return reader


@pytest.mark.parametrize("name", WITH_STEPS)
def test_step_statistics_match_run_json(name: str) -> None:
    folder = FIXTURES / name
    timing = json.loads((folder / "run.json").read_text())["timing"]
    reader = read(folder)
    for key, stats in timing.items():
        if not key.startswith("d"):
            continue
        log = reader.domains[int(key[1:])]
        assert log.steps == stats["steps"]
        assert log.median_all_s == pytest.approx(stats["median"], abs=1e-5)
        assert log.mean_s == pytest.approx(stats["mean"], abs=1e-5)
        assert (log.min_s, log.max_s) == (stats["min"], stats["max"])


def test_adaptive_form_is_read() -> None:
    reader = read(FIXTURES / "success_adaptive_dt")
    log = reader.domains[1]
    assert log.steps == 30
    assert list(log.recent_dt)[:2] == [12.0, 12.6]


def test_nest_lines_count_per_domain() -> None:
    reader = read(FIXTURES / "success_nested_np2")
    assert (reader.steps(1), reader.steps(2)) == (50, 150)
    case = read_case(FIXTURES / "success_nested_np2" / "namelist.input")
    progress = reader.progress({d.id: (d.start, d.end) for d in case.domains})
    assert progress.percent == 100
    assert [d.percent for d in progress.domains] == [100, 100]


def test_feeding_in_pieces_that_split_lines_gives_the_same_result(tmp_path: Path) -> None:
    source = (FIXTURES / "killed_sigterm" / "rsl.out.0000").read_bytes()
    target = tmp_path / "rsl.out.0000"
    target.write_bytes(b"")
    reader = RslReader(tmp_path)
    total = 0
    for start in range(0, len(source), 777):
        with open(target, "ab") as handle:
            handle.write(source[start : start + 777])
        total += reader.poll()
    whole = read(FIXTURES / "killed_sigterm")
    assert total == whole.steps(1) == 140
    assert reader.offset == len(source)
    assert reader.domains[1].model_time == whole.domains[1].model_time


def test_reader_from_an_offset_reads_only_new_bytes(tmp_path: Path) -> None:
    source = (FIXTURES / "success_np2" / "rsl.out.0000").read_bytes()
    cut = source.index(b"Timing for main: time 0001-01-01_00:05:00")
    (tmp_path / "rsl.out.0000").write_bytes(source)
    reader = RslReader(tmp_path, offset=cut)
    assert reader.poll() == 26
    assert reader.poll() == 0


def test_progress_and_time_left_midway() -> None:
    folder = FIXTURES / "killed_sigterm"
    case = read_case(folder / "namelist.input")
    reader = read(folder)
    progress = reader.progress({1: (case.start, case.end)})
    assert progress.percent == pytest.approx(28 / 120 * 100)
    assert progress.remaining_s is not None
    steps_left = (120 - 28) * 60 / 12
    assert progress.remaining_s == pytest.approx(steps_left * reader.median_step(1), rel=1e-6)


def test_no_time_left_before_ten_steps() -> None:
    folder = FIXTURES / "cfl_blowup_slow"
    case = read_case(folder / "namelist.input")
    assert read(folder).progress({1: (case.start, case.end)}).remaining_s is None


def test_missing_log_is_no_progress(tmp_path: Path) -> None:
    reader = RslReader(tmp_path)
    assert reader.poll() == 0
    assert reader.progress({}).percent == 0
