"""The CPU and memory series kept per run, and its plot."""

from __future__ import annotations

import itertools
import json
import re

from localrun.runs import Run, State
from localrun.web.usage import KEY, MAX_POINTS, MEMORY_HEADROOM, add_point, usage_plot
from tests.web.pages import Client, log_in, start_example, wait_state
from tests.web.test_rows import run as make_run

USAGE = {"cpu_percent": 150.0, "rss_bytes": 1 << 20, "processes": 3}


def test_a_sample_is_kept_once_per_step_compactly() -> None:
    first = add_point(None, 100.0, USAGE, 1.0)
    assert first == {"t0": 100.0, "step": 1.0, "points": [[0.0, 150, 1024]]}
    assert add_point(first, 100.5, USAGE, 1.0) is None
    second = add_point(first, 101.04, {"cpu_percent": None, "rss_bytes": 5 << 10}, 1.0)
    assert second is not None and second["points"][-1] == [1.0, None, 5]
    assert add_point(None, 1.0, {"cpu_percent": None}, 1.0) is None
    assert add_point(None, 1.0, {"cpu_percent": float("nan"), "rss_bytes": True}, 1.0) is None
    assert add_point({"points": "junk"}, 1.0, USAGE, 1.0) == {
        "t0": 1.0,
        "step": 1.0,
        "points": [[0.0, 150, 1024]],
    }


def test_a_long_run_keeps_its_whole_span_in_a_bounded_series() -> None:
    series = None
    for n in range(5000):
        series = add_point(series, 1000.0 + n, USAGE, 1.0) or series
    assert series is not None and series["t0"] == 1000.0
    points = series["points"]
    assert len(points) <= MAX_POINTS and points[0][0] == 0.0
    assert 4999.0 - points[-1][0] < series["step"] and series["step"] >= 16.0
    assert len(json.dumps(series)) < 7000
    gaps = {b[0] - a[0] for a, b in itertools.pairwise(points)}
    assert max(gaps) <= series["step"]


def test_the_plot_scales_cpu_to_the_runs_cores_and_memory_to_its_peak() -> None:
    points = [[0.0, 200, 100], [10.0, 100, 400], [20.0, None, 200], ["x", 1, 1]]
    drawn = usage_plot(make_run(cores=2, extra={KEY: {"t0": 5.0, "step": 1, "points": points}}))
    assert drawn is not None and drawn.samples == 3 and drawn.max_cpu == 100.0
    assert drawn.max_rss == 400 * 1024
    memory = [float(p.split(",")[1]) for p in drawn.memory.split()]
    inner = drawn.bottom - drawn.top
    assert min(memory) == round(drawn.top + inner * (1 - 1 / MEMORY_HEADROOM), 1)
    cpu = [tuple(map(float, p.split(","))) for p in drawn.cpu.split()]
    assert cpu[0][1] == drawn.top and cpu[1][0] > cpu[0][0] and len(cpu) == 2
    assert usage_plot(make_run(extra={KEY: {"t0": 5.0, "points": points[:1]}})) is None
    assert usage_plot(make_run(extra={KEY: {"points": points}})) is None
    assert usage_plot(make_run(extra={KEY: {"t0": 5.0, "points": "junk"}})) is None
    assert usage_plot(make_run(extra={KEY: "junk"})) is None


async def test_a_runs_page_plots_the_samples_taken_while_it_ran(client: Client, token: str) -> None:
    slower = "\n&localrun_simulator\n speed = 4,\n/\n"  # about 5 s: 10 samples
    run_id = await start_example(client, token, "sampled", slower)
    assert (await wait_state(client, token, run_id))["state"] == "succeeded"
    await log_in(client, token)
    text = await (await client.get(f"/ui/runs/{run_id}")).text()
    assert 'id="usage-plot"' in text, text
    cpu = re.search(r'<polyline class="cpu" points="([^"]+)"', text)
    assert cpu and len(cpu.group(1).split()) >= 4
    assert re.search(r'<polyline class="mem" points="[^"]+"', text)


def test_a_run_never_sampled_has_no_plot() -> None:
    never: Run = make_run(state=State.READY)
    assert usage_plot(never) is None
