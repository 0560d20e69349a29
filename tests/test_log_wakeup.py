from __future__ import annotations

import asyncio
from pathlib import Path

from localrun.log_wakeup import LogWakeup
from tests.polling import eventually


async def test_a_growing_rsl_log_wakes_its_run_and_other_files_do_not(tmp_path: Path) -> None:
    woken: list[str] = []
    wakeup = LogWakeup(woken.append)
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    try:
        assert wakeup.watch("r1", first)
        assert wakeup.watch("r2", second)
        (first / "wrfout_d01_0001-01-01_00:00:00").write_bytes(b"x" * 1000)
        (second / "rsl.error.0000").write_text("starting\n")
        await eventually(lambda: _has(woken, "r2"), timeout=10)
        with (first / "rsl.out.0000").open("a") as log:
            log.write("Timing for main: time 0001-01-01_00:00:06 on domain   1:    0.1 s\n")
        await eventually(lambda: _has(woken, "r1"), timeout=10)
        wakeup.unwatch("r1")
        woken.clear()
        (first / "rsl.out.0000").write_text("more\n")
        (second / "rsl.out.0000").write_text("more\n")
        await eventually(lambda: _has(woken, "r2"), timeout=10)
        await asyncio.sleep(0.1)
        assert "r1" not in woken
    finally:
        wakeup.close()


async def test_a_folder_that_is_not_there_gives_no_wakeup(tmp_path: Path) -> None:
    wakeup = LogWakeup(lambda run_id: None)
    try:
        assert not wakeup.watch("r1", tmp_path / "missing")
        wakeup.unwatch("r1")
    finally:
        wakeup.close()


async def _has(woken: list[str], run_id: str) -> bool:
    return run_id in woken
