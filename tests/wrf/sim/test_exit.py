"""How the simulator ends when things go wrong: death by signal, hanging without CPU."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import psutil
import pytest

from tests.polling import wait_for
from tests.wrf.sim.harness import (
    case_dir,
    rank_pids,
    run,
    start,
)


@pytest.mark.parametrize(
    ("time_step", "signum", "text", "steps"),
    [(40, 11, "Segmentation fault (signal 11)", 1), (24, 6, "Aborted (signal 6)", 5)],
)
def test_cfl_blowup_dies_by_signal(
    tmp_path: Path, time_step: int, signum: int, text: str, steps: int
) -> None:
    result = run(case_dir(tmp_path, "success_np2", {"time_step": f"{time_step},"}), 2)
    assert result.code == signum
    assert "BAD TERMINATION OF ONE OF YOUR APPLICATION PROCESSES" in result.stdout
    assert f"=   EXIT CODE: {signum}" in result.stdout and text in result.stdout
    assert len(result.timings()) == steps
    name = {11: "SIGSEGV", 6: "SIGABRT"}[signum]
    for rank in (0, 1):
        assert any("points exceeded v_cfl = 2 in domain d01" in x for x in result.rsl("out", rank))
        assert any(" w-cfl: " in x for x in result.rsl("out", rank))
        assert any(
            x.startswith(f"Program received signal {name}") for x in result.rsl("error", rank)
        )
    assert not list(result.dir.glob("core*"))


def test_hang_stops_timing_lines_without_cpu_and_dies_on_sigterm(tmp_path: Path) -> None:

    work = case_dir(tmp_path, "success_np2")
    proc = start(work, 2, LOCALRUN_SIM_HANG_AT="30")
    try:
        out = work / "rsl.out.0000"
        wait_for(lambda: out.exists() and "00:03:00 on domain" in out.read_text(), timeout=30)
        ranks = [psutil.Process(pid) for pid in rank_pids(proc.pid)]
        assert len(ranks) == 2
        before = [r.cpu_times() for r in ranks]
        size = out.stat().st_size
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            assert out.stat().st_size == size
            time.sleep(0.1)
        used = [
            (a.cpu_times().user + a.cpu_times().system) - (b.user + b.system)
            for a, b in zip(ranks, before, strict=True)
        ]
        assert max(used) < 0.3
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert code in (0, 15)
    assert out.read_text().splitlines()[-1].startswith("Timing for main: time 0001-01-01_00:03:00")
