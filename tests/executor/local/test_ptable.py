from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import psutil

from localrun.executor.local.ptable import FRESH_S, ProcessTable, Stat, read_table


def test_descendants_walk_the_snapshot_parents_first_and_read_proc_once_per_tick() -> None:
    reads: list[float] = []
    now = [100.0]
    parents = {10: 1, 11: 1, 20: 10, 30: 20}

    def read() -> dict[int, Stat]:
        reads.append(now[0])
        return {pid: Stat(parent, pid, float(pid)) for pid, parent in parents.items()}

    table = ProcessTable(read, clock=lambda: now[0])
    assert table.descendants(1) == [10, 11, 20, 30]
    assert table.descendants(10) == [20, 30]
    assert table.descendants(99) == []
    assert sorted(table.started_since(20.0)) == [20, 30]
    assert reads == [100.0]
    now[0] += FRESH_S * 2
    assert table.descendants(11) == []
    assert len(reads) == 2
    table.forget()
    table.descendants(1)
    assert len(reads) == 3


def test_descendants_of_a_real_process_tree() -> None:
    proc = subprocess.Popen(["sh", "-c", "sleep 30 & sleep 30 & wait"])
    try:
        table = ProcessTable()
        deadline = time.monotonic() + 10
        found: list[int] = []
        while time.monotonic() < deadline and len(found) < 2:
            table.forget()
            found = table.descendants(proc.pid)
            time.sleep(0.05)
        assert len(found) == 2
        assert proc.pid not in found
    finally:
        subprocess.run(["pkill", "-P", str(proc.pid)], check=False)
        proc.kill()
        proc.wait()


def test_read_table_reads_names_with_spaces_and_parentheses(tmp_path: Path) -> None:
    rest = " ".join(["0"] * 16)  # fields 6 to 21, between pgrp and starttime
    for pid, stat in {
        "7": f"7 (a) b) S 3 7 {rest} 250 9",
        "8": f"8 (sh) R 7 7 {rest} 300 9",
        "9": f"9 (x y) S 7 9 {rest} 100 9",
    }.items():
        (tmp_path / pid).mkdir()
        (tmp_path / pid / "stat").write_text(stat)
    (tmp_path / "self").mkdir()
    (tmp_path / "10").mkdir()  # ended between the listing and the read
    (tmp_path / "11").mkdir()
    (tmp_path / "11" / "stat").write_text("11 (cut")
    ticks = os.sysconf("SC_CLK_TCK")
    assert read_table(str(tmp_path), booted=1000.0) == {
        7: Stat(3, 7, 1000.0 + 250 / ticks),
        8: Stat(7, 7, 1000.0 + 300 / ticks),
        9: Stat(7, 9, 1000.0 + 100 / ticks),
    }


def test_read_table_agrees_with_psutil() -> None:
    me = psutil.Process()
    found = read_table()[me.pid]
    assert found.parent == os.getppid()
    assert found.group == os.getpgid(0)
    assert abs(found.created - me.create_time()) < 0.05
