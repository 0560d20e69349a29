"""The estimator against the measured fixture runs, before and after calibration."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from typing import Any

import pytest

from localrun.wrf.estimate import (
    DEFAULT_MODEL,
    GROWTH_PRIOR,
    REAL,
    SIMULATOR,
    CostModel,
    Sample,
    domain_steps,
    estimate,
    estimate_time,
    fit,
    growth_factor,
    make_sample,
    model_hours,
    options_json,
    ramp_mean,
    render_table,
    restart_writes,
    sample_c,
    sample_ws,
    stepping_time,
    untrusted,
)
from localrun.wrf.estimate_table import format_duration
from localrun.wrf.monitor import Monitor
from localrun.wrf.namelist import Case, read_case
from tests.conftest import EXAMPLE, FIXTURES

# Full 120-minute runs of case_quarter_ss on the fixture machine (WRF.md §7, fixture README).
MEASURED = {1: 93.6, 2: 47.5}
CALIBRATION_RUNS = ("success_np1", "success_np2", "success_nested_np2")


def case_of(scenario: str) -> Case:
    return read_case(FIXTURES / scenario / "namelist.input")


def fixture_sample(scenario: str, **flags: Any) -> Sample:
    """What the daemon records for a fixture run: its monitor's sample (step and write times
    from rsl.out.0000) with run.json's wall time, as a real-model run."""
    run = json.loads((FIXTURES / scenario / "run.json").read_text())
    monitor = Monitor(FIXTURES / scenario, FIXTURES / scenario, run["np"])
    monitor.poll()
    found = monitor.calibration_sample("vm", run["wall_s"], **flags)
    assert found is not None
    return Sample.from_dict(found)


def relative_error(estimated: float, measured: float) -> float:
    return abs(estimated - measured) / measured


@pytest.fixture(scope="module")
def base_case() -> Case:
    return case_of("case_quarter_ss")


def test_base_case_work_is_what_the_readme_says(base_case: Case) -> None:
    assert domain_steps(base_case) == {1: 600.0}
    assert base_case.domains[0].points == 62 * 62 * 41
    assert len(base_case.domains[0].history_times) == 13
    assert restart_writes(base_case) == 1


@pytest.mark.parametrize("cores", [1, 2])
def test_uncalibrated_estimate_within_half_of_measured(base_case: Case, cores: int) -> None:
    estimated = estimate_time(base_case, cores, CostModel())
    assert relative_error(estimated, MEASURED[cores]) < 0.50


@pytest.mark.parametrize("cores", [1, 2])
def test_calibrated_estimate_within_8_percent(base_case: Case, cores: int) -> None:
    model = fit([fixture_sample(s) for s in CALIBRATION_RUNS])
    assert model.samples == 3
    assert 0.3e-6 < model.w < 1.0e-6  # the logs' Writing lines: 0.06-0.12 s per frame
    assert relative_error(estimate_time(base_case, cores, model), MEASURED[cores]) < 0.08


def test_calibration_reproduces_the_short_runs_and_their_start_up() -> None:
    """The 10-minute runs took 7.0, 3.6 and 7.2 s: a fixed 3 s start-up would overshoot them."""
    for scenario in CALIBRATION_RUNS:
        others = fit([fixture_sample(s) for s in CALIBRATION_RUNS if s != scenario])
        sample = fixture_sample(scenario)
        assert sample.wall_s is not None
        estimated = estimate_time(case_of(scenario), sample.cores, others)
        assert relative_error(estimated, sample.wall_s) < 0.10, scenario
        assert others.t_start < 1.0


def test_the_write_term_is_the_total_over_the_frames() -> None:
    """write_s is a domain's total: w comes out per frame, whatever the number of frames."""
    sample = fixture_sample("success_np2")
    [domain] = sample.domains
    assert domain.frames == 2 and domain.write_s is not None
    assert 0.15 < domain.write_s < 0.25  # 0.066 + 0.123 s in rsl.out.0000
    many = replace(sample, domains=(replace(domain, frames=121, write_s=domain.write_s * 60.5),))
    assert sample_ws(many) == pytest.approx(sample_ws(sample))
    case = replace_history(case_of("case_quarter_ss"), minutes=1)
    assert len(case.domains[0].history_times) == 121
    model = fit([fixture_sample(s) for s in CALIBRATION_RUNS])
    extra = estimate_time(case, 2, model) - estimate_time(case_of("case_quarter_ss"), 2, model)
    assert extra == pytest.approx(108 * model.w * domain.points)
    assert 5.0 < extra < 15.0  # 108 more frames at 0.06-0.12 s each


def replace_history(case: Case, minutes: int) -> Case:
    domains = tuple(replace(d, history_interval_min=minutes) for d in case.domains)
    return replace(case, domains=domains)


def test_nested_parent_timing_includes_the_nest() -> None:
    sample = fixture_sample("success_nested_np2")
    assert [(d.id, d.steps) for d in sample.domains] == [(1, 50), (2, 150)]
    alone = sample_c(fixture_sample("success_np2"), DEFAULT_MODEL)
    nested = sample_c(sample, DEFAULT_MODEL)
    assert alone is not None and nested is not None
    assert nested == pytest.approx(alone, rel=0.15)


def known_samples(case: Case, truth: CostModel, cores: tuple[int, ...]) -> list[Sample]:
    """Runs of `case` that took exactly what `truth` says, as the monitor would record them."""
    samples = []
    points = case.domains[0].points
    frames = len(case.domains[0].history_times)
    for p in cores:
        stepping = stepping_time(case, p, truth)
        sample = make_sample(
            case,
            host="h",
            cores=p,
            median_step_s={1: stepping / 600},
            mean_step_s={1: stepping / 600},
            early_step_s={1: stepping / 600 / growth_factor(truth, model_hours(case))},
            wall_s=estimate_time(case, p, truth),
            write_s={1: truth.w * points * frames},
            restarts={1: restart_writes(case)},
            restart_s={1: truth.w * points * truth.restart_frames * restart_writes(case)},
            model=REAL,
        )
        samples.append(sample)
    return samples


def test_fit_recovers_a_known_model(base_case: Case) -> None:
    truth = CostModel(c=2.5e-6, w=0.8e-6, t_start=1.2, growth=0.3, restart_frames=5.0)
    model = fit(known_samples(base_case, truth, (1, 2, 4)))
    assert model.c == pytest.approx(truth.c)
    assert model.w == pytest.approx(truth.w)
    assert model.t_start == pytest.approx(truth.t_start)
    assert model.growth == pytest.approx(truth.growth)
    assert model.restart_frames == pytest.approx(truth.restart_frames)


def test_short_runs_keep_the_prior_growth() -> None:
    model = fit([fixture_sample(s) for s in CALIBRATION_RUNS])
    assert model.growth == GROWTH_PRIOR


def test_fit_without_samples_keeps_the_prior() -> None:
    prior = CostModel(c=3e-6)
    assert fit([], prior=prior) == prior
    assert fit([fixture_sample("success_np1")], prior=prior, host="elsewhere") == prior


@pytest.mark.parametrize(
    ("flags", "why"),
    [
        ({"model": SIMULATOR}, "the simulator's cost is its own"),
        ({"model": ""}, "no model recorded"),
        ({"oversubscribed": True}, "the machine was oversubscribed"),
        ({"cpu_share": 0.5}, "starved of CPU (50% of 1 cores)"),
    ],
)
def test_only_runs_that_tell_the_truth_calibrate(flags: dict[str, Any], why: str) -> None:
    prior = CostModel(c=3e-6)
    honest = fixture_sample("success_np1", cpu_share=0.97)
    assert untrusted(honest) is None
    liar = replace(honest, **flags)
    assert untrusted(liar) == why
    assert fit([liar, liar], prior=prior) == prior
    assert fit([honest, liar]).samples == 1


def test_a_sample_from_before_the_model_was_recorded_is_not_trusted() -> None:
    data = asdict(fixture_sample("success_np1"))
    del data["model"], data["hours"], data["cpu_share"], data["oversubscribed"]
    for domain in data["domains"]:
        del domain["mean_step_s"], domain["early_step_s"], domain["restarts"]
        del domain["restart_s"]
    old = Sample.from_dict(data)
    assert untrusted(old) == "no model recorded"


def test_fit_uses_the_most_recent_samples_of_the_host() -> None:
    slow = fixture_sample("success_np1")
    fast = replace(
        slow,
        domains=tuple(
            replace(d, median_step_s=d.median_step_s / 2, mean_step_s=(d.mean_step_s or 0) / 2)
            for d in slow.domains
        ),
    )
    other = replace(slow, host="other")
    older_then_newer = fit([slow, slow, fast, fast, other], recent=2, host="vm")
    assert older_then_newer.c == pytest.approx(sample_c(fast, DEFAULT_MODEL))
    assert fit([slow, slow, fast], recent=3).c == pytest.approx(sample_c(slow, DEFAULT_MODEL))


def test_the_step_time_grows_with_the_storm(base_case: Case) -> None:
    flat = replace(DEFAULT_MODEL, growth=0.0)
    short = case_of("success_np1")
    assert stepping_time(short, 1) == pytest.approx(stepping_time(short, 1, flat))
    ratio = stepping_time(base_case, 1) / stepping_time(base_case, 1, flat)
    assert ratio == pytest.approx(1 + GROWTH_PRIOR * ramp_mean(0, 2))
    assert 1.14 < ratio < 1.18
    # what is left after the storm grew steps at the full rate
    assert stepping_time(base_case, 1, done=0.5) == pytest.approx(
        stepping_time(base_case, 1, flat, done=0.5) * (1 + GROWTH_PRIOR)
    )


def test_sample_and_model_round_trip_through_json() -> None:
    sample = fixture_sample("success_nested_np2", cpu_share=0.9)
    assert Sample.from_dict(json.loads(json.dumps(asdict(sample)))) == sample
    model = fit([sample])
    assert CostModel(**json.loads(json.dumps(asdict(model)))) == model


def test_restart_run_writes_only_the_history_after_its_start() -> None:
    case = case_of("restart/restarted")
    sample = make_sample(case, host="vm", cores=2, median_step_s={1: 0.063})
    assert sample.domains[0].steps == 25  # run.json: 25 Timing lines, 00:05:12 to 00:10:00
    assert sample.domains[0].frames == 1  # only wrfout 00:10 was written


def test_adaptive_steps_follow_the_ramp_of_the_fixture_run() -> None:
    case = case_of("success_adaptive_dt")
    measured = json.loads((FIXTURES / "success_adaptive_dt" / "run.json").read_text())
    steps = domain_steps(case)[1]
    assert steps == measured["timing"]["d1"]["steps"] == 30
    assert 600 / 24 <= steps <= 600 / 12


def test_options_one_per_core_count_and_one_recommended(base_case: Case) -> None:
    options = estimate(base_case, 12, rate_per_core_hour=0.5)
    assert [o.cores for o in options] == list(range(1, 13))
    assert sum(o.recommended for o in options) == 1
    for option in options:
        assert option.reason
        if option.valid:
            assert option.time_s is not None and option.core_hours is not None
            assert option.core_hours == pytest.approx(option.cores * option.time_s / 3600)
            assert option.cost == pytest.approx(option.core_hours * 0.5)


def test_invalid_layout_is_explained(base_case: Case) -> None:
    seventh = estimate(base_case, 7)[6]
    assert not seventh.valid and seventh.time_s is None and seventh.layout == (1, 7)
    assert "62x8" in seventh.reason and "domain 1" in seventh.reason


def test_prime_strip_is_not_recommended(base_case: Case) -> None:
    fifth = estimate(base_case, 5)[4]
    assert fifth.valid and not fifth.recommended and "prime" in fifth.reason


def test_recommendation_stops_where_more_cores_save_under_ten_percent(base_case: Case) -> None:
    options = estimate(base_case, 64)
    [chosen] = [o for o in options if o.recommended]
    timed = [o for o in options if o.valid and "prime" not in o.reason]
    fastest = min(o.time_s or 0.0 for o in timed)
    assert chosen.time_s is not None and fastest >= 0.9 * chosen.time_s
    assert all((o.time_s or 0.0) * 0.9 > fastest for o in timed if o.cores < chosen.cores)
    assert chosen.cores < 64
    beyond = [o for o in timed if o.cores > chosen.cores]
    assert beyond and all("saves only" in o.reason or "no faster" in o.reason for o in beyond)


def test_two_cores_recommended_on_a_two_core_machine(base_case: Case) -> None:
    options = estimate(base_case, 2)
    assert [o.recommended for o in options] == [False, True]
    assert "slower than 2 cores" in options[0].reason


def test_small_domain_only_offers_what_wrf_accepts() -> None:
    options = estimate(case_of("too_many_ranks"), 6)
    assert [o.cores for o in options if o.valid] == [1, 2, 4]
    # 50 steps of 22x22x41 points: start-up dominates, so 4 ranks save under 10 % over 2.
    assert [o.cores for o in options if o.recommended] == [2]
    assert "saves only" in options[3].reason


def test_no_cores_is_an_error(base_case: Case) -> None:
    with pytest.raises(ValueError):
        estimate(base_case, 0)


def test_table_has_a_row_per_option(base_case: Case) -> None:
    options = estimate(base_case, 7, rate_per_core_hour=2.0)
    lines = render_table(options).splitlines()
    assert lines[0].split() == [
        "cores",
        "layout",
        "time",
        "core-hours",
        "cost",
        "recommended",
        "reason",
    ]
    assert len(lines) == 8
    [recommended] = [line for line in lines if " yes " in line]
    assert recommended.split()[0] == "6"
    assert lines[7].split()[:5] == ["7", "1x7", "-", "-", "-"]


def test_json_options(base_case: Case) -> None:
    rows = options_json(estimate(base_case, 7))
    json.dumps(rows)
    assert set(rows[0]) >= {"cores", "time_s", "core_hours", "cost", "recommended", "reason"}
    assert rows[6]["time_s"] is None and rows[6]["layout"] == "1x7"
    assert rows[0]["time_s"] == pytest.approx(estimate_time(base_case, 1), abs=1e-3)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (42.04, "42.0 s"), (185.0, "3m 05s"), (7440.0, "2h 04m")],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


def test_no_option_past_the_most_ranks_the_grid_allows() -> None:
    from localrun.wrf.estimate import estimate, most_ranks

    case = read_case(EXAMPLE / "namelist.input")
    assert most_ranks(case) == 36  # 62 x 62 points: 6 x 6 patches of 10 cells at most
    options = estimate(case, 1 << 20)  # a scheduler that named no capacity
    assert len(options) == 37 and not options[-1].valid
