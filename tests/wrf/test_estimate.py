"""The estimator against the measured fixture runs, before and after calibration."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, replace

import pytest

from localrun.wrf.estimate import (
    DEFAULT_MODEL,
    CostModel,
    Sample,
    domain_steps,
    estimate,
    estimate_time,
    fit,
    make_sample,
    options_json,
    render_table,
    sample_c,
)
from localrun.wrf.estimate_table import format_duration
from localrun.wrf.namelist import Case, read_case
from tests.conftest import FIXTURES

# Full 120-minute runs of case_quarter_ss on the fixture machine (WRF.md §7, fixture README).
MEASURED = {1: 93.6, 2: 47.5}
CALIBRATION_RUNS = ("success_np1", "success_np2", "success_nested_np2")
WRITING = re.compile(r"^Timing for Writing wrfout_d(\d\d)_\S+ for domain\s+\d+:\s+([\d.]+)", re.M)


def case_of(scenario: str) -> Case:
    return read_case(FIXTURES / scenario / "namelist.input")


def fixture_sample(scenario: str, *, with_writes: bool = False) -> Sample:
    """What the daemon would record for a fixture run: its run.json timing plus wall time."""
    run = json.loads((FIXTURES / scenario / "run.json").read_text())
    timing = {int(k[1:]): v for k, v in run["timing"].items() if k.startswith("d")}
    writes: dict[int, float] = {}
    if with_writes:
        log = (FIXTURES / scenario / "rsl.out.0000").read_text()
        for domain, seconds in WRITING.findall(log):
            writes[int(domain)] = writes.get(int(domain), 0.0) + float(seconds)
    return make_sample(
        case_of(scenario),
        host="vm",
        cores=run["np"],
        median_step_s={d: t["median"] for d, t in timing.items()},
        steps={d: t["steps"] for d, t in timing.items()},
        wall_s=run["wall_s"],
        write_s=writes or None,
    )


def relative_error(estimated: float, measured: float) -> float:
    return abs(estimated - measured) / measured


@pytest.fixture(scope="module")
def base_case() -> Case:
    return case_of("case_quarter_ss")


def test_base_case_work_is_what_the_readme_says(base_case: Case) -> None:
    assert domain_steps(base_case) == {1: 600.0}
    assert base_case.domains[0].points == 62 * 62 * 41
    assert len(base_case.domains[0].history_times) == 13


@pytest.mark.parametrize("cores", [1, 2])
def test_uncalibrated_estimate_within_half_of_measured(base_case: Case, cores: int) -> None:
    estimated = estimate_time(base_case, cores, CostModel())
    assert relative_error(estimated, MEASURED[cores]) < 0.50


@pytest.mark.parametrize("cores", [1, 2])
def test_calibrated_estimate_within_15_percent(base_case: Case, cores: int) -> None:
    model = fit([fixture_sample(s) for s in CALIBRATION_RUNS])
    assert model.samples == 3
    assert relative_error(estimate_time(base_case, cores, model), MEASURED[cores]) < 0.15


@pytest.mark.parametrize("cores", [1, 2])
def test_calibrated_with_write_times_within_15_percent(base_case: Case, cores: int) -> None:
    model = fit([fixture_sample(s, with_writes=True) for s in CALIBRATION_RUNS])
    assert 0.3e-6 < model.w < 1.5e-6  # the logs' Writing lines: 0.05-0.12 s per frame
    assert relative_error(estimate_time(base_case, cores, model), MEASURED[cores]) < 0.15


def test_calibration_reproduces_the_calibration_runs() -> None:
    model = fit([fixture_sample(s) for s in CALIBRATION_RUNS])
    for scenario in CALIBRATION_RUNS:
        sample = fixture_sample(scenario)
        assert sample.wall_s is not None
        estimated = estimate_time(case_of(scenario), sample.cores, model)
        assert relative_error(estimated, sample.wall_s) < 0.15, scenario


def test_nested_parent_timing_includes_the_nest() -> None:
    sample = fixture_sample("success_nested_np2")
    assert [(d.id, d.steps) for d in sample.domains] == [(1, 50), (2, 150)]
    alone = sample_c(fixture_sample("success_np2"), DEFAULT_MODEL.k)
    nested = sample_c(sample, DEFAULT_MODEL.k)
    assert alone is not None and nested is not None
    assert nested == pytest.approx(alone, rel=0.15)


def test_fit_recovers_a_known_model(base_case: Case) -> None:
    truth = CostModel(c=2.5e-6, w=0.8e-6, t_start=1.2)
    samples = []
    for cores in (1, 2, 4):
        estimated = estimate_time(base_case, cores, truth)
        sample = make_sample(
            base_case,
            host="h",
            cores=cores,
            median_step_s={1: 0.0},
            wall_s=estimated,
            write_s={1: truth.w * base_case.domains[0].points * 13},
        )
        stepping = estimated - truth.t_start - truth.w * base_case.domains[0].points * 14
        samples.append(
            replace(sample, domains=(replace(sample.domains[0], median_step_s=stepping / 600),))
        )
    model = fit(samples)
    assert model.c == pytest.approx(truth.c)
    assert model.w == pytest.approx(truth.w)
    assert model.t_start == pytest.approx(truth.t_start)


def test_fit_without_samples_keeps_the_prior() -> None:
    prior = CostModel(c=3e-6)
    assert fit([], prior=prior) == prior
    assert fit([fixture_sample("success_np1")], prior=prior, host="elsewhere") == prior


def test_fit_uses_the_most_recent_samples_of_the_host() -> None:
    slow = fixture_sample("success_np1")
    fast = replace(
        slow, domains=tuple(replace(d, median_step_s=d.median_step_s / 2) for d in slow.domains)
    )
    other = replace(slow, host="other")
    older_then_newer = fit([slow, slow, fast, fast, other], recent=2, host="vm")
    assert older_then_newer.c == pytest.approx(sample_c(fast, DEFAULT_MODEL.k))
    assert fit([slow, slow, fast], recent=3).c == pytest.approx(sample_c(slow, DEFAULT_MODEL.k))


def test_sample_and_model_round_trip_through_json() -> None:
    sample = fixture_sample("success_nested_np2", with_writes=True)
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
