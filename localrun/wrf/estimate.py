"""Run-time estimates per core count for a WRF case, and their calibration from finished runs.

The cost model (WRF.md §7), for P ranks:

    T(P) = t_start + c·G·W / (P·E(P)) + w·Σ_d N_d·(frames_d + 1 + r·restarts_d)

with N_d = e_we·e_sn·e_vert grid points of domain d, W = Σ_d N_d·steps_d grid-point-steps,
frames_d the history frames domain d writes (+1 for reading its input), restarts_d its restart
writes (each costs r history frames: a wrfrst holds the full state, 18.5 MB against a 4.4 MB
wrfout in the fixtures, 0.50 s against 0.12 s to write), and the parallel efficiency
E(P) = 1 / (1 + k·(a+b)/(a·b)) for the smallest patch a×b of the layout WRF picks.

G is the growth of the step time as the run's weather develops (WRF.md §9: em_quarter_ss's
supercell steps at a flat rate for ten model minutes, then slower, up to about a fifth by 40
minutes): G = 1 + growth·(mean of the ramp over the run's model hours), the ramp rising from 0
at STORM_FROM_H to 1 at STORM_FULL_H after the simulation start. `c` is the flat-rate cost;
`growth` starts at GROWTH_PRIOR and is learnt from runs that went past STORM_FULL_H.

Calibration (`fit`) learns c, w, r, growth and t_start from finished runs that tell the truth
about this host (`untrusted`): real-model runs only (the simulator's cost is its own, see
`simulator_model`), not oversubscribed, not starved of CPU.

Default c: WRF.md quotes 4.5–8 µs per grid-point-step for real-data physics on cluster nodes,
but the idealised fixture case on this kind of machine measures 0.87–0.97 µs (0.153 s per step
for 157,604 points at np=1). 6 µs would put the uncalibrated estimate for that case at ~600 s
against the measured 93.6 s, so the default is 1 µs and `fit` adapts it to each host.

Adaptive time step: the root domain's step starts at `starting_time_step` (WRF's default for -1:
4·dx in km) and grows by `max_step_increase_pct` per step up to `max_time_step` (default for -1:
8·dx in km), as the fixture run shows (12 s → 24 s in 16 steps, 30 steps in 10 minutes). That is
the fewest steps WRF can take; a run whose CFL limit holds the step lower takes more, up to
run_seconds / starting_time_step. Nests take parent_time_step_ratio steps per parent step.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from statistics import median
from typing import Any

from localrun.wrf.decomposition import MIN_PATCH, Layout, check_ranks, layout, smallest_patch
from localrun.wrf.estimate_table import format_duration as format_duration
from localrun.wrf.estimate_table import options_json as options_json
from localrun.wrf.estimate_table import render_table as render_table
from localrun.wrf.namelist import Case, Domain

DEFAULT_C = 1.0e-6
KNEE = 0.10
SMALLEST_STRIP_PRIME = 5
RESTART_FRAMES = 4.0
GROWTH_PRIOR = 0.2  # the fixtures' 2-hour means against their first ten minutes: +16 to +19 %
STORM_FROM_H, STORM_FULL_H = 10 / 60, 40 / 60
MIN_CPU_SHARE = 0.8  # of P busy cores: below it a run was starved of CPU (ranks busy-wait)
MIN_EARLY_STEPS = 5
SIM_START_S = 1.5  # the simulator's start-up (Python, MPI, numpy), not scaled by its speed
REAL, SIMULATOR = "real", "simulator"  # Sample.model


@dataclass(frozen=True)
class CostModel:
    """Constants of the cost model; `samples` is how many runs calibrated it (0: defaults)."""

    c: float = DEFAULT_C
    w: float = 1.5e-6
    t_start: float = 3.0
    k: float = 1.8
    samples: int = 0
    growth: float = GROWTH_PRIOR
    restart_frames: float = RESTART_FRAMES


DEFAULT_MODEL = CostModel()


@dataclass(frozen=True)
class Option:
    """One core count: time, core-hours and cost are None where WRF would refuse the layout."""

    cores: int
    valid: bool
    layout: tuple[int, int]
    time_s: float | None
    core_hours: float | None
    cost: float | None
    recommended: bool
    reason: str


@dataclass(frozen=True)
class DomainSample:
    """One domain of a finished run.

    `median_step_s` and `mean_step_s` are over its `Timing for main` lines, which for a parent
    include its nests' steps (as WRF prints them); `early_step_s` is the median of its steps
    before STORM_FROM_H (none when the run started later or took too few). `write_s` is the
    TOTAL of its `Timing for Writing wrfout_dNN` lines, over the `frames` history writes they
    count (so w = write_s / (points·frames)); `restart_s` likewise the total of its `Timing for
    Writing restart` lines, over `restarts` writes.
    """

    id: int
    parent_id: int
    e_we: int
    e_sn: int
    e_vert: int
    steps: int
    median_step_s: float
    frames: int = 0
    write_s: float | None = None
    mean_step_s: float | None = None
    early_step_s: float | None = None
    restarts: int = 0
    restart_s: float | None = None

    @property
    def points(self) -> int:
        return self.e_we * self.e_sn * self.e_vert


@dataclass(frozen=True)
class Sample:
    """What a finished run yields for calibration; `asdict` gives its JSON form.

    `model` is REAL or SIMULATOR ("" when not recorded: such a sample is not trusted);
    `hours` the model hours after the simulation start that the run covered; `cpu_share` the
    median CPU its processes used over the run, as a share of `cores` busy cores (None when
    the executor could not tell); `oversubscribed` whether, at any time of the run, the runs
    on the machine had more ranks than it has cores.
    """

    host: str
    cores: int
    layout: tuple[int, int]
    domains: tuple[DomainSample, ...]
    wall_s: float | None = None
    model: str = ""
    hours: tuple[float, float] | None = None
    cpu_share: float | None = None
    oversubscribed: bool = False

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Sample:
        nx, ny = data["layout"]
        fields = set(DomainSample.__dataclass_fields__)
        hours = data.get("hours")
        share = data.get("cpu_share")
        return cls(
            host=str(data["host"]),
            cores=int(data["cores"]),
            layout=(int(nx), int(ny)),
            domains=tuple(
                DomainSample(**{k: v for k, v in d.items() if k in fields}) for d in data["domains"]
            ),
            wall_s=None if data.get("wall_s") is None else float(data["wall_s"]),
            model=str(data.get("model") or ""),
            hours=None if not hours else (float(hours[0]), float(hours[1])),
            cpu_share=None if share is None else float(share),
            oversubscribed=bool(data.get("oversubscribed")),
        )


def untrusted(sample: Sample) -> str | None:
    """Why a run must not calibrate this host's model, or None when it may."""
    if sample.model != REAL:
        return "the simulator's cost is its own" if sample.model else "no model recorded"
    if sample.oversubscribed:
        return "the machine was oversubscribed"
    if sample.cpu_share is not None and sample.cpu_share < MIN_CPU_SHARE:
        return f"starved of CPU ({sample.cpu_share:.0%} of {sample.cores} cores)"
    if sample.wall_s is not None and sample.wall_s <= 0:
        return "no wall time"
    return None


# --- the model ------------------------------------------------------------------------------


def domain_steps(case: Case) -> dict[int, float]:
    """Steps each domain takes (adaptive runs: the fewest WRF can take, see the module doc)."""
    if not case.adaptive:
        return {d.id: float(d.steps) for d in case.domains}
    steps: dict[int, float] = {case.domains[0].id: float(adaptive_root_steps(case))}
    for d in case.domains[1:]:
        steps[d.id] = steps[d.parent_id] * max(d.parent_time_step_ratio, 1)
    return steps


def adaptive_root_steps(case: Case) -> int:
    root, group = case.domains[0], case.raw.get("domains", {})
    dx_km = root.dx / 1000.0
    dt = _first_positive(group, "starting_time_step") or 4.0 * dx_km or root.time_step
    top = max(_first_positive(group, "max_time_step") or 8.0 * dx_km, dt)
    growth = 1.0 + (_first_positive(group, "max_step_increase_pct") or 5.0) / 100.0
    elapsed, steps = 0.0, 0
    while elapsed < root.seconds and dt < top:
        elapsed, steps, dt = elapsed + dt, steps + 1, min(dt * growth, top)
    return steps + max(0, math.ceil((root.seconds - elapsed) / top - 1e-9))


def _first_positive(group: Mapping[str, Any], name: str) -> float:
    value = group.get(name)
    first = value[0] if isinstance(value, list) else value
    return float(first) if isinstance(first, int | float) and first > 0 else 0.0


def history_frames(domain: Domain) -> int:
    """History frames the run writes (a restarted run's history_times leave out its start)."""
    return len(domain.history_times)


def work(case: Case) -> float:
    """W = Σ_d N_d·steps_d, in grid-point-steps."""
    steps = domain_steps(case)
    return sum(d.points * steps[d.id] for d in case.domains)


def restart_writes(case: Case) -> int:
    """Restart files the run writes: one per restart_interval of model time."""
    if case.restart_interval_min <= 0:
        return 0
    return int((case.run_seconds + 1e-6) // (case.restart_interval_min * 60))


def output_points(case: Case, restart_frames: float = RESTART_FRAMES) -> float:
    """Σ_d N_d·(frames_d + 1 + r·restarts): the points written and read, which do not scale
    with P."""
    restarts = restart_frames * restart_writes(case)
    return float(sum(d.points * (history_frames(d) + 1 + restarts) for d in case.domains))


def model_hours(case: Case) -> tuple[float, float]:
    """The run's span in model hours after the simulation start (a restart run's is taken
    from midnight of its start day, the rhythm its history keeps)."""
    anchor = case.start.replace(hour=0, minute=0, second=0) if case.restart else case.start
    return (
        (case.start - anchor).total_seconds() / 3600.0,
        (case.end - anchor).total_seconds() / 3600.0,
    )


def ramp_mean(h0: float, h1: float) -> float:
    """Mean over model hours h0..h1 of the storm ramp (0 before STORM_FROM_H, 1 after
    STORM_FULL_H, linear between)."""
    if h1 <= h0:
        return _ramp(h0)
    return (_ramp_integral(h1) - _ramp_integral(h0)) / (h1 - h0)


def _ramp(h: float) -> float:
    return min(1.0, max(0.0, (h - STORM_FROM_H) / (STORM_FULL_H - STORM_FROM_H)))


def _ramp_integral(h: float) -> float:
    width = STORM_FULL_H - STORM_FROM_H
    rise = min(max(h - STORM_FROM_H, 0.0), width)
    return rise * rise / (2.0 * width) + max(h - STORM_FULL_H, 0.0)


def growth_factor(model: CostModel, hours: tuple[float, float] | None) -> float:
    """G: the mean step over those hours against the flat rate."""
    return 1.0 if hours is None else 1.0 + model.growth * ramp_mean(*hours)


def efficiency(a: int, b: int, k: float) -> float:
    """E for a smallest patch of a×b cells (clamped to one cell: WRF refuses under 10 anyway)."""
    a, b = max(a, 1), max(b, 1)
    return 1.0 / (1.0 + k * (a + b) / (a * b))


def case_efficiency(case: Case, lay: Layout, k: float) -> float:
    return efficiency(*smallest_patch(case, lay), k)


def predict(model: CostModel, work_: float, cores: int, eff: float, io_points: float) -> float:
    return model.t_start + model.c * work_ / (cores * eff) + model.w * io_points


def stepping_time(
    case: Case, cores: int, model: CostModel = DEFAULT_MODEL, done: float = 0.0
) -> float:
    """The estimated seconds of time steps alone (no start-up, no output); with `done`, of the
    steps after that fraction of the run's model time (which step slower once a storm grew)."""
    lay = layout(cores, case.nproc_x, case.nproc_y)
    eff = case_efficiency(case, lay, model.k)
    h0, h1 = model_hours(case)
    done = min(1.0, max(0.0, done))
    grown = growth_factor(model, (h0 + done * (h1 - h0), h1))
    return model.c * grown * work(case) * (1.0 - done) / (cores * eff)


def output_time(case: Case, model: CostModel = DEFAULT_MODEL) -> float:
    return model.w * output_points(case, model.restart_frames)


def estimate_time(case: Case, cores: int, model: CostModel = DEFAULT_MODEL) -> float:
    """Estimated wall time in seconds for `cores` ranks, whether or not WRF accepts the layout."""
    return model.t_start + stepping_time(case, cores, model) + output_time(case, model)


def simulator_model(cost_us: float, speed: float) -> CostModel:
    """The built-in simulator's own cost model (localrun.wrf.sim.cost): what it paces itself
    by, at its speed factor."""
    from localrun.wrf.sim import cost  # the simulator's constants; no MPI is imported

    return CostModel(
        c=cost_us * 1e-6 / speed,
        w=cost.HISTORY_US * 1e-6 / speed,
        t_start=SIM_START_S,
        growth=cost.STORM_GROWTH,
        restart_frames=cost.RESTART_US / cost.HISTORY_US,
    )


# --- options and the recommendation ---------------------------------------------------------


def estimate(
    case: Case,
    max_cores: int,
    model: CostModel = DEFAULT_MODEL,
    rate_per_core_hour: float = 0.0,
) -> list[Option]:
    """One option per core count 1..max_cores, exactly one of them recommended when any is valid.
    Counts past the most ranks WRF can split the smallest domain into (patches of at least
    MIN_PATCH cells each way) are left out: all of them would be refused."""
    if max_cores < 1:
        raise ValueError("max_cores must be at least 1")
    limit = min(max_cores, most_ranks(case) + 1)
    options = [_option(case, p, model, rate_per_core_hour) for p in range(1, limit + 1)]
    return _recommend(options)


def most_ranks(case: Case) -> int:
    """An upper bound of the ranks any layout of the case can have."""
    return max(1, min((d.e_we // MIN_PATCH) * (d.e_sn // MIN_PATCH) for d in case.domains))


def _option(case: Case, cores: int, model: CostModel, rate: float) -> Option:
    lay, problem = check_ranks(case, cores)
    shape = (lay.nproc_x, lay.nproc_y)
    if problem is not None:
        return Option(cores, False, shape, None, None, None, False, problem.describe(lay))
    time_s = estimate_time(case, cores, model)
    core_hours = cores * time_s / 3600.0
    return Option(cores, True, shape, time_s, core_hours, core_hours * rate, False, "")


def _recommend(options: list[Option]) -> list[Option]:
    valid = [o for o in options if o.valid]
    candidates = [o for o in valid if not _is_strip(o)] or valid
    if not candidates:
        return options
    fastest = min(candidates, key=_time)
    chosen = min(
        (o for o in candidates if _time(fastest) >= (1.0 - KNEE) * _time(o)), key=lambda o: o.cores
    )
    return [_explain(o, chosen, fastest) for o in options]


def _explain(option: Option, chosen: Option, fastest: Option) -> Option:
    if not option.valid:
        return option
    if option is chosen:
        return replace(option, recommended=True, reason=_chosen_reason(chosen, fastest))
    if _is_strip(option):
        reason = f"{option.cores} is prime: WRF splits it into 1x{option.cores} strips"
    elif option.cores < chosen.cores:
        reason = _slower_reason(option, chosen)
    else:
        reason = _beyond_reason(option, chosen)
    return replace(option, reason=reason)


def _slower_reason(option: Option, chosen: Option) -> str:
    ratio = _time(option) / _time(chosen)
    if ratio >= 2.0:
        return f"{ratio:.1f}x the time of {chosen.cores} cores"
    return f"{ratio - 1.0:.0%} slower than {chosen.cores} cores"


def _chosen_reason(chosen: Option, fastest: Option) -> str:
    if chosen is fastest:
        return "fastest estimate"
    return (
        f"fewest cores within {KNEE:.0%} of the fastest estimate "
        f"({fastest.cores} cores); more cores save less than {KNEE:.0%}"
    )


def _beyond_reason(option: Option, chosen: Option) -> str:
    saved = 1.0 - _time(option) / _time(chosen)
    if saved <= 0:
        return f"no faster than {chosen.cores} cores: start-up and output do not scale"
    more = option.cores / chosen.cores * (1.0 - saved)
    return f"saves only {saved:.0%} over {chosen.cores} cores for {more:.1f}x the core-hours"


def _time(option: Option) -> float:
    return option.time_s if option.time_s is not None else math.inf


def _is_strip(option: Option) -> bool:
    return option.cores >= SMALLEST_STRIP_PRIME and option.layout[0] == 1 and _prime(option.cores)


def _prime(n: int) -> bool:
    return n >= 2 and all(n % f for f in range(2, math.isqrt(n) + 1))


# --- calibration ----------------------------------------------------------------------------


def make_sample(
    case: Case,
    *,
    host: str,
    cores: int,
    median_step_s: Mapping[int, float],
    wall_s: float | None = None,
    steps: Mapping[int, int] | None = None,
    frames: Mapping[int, int] | None = None,
    write_s: Mapping[int, float] | None = None,
    mean_step_s: Mapping[int, float] | None = None,
    early_step_s: Mapping[int, float] | None = None,
    restarts: Mapping[int, int] | None = None,
    restart_s: Mapping[int, float] | None = None,
    model: str = "",
    cpu_share: float | None = None,
    oversubscribed: bool = False,
) -> Sample:
    """A Sample from a finished run of `case`; steps and frames default to what the namelist
    implies (pass the counted ones when the monitor has them). `write_s` and `restart_s` are
    each domain's total write seconds (see DomainSample)."""
    lay = layout(cores, case.nproc_x, case.nproc_y)
    planned = domain_steps(case)

    def pick(values: Mapping[int, Any] | None, d: Domain) -> Any:
        return values.get(d.id) if values else None

    domains = tuple(
        DomainSample(
            id=d.id,
            parent_id=d.parent_id,
            e_we=d.e_we,
            e_sn=d.e_sn,
            e_vert=d.e_vert,
            steps=int(steps[d.id]) if steps and d.id in steps else round(planned[d.id]),
            median_step_s=float(median_step_s.get(d.id, 0.0)),
            frames=frames[d.id] if frames and d.id in frames else history_frames(d),
            write_s=pick(write_s, d),
            mean_step_s=pick(mean_step_s, d),
            early_step_s=pick(early_step_s, d),
            restarts=int(pick(restarts, d) or 0),
            restart_s=pick(restart_s, d),
        )
        for d in case.domains
    )
    return Sample(
        host,
        cores,
        (lay.nproc_x, lay.nproc_y),
        domains,
        wall_s,
        model=model,
        hours=model_hours(case),
        cpu_share=cpu_share,
        oversubscribed=oversubscribed,
    )


def fit(
    samples: Sequence[Sample],
    *,
    prior: CostModel = DEFAULT_MODEL,
    host: str | None = None,
    recent: int = 20,
) -> CostModel:
    """Calibrate c, w, r, growth and t_start on the most recent trusted samples (oldest first
    in `samples`; of `host`, if given).

    Robust medians of per-run values: growth from the runs that went past STORM_FULL_H (their
    mean step against their early one), c from the stepping time (root domains' mean step ×
    steps, since a parent's step time includes its nests) over G·W, w and r from the write
    times where given, t_start from what is left of the wall time. With no usable sample,
    `prior` is returned.
    """
    mine = [s for s in samples if (host is None or s.host == host) and untrusted(s) is None]
    chosen = mine[-recent:] if recent else []
    grown = [g for s in chosen if (g := sample_growth(s)) is not None]
    model = replace(prior, growth=max(0.0, median(grown))) if grown else prior
    cs = [c for s in chosen if (c := sample_c(s, model)) is not None]
    if not cs:
        return prior
    ws = [w for s in chosen for w in sample_ws(s)]
    model = replace(model, c=median(cs), w=median(ws) if ws else model.w, samples=len(cs))
    rs = [r for s in chosen for r in sample_restart_frames(s, model.w)]
    model = replace(model, restart_frames=median(rs)) if rs else model
    starts = [r for s in chosen if (r := _start_residual(s, model)) is not None]
    return replace(model, t_start=max(0.0, median(starts))) if starts else model


def _root_step(d: DomainSample) -> float:
    return d.mean_step_s if d.mean_step_s is not None else d.median_step_s


def sample_growth(sample: Sample) -> float | None:
    """The growth a run shows: its mean step over its early one, less 1, per unit of ramp."""
    if sample.hours is None or sample.hours[1] < STORM_FULL_H:
        return None
    root = next((d for d in sample.domains if d.parent_id == 0), None)
    if root is None or not root.early_step_s or root.mean_step_s is None:
        return None
    ramp = ramp_mean(*sample.hours)
    return (root.mean_step_s / root.early_step_s - 1.0) / ramp if ramp > 0 else None


def sample_c(sample: Sample, model: CostModel | float = DEFAULT_MODEL) -> float | None:
    """c implied by one run: stepping time × P × E / (G·W). (A bare float is k, with G = 1.)"""
    if not isinstance(model, CostModel):
        model = replace(DEFAULT_MODEL, k=model, growth=0.0)
    stepping = sum(d.steps * _root_step(d) for d in sample.domains if d.parent_id == 0)
    work_ = sum(d.points * d.steps for d in sample.domains)
    if stepping <= 0 or work_ <= 0 or sample.cores < 1:
        return None
    grown = growth_factor(model, sample.hours)
    return stepping * sample.cores * _sample_efficiency(sample, model.k) / (work_ * grown)


def sample_ws(sample: Sample) -> list[float]:
    """w implied by each domain's total history write time (seconds per point per frame)."""
    return [
        d.write_s / (d.points * d.frames)
        for d in sample.domains
        if d.write_s is not None and d.write_s > 0 and d.frames > 0 and d.points > 0
    ]


def sample_restart_frames(sample: Sample, w: float) -> list[float]:
    """r implied by each domain's restart writes: one restart write in history frames."""
    return [
        d.restart_s / (d.restarts * d.points * w)
        for d in sample.domains
        if d.restart_s and d.restarts > 0 and d.points > 0 and w > 0
    ]


def _sample_efficiency(sample: Sample, k: float) -> float:
    nx, ny = (max(n, 1) for n in sample.layout)
    a, b = min(((d.e_we // nx, d.e_sn // ny) for d in sample.domains), key=lambda p: p[0] * p[1])
    return efficiency(a, b, k)


def _start_residual(sample: Sample, model: CostModel) -> float | None:
    if sample.wall_s is None:
        return None
    stepping = sum(d.steps * _root_step(d) for d in sample.domains if d.parent_id == 0)
    return sample.wall_s - stepping - sum(_output_s(d, model) for d in sample.domains)


def _output_s(d: DomainSample, model: CostModel) -> float:
    """A domain's output seconds: as measured where the log had them, else as modelled; plus
    reading its input."""
    frame = model.w * d.points
    history = d.write_s if d.write_s is not None else frame * d.frames
    restarts = d.restart_s if d.restart_s is not None else frame * model.restart_frames * d.restarts
    return frame + history + restarts
