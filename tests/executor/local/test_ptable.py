from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import psutil

from localrun.executor.local.ptable import FRESH_S, ProcessTable, read_parents


def test_descendants_walk_the_snapshot_parents_first_and_read_proc_once_per_tick() -> None:
    reads: list[float] = []
    now = [100.0]
    tree = {1: [10, 11], 10: [20], 20: [10], 11: []}  # 20 -> 10 again: a loop is walked once

    def read() -> dict[int, list[int]]:
        reads.append(now[0])
        return tree

    table = ProcessTable(read, clock=lambda: now[0])
    assert table.descendants(1) == [10, 11, 20]
    assert table.descendants(10) == [20]
    assert table.descendants(99) == []
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


def test_read_parents_reads_names_with_spaces_and_parentheses(tmp_path: Path) -> None:
    for pid, stat in {
        "7": b"7 (a) b) S 3 7 7 0",
        "8": b"8 (sh) R 7 8 8 0",
        "9": b"9 (x y) S 7 9 9 0",
    }.items():
        (tmp_path / pid).mkdir()
        (tmp_path / pid / "stat").write_bytes(stat)
    (tmp_path / "self").mkdir()
    (tmp_path / "10").mkdir()  # ended between the listing and the read
    found = read_parents(str(tmp_path))
    assert {parent: sorted(children) for parent, children in found.items()} == {3: [7], 7: [8, 9]}


def test_read_parents_agrees_with_psutil() -> None:
    mine = os.getpid()
    assert mine in read_parents()[os.getppid()]
    assert {p.pid for p in psutil.Process().children()} <= set(read_parents().get(mine, []))
