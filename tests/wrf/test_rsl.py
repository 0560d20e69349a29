"""The incremental rsl reader on the real logs, read whole, in pieces and from offsets."""

from __future__ import annotations

import json
import os
import random
import re
import statistics
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from localrun.wrf.rsl import RslReader, progress_json
from tests.conftest import FIXTURES

T0 = datetime(1, 1, 1)
SHORT = {1: (T0, T0 + timedelta(minutes=10))}
FULL = {1: (T0, T0 + timedelta(hours=2))}
MAIN = re.compile(
    r"^Timing for main(?: \(dt=\s*([\d.]+)\))?: time (\S+) on domain\s+(\d+):\s+(\S+)"
)


def timing_folders() -> list[str]:
    found = [p.parent for p in FIXTURES.rglob("run.json")]
    return sorted(str(p.relative_to(FIXTURES)) for p in found)


def read(folder: Path) -> RslReader:
    reader = RslReader(folder)
    reader.poll()
    return reader


def main_lines(name: str, domain: int = 1) -> list[tuple[float | None, datetime, float]]:
    """(dt, model time, seconds) of a fixture's Timing-for-main lines, parsed here on their own."""
    found = []
    for line in (FIXTURES / name / "rsl.out.0000").read_text().splitlines():
        m = MAIN.match(line)
        if m and int(m.group(3)) == domain:
            when = datetime.strptime(m.group(2), "%Y-%m-%d_%H:%M:%S")
            found.append((float(m.group(1)) if m.group(1) else None, when, float(m.group(4))))
    return found


def cut_after_steps(name: str, steps: int, domain: int = 1) -> bytes:
    """The fixture's rsl.out.0000 up to and including its `steps`-th line for `domain`."""
    data = (FIXTURES / name / "rsl.out.0000").read_bytes()
    end, seen = 0, 0
    for line in data.splitlines(keepends=True):
        end += len(line)
        m = MAIN.match(line.decode())
        seen += bool(m and int(m.group(3)) == domain)
        if seen == steps:
            return data[:end]
    raise AssertionError(f"{name} has fewer than {steps} steps of domain {domain}")


def write(folder: Path, data: bytes, mode: str = "wb") -> None:
    with open(folder / "rsl.out.0000", mode) as handle:
        handle.write(data)


@pytest.mark.parametrize("name", timing_folders())
def test_step_statistics_match_run_json(name: str) -> None:
    timing = json.loads((FIXTURES / name / "run.json").read_text())["timing"]
    expected = {int(k[1:]): v for k, v in timing.items() if re.fullmatch(r"d\d+", k)}
    reader = read(FIXTURES / name)
    assert sorted(d for d, log in reader.domains.items() if log.steps) == sorted(expected)
    for domain, want in expected.items():
        stats = reader.step_stats(domain)
        assert stats is not None
        assert stats.count == want["steps"]
        assert stats.median_s == pytest.approx(want["median"], abs=1e-5)
        assert stats.mean_s == pytest.approx(want["mean"], abs=1e-5)
        assert (stats.min_s, stats.max_s) == (want["min"], want["max"])
        assert stats.total_s == pytest.approx(want["sum"], abs=5e-4)
    if timing["last_timing_line"] is not None:
        last = MAIN.match(timing["last_timing_line"])
        assert last is not None
        assert reader.model_time(1) == datetime.strptime(last[2], "%Y-%m-%d_%H:%M:%S")


def test_both_timing_forms(tmp_path: Path) -> None:
    write(
        tmp_path,
        b"Timing for main: time 0001-01-01_00:00:12 on domain   1:    0.15970 elapsed seconds\n"
        b"Timing for main (dt= 54.00): time 0001-01-01_00:01:06 on domain   1:"
        b"    0.20000 elapsed seconds\n"
        b"Timing for main (dt=4.50): time 0001-01-01_00:01:10 on domain  12:"
        b"    1.5 elapsed seconds\n",
    )
    reader = read(tmp_path)
    assert (reader.steps(1), reader.steps(12)) == (2, 1)
    assert reader.model_time(1) == datetime(1, 1, 1, 0, 1, 6)
    assert list(reader.domains[1].recent_dt) == [54.0]
    assert list(reader.domains[12].recent_dt) == [4.5]
    assert reader.domains[1].max_s == 0.2


def test_adaptive_fixture_reads_every_dt() -> None:
    reader = read(FIXTURES / "success_adaptive_dt")
    dts = [dt for dt, _, _ in main_lines("success_adaptive_dt")]
    assert reader.steps(1) == len(dts) == 30
    assert list(reader.domains[1].recent_dt) == dts
    assert dts[:2] == [12.0, 12.6] and dts[-1] == 14.55


def test_nests_are_counted_per_domain() -> None:
    reader = read(FIXTURES / "success_nested_np2")
    assert (reader.steps(1), reader.steps(2)) == (50, 150)
    assert reader.model_time(2) == datetime(1, 1, 1, 0, 10)
    assert statistics.fmean(reader.domains[2].recent_dt) == 4.0
    assert reader.domains[2].writes.count == 2


def test_write_times_and_restart_writes() -> None:
    log = read(FIXTURES / "restart" / "first").domains[1]
    assert log.restart_writes.count == 2
    assert log.restart_writes.total_s == pytest.approx(0.50984 + 0.49697)
    assert (log.writes.count, log.writes.max_s) == (2, 0.12609)


@pytest.mark.parametrize(("name", "succeeded"), [("success_np1", True), ("killed_sigkill", False)])
def test_success_marker(name: str, succeeded: bool) -> None:
    assert read(FIXTURES / name).succeeded is succeeded


@pytest.mark.parametrize("name", ["success_nested_np2", "success_adaptive_dt", "killed_sigterm"])
def test_polling_a_growing_file_in_pieces_that_split_lines(tmp_path: Path, name: str) -> None:
    source = (FIXTURES / name / "rsl.out.0000").read_bytes()
    sizes = random.Random(name).choices(range(1, 1500), k=len(source))
    reader = RslReader(tmp_path)
    written, total = 0, 0
    write(tmp_path, b"")
    for size in sizes:
        if written >= len(source):
            break
        step = size if written > 3000 else 1  # byte by byte through the first lines
        write(tmp_path, source[written : written + step], "ab")
        written = min(len(source), written + step)
        total += reader.poll()
        assert reader.offset == source.rfind(b"\n", 0, written) + 1
    whole = read(FIXTURES / name)
    assert total == sum(log.steps for log in whole.domains.values())
    for domain in whole.domains:
        assert reader.step_stats(domain) == whole.step_stats(domain)
        assert reader.model_time(domain) == whole.model_time(domain)
    assert reader.succeeded == whole.succeeded


def test_a_line_is_parsed_only_once_complete(tmp_path: Path) -> None:
    write(tmp_path, b"Timing for main: time 0001-01-01_00:00:12 on domain   1:    0.1")
    reader = RslReader(tmp_path)
    assert reader.poll() == 0
    write(tmp_path, b"5970 elapsed seconds\n", "ab")
    assert reader.poll() == 1
    assert reader.domains[1].max_s == 0.15970


def test_a_new_reader_carries_on_from_the_old_ones_offset(tmp_path: Path) -> None:
    source = (FIXTURES / "killed_sigterm" / "rsl.out.0000").read_bytes()
    half = len(source) // 2 + 17  # mid-line
    write(tmp_path, source[:half])
    first = RslReader(tmp_path)
    before = first.poll()
    second = RslReader(tmp_path, offset=first.offset)
    write(tmp_path, source[half:], "ab")
    after = second.poll()
    assert before + after == 140
    assert before + first.poll() == 140
    assert second.offset == first.offset == len(source)
    assert second.model_time(1) == datetime(1, 1, 1, 0, 28)


def test_a_reader_at_an_offset_never_reads_what_lies_before(tmp_path: Path) -> None:
    head = (FIXTURES / "killed_sigterm" / "rsl.out.0000").read_bytes()
    write(tmp_path, head)
    os.truncate(tmp_path / "rsl.out.0000", len(head) + (256 << 20))  # a 256 MiB hole
    start = (tmp_path / "rsl.out.0000").stat().st_size
    reader = RslReader(tmp_path, offset=start)
    write(tmp_path, cut_after_steps("success_np2", 7), "ab")
    assert reader.poll() == 7
    assert reader.steps(1) == 7
    assert reader.offset == (tmp_path / "rsl.out.0000").stat().st_size


def test_a_replaced_or_truncated_file_is_read_afresh(tmp_path: Path) -> None:
    write(tmp_path, cut_after_steps("success_np2", 5))
    reader = read(tmp_path)
    assert reader.steps(1) == 5
    rerun = tmp_path / "rerun"
    rerun.write_bytes((FIXTURES / "killed_sigterm" / "rsl.out.0000").read_bytes())
    os.replace(rerun, tmp_path / "rsl.out.0000")  # a longer file under the same name
    assert reader.poll() == 140
    assert reader.step_stats(1) == read(FIXTURES / "killed_sigterm").step_stats(1)
    write(tmp_path, cut_after_steps("killed_sigterm", 2))  # same file, truncated and rewritten
    assert reader.poll() == 2
    assert reader.steps(1) == 2


def test_missing_log_is_no_progress(tmp_path: Path) -> None:
    reader = RslReader(tmp_path)
    assert reader.poll() == 0
    progress = reader.progress(SHORT)
    assert (progress.percent, progress.model_time, progress.remaining_s) == (0.0, None, None)


def test_progress_and_time_left_midway() -> None:
    reader = read(FIXTURES / "killed_sigterm")
    progress = reader.progress(FULL)
    assert progress.percent == pytest.approx(28 / 120 * 100)
    assert progress.model_time == datetime(1, 1, 1, 0, 28)
    recent = [s for _, _, s in main_lines("killed_sigterm")][-50:]
    assert progress.remaining_s == pytest.approx((120 - 28) * 60 / 12 * statistics.median(recent))


def test_time_left_waits_for_ten_steps(tmp_path: Path) -> None:
    write(tmp_path, cut_after_steps("killed_sigterm", 9))
    reader = read(tmp_path)
    assert reader.progress(FULL).remaining_s is None
    write(tmp_path, cut_after_steps("killed_sigterm", 10))
    assert reader.poll() == 1
    first_ten = [s for _, _, s in main_lines("killed_sigterm")][:10]
    expected = (7200 - 120) / 12 * statistics.median(first_ten)
    assert reader.progress(FULL).remaining_s == pytest.approx(expected)


def test_time_left_with_adaptive_dt_uses_the_recent_mean_dt(tmp_path: Path) -> None:
    write(tmp_path, cut_after_steps("success_adaptive_dt", 20))
    progress = read(tmp_path).progress(SHORT)
    lines = main_lines("success_adaptive_dt")[:20]
    now = lines[-1][1]
    mean_dt = statistics.fmean(dt for dt, _, _ in lines if dt is not None)
    seconds_left = (T0 + timedelta(minutes=10) - now).total_seconds()
    median = statistics.median(s for _, _, s in lines)
    assert progress.remaining_s == pytest.approx(seconds_left / mean_dt * median)
    assert progress.percent == pytest.approx((now - T0).total_seconds() / 600 * 100)


def test_nested_time_left_counts_domain_one_steps_only(tmp_path: Path) -> None:
    write(tmp_path, cut_after_steps("success_nested_np2", 20))
    progress = read(tmp_path).progress({1: SHORT[1], 2: SHORT[1]})
    outer = [s for _, _, s in main_lines("success_nested_np2", 1)][:20]
    assert progress.remaining_s == pytest.approx(30 * statistics.median(outer))
    assert [d.percent for d in progress.domains] == pytest.approx([40.0, 40.0])
    assert [d.steps for d in progress.domains] == [20, 60]


def test_restart_run_progress_starts_at_its_restart_time(tmp_path: Path) -> None:
    write(tmp_path, cut_after_steps("restart/restarted", 12))
    bounds = {1: (T0 + timedelta(minutes=5), T0 + timedelta(minutes=10))}
    progress = read(tmp_path).progress(bounds)
    assert progress.model_time == datetime(1, 1, 1, 0, 7, 24)
    assert progress.percent == pytest.approx(48.0)
    median = statistics.median(s for _, _, s in main_lines("restart/restarted")[:12])
    assert progress.remaining_s == pytest.approx(13 * median)


def test_time_left_after_picking_up_a_run_midway(tmp_path: Path) -> None:
    """A daemon that restarts carries on from an offset: dt comes from the lines, not the start."""
    source = (FIXTURES / "killed_sigterm" / "rsl.out.0000").read_bytes()
    write(tmp_path, source)
    reader = RslReader(tmp_path, offset=len(cut_after_steps("killed_sigterm", 100)))
    assert reader.poll() == 40
    recent = [s for _, _, s in main_lines("killed_sigterm")][100:]
    assert reader.progress(FULL).remaining_s == pytest.approx(460 * statistics.median(recent))


def test_a_finished_run_is_complete_whatever_the_bounds() -> None:
    reader = read(FIXTURES / "success_np2")
    progress = reader.progress(FULL)  # a namelist that promised two hours
    assert (progress.percent, progress.remaining_s) == (100.0, 0.0)
    assert progress_json(progress) == {
        "percent": 100.0,
        "model_time": "0001-01-01_00:10:00",
        "domains": [
            {"domain": 1, "percent": 100.0, "model_time": "0001-01-01_00:10:00", "steps": 50}
        ],
    }
