"""The step-time plot's layout, from real WRF logs and from odd lines."""

from __future__ import annotations

from pathlib import Path

from localrun.web.plot import HEIGHT, LEFT, TOP, WIDTH, plot, step_times
from tests.conftest import FIXTURES

LOG = """\
Timing for main: time 2019-09-04_12:00:30 on domain   1:    0.50000 elapsed seconds
Timing for main (dt= 10.00): time 2019-09-04_12:00:10 on domain   2:    0.25000 elapsed seconds
Timing for main: time 2019-09-04_12:01:00 on domain   1:    1.00000 elapsed seconds
Timing for main: time not-a-time on domain   1:    9.00000 elapsed seconds
<script>Timing for main: time 2019-09-04_12:01:30 on domain 1: 3 elapsed seconds
"""


def test_every_timing_line_is_one_point_of_its_domain() -> None:
    series = step_times(LOG)
    assert {d: len(p) for d, p in series.items()} == {1: 2, 2: 1}
    drawn = plot(series)
    assert drawn is not None and drawn.steps == 3
    (x0, _, title), (_, y1, _) = drawn.lines[0].points
    assert x0 == LEFT + (WIDTH - LEFT - 12) * 20 / 50 and title.startswith(
        "d01 2019-09-04_12:00:30"
    )
    assert y1 == TOP  # the slowest step is at the top
    assert drawn.max_s == 1.0 and drawn.first == "2019-09-04_12:00:10"
    assert all(0 <= y <= HEIGHT for line in drawn.lines for _, y, _ in line.points)


def test_no_step_no_plot() -> None:
    assert plot(step_times("starting wrf task 0 of 1\n")) is None


def test_a_real_cfl_blow_up_log_plots_every_step() -> None:
    rsl = next(Path(FIXTURES, "cfl_blowup").rglob("rsl.out.0000"), None) or next(
        Path(FIXTURES, "cfl_blowup").rglob("rsl.error.0000")
    )
    text = rsl.read_text(errors="replace")
    drawn = plot(step_times(text))
    assert drawn is not None
    assert drawn.steps == text.count("Timing for main")


def test_model_times_keep_wrfs_four_digit_year() -> None:
    drawn = plot(step_times(LOG.replace("2019-09-04", "0001-01-01")))
    assert drawn is not None and drawn.first == "0001-01-01_12:00:10"
    assert drawn.lines[0].points[0][2].startswith("d01 0001-01-01_12:00:30")
