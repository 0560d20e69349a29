"""Time left of a live WRF run: the calibrated estimate and the observed steps, blended.

WRF's step time grows as a storm develops (WRF.md §9), so the recent median step alone predicts
10–18 % short early in a run. The steps still to come are predicted both ways, by the cost
model (which knows the growth still ahead) and by the recent steps (which know this run), and
the two are weighted by the fraction of model time done: the estimate early, the steps late.
An uncalibrated model (nothing learnt on this host) gets no weight once steps are seen. On top
come the output writes still due (history frames and restart files, at their observed cost
where the log shows some, else the model's), the start-up while no step is logged, and the
machine's oversubscription (the estimate is slowed by ranks/cores; observed steps already
are). The wall-clock limit caps it: the run ends there whatever it has left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from localrun.wrf.estimate import CostModel, restart_writes, stepping_time
from localrun.wrf.namelist import Case
from localrun.wrf.rsl import RslReader

ESTIMATE, BLEND, STEPS, WALLTIME = "estimate", "blend", "steps", "walltime"


@dataclass(frozen=True)
class Conditions:
    """What the supervisor knows about the run beyond its logs."""

    elapsed_s: float | None = None  # wall seconds since it started
    walltime_s: float | None = None  # its wall-clock limit
    slowdown: float = 1.0  # ranks running on the machine over its cores, when above 1


@dataclass(frozen=True)
class TimeLeft:
    seconds: float | None
    source: str  # ESTIMATE, BLEND, STEPS or WALLTIME


def time_left(
    case: Case,
    cores: int,
    model: CostModel,
    reader: RslReader,
    conditions: Conditions = Conditions(),
    *,
    calibrated: bool = True,
) -> TimeLeft:
    if reader.succeeded:
        return TimeLeft(0.0, STEPS)
    done = _fraction(case, reader)
    estimated = stepping_time(case, cores, model, done) * max(1.0, conditions.slowdown)
    observed = reader.remaining_s({d.id: (d.start, d.end) for d in case.domains})
    weight = 0.0 if observed is None else (done if calibrated else 1.0)
    steps = estimated if observed is None else weight * observed + (1.0 - weight) * estimated
    source = ESTIMATE if observed is None else STEPS if weight >= 1.0 else BLEND
    left = steps + writes_left(case, model, reader)
    if reader.steps(1) == 0 and conditions.elapsed_s is not None:
        left += max(0.0, model.t_start - conditions.elapsed_s)
    if conditions.walltime_s is not None and conditions.elapsed_s is not None:
        limit = max(0.0, conditions.walltime_s - conditions.elapsed_s)
        if limit < left:
            return TimeLeft(limit, WALLTIME)
    return TimeLeft(left, source)


def _fraction(case: Case, reader: RslReader) -> float:
    now = reader.model_time(1)
    total = case.run_seconds
    if now is None or total <= 0:
        return 0.0
    return min(1.0, max(0.0, (now - case.start).total_seconds() / total))


def writes_left(case: Case, model: CostModel, reader: RslReader) -> float:
    """Seconds of the history frames and restart files still to be written."""
    seconds = 0.0
    restarts = _restarts_left(case, reader.model_time(1))
    for d in case.domains:
        now = reader.model_time(d.id)
        log = reader.domains.get(d.id)
        frame = model.w * d.points
        history = log.writes.mean_s if log and log.writes.mean_s is not None else frame
        restart = log.restart_writes.mean_s if log else None
        frames = sum(1 for t in d.history_times if now is None or t > now)
        if now is None and log is not None:
            frames -= log.writes.count  # written at the start, before any step
        seconds += max(frames, 0) * history
        seconds += restarts * (restart if restart is not None else frame * model.restart_frames)
    return seconds


def _restarts_left(case: Case, now: datetime | None) -> int:
    total = restart_writes(case)
    if now is None or total == 0:
        return total
    interval = timedelta(minutes=case.restart_interval_min)
    return sum(1 for k in range(1, total + 1) if case.start + k * interval > now)
