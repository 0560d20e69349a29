"""What the supervisor asks of a live WRF run: progress, time left, step times, outcome."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from localrun.runs import State, StopReason
from localrun.wrf import diagnose as diagnosis
from localrun.wrf.estimate import (
    DEFAULT_MODEL,
    MIN_EARLY_STEPS,
    REAL,
    SIMULATOR,
    STORM_FROM_H,
    CostModel,
    estimate_time,
    make_sample,
    model_hours,
    simulator_model,
)
from localrun.wrf.namelist import Case, NamelistError, read_case
from localrun.wrf.rsl import RslReader, progress_json
from localrun.wrf.sim.namelist import KnobError, read_knobs
from localrun.wrf.time_left import Conditions, time_left


@dataclass(frozen=True)
class Outcome:
    state: State
    code: str
    message: str
    hint: str | None
    warning: str | None = None  # a succeeded run's: e.g. WRF's CFL warnings

    @property
    def summary(self) -> str:
        if self.state == State.SUCCEEDED:
            if self.warning:
                return f"succeeded, with a warning: {self.warning} (hint: {self.hint})"
            return "succeeded"
        text = self.state if self.code == self.state else f"{self.state} ({self.code})"
        first = self.message.splitlines()[0] if self.message else ""
        return f"{text}: {first}" if first else text


class Monitor:
    def __init__(
        self,
        work_dir: Path,
        input_dir: Path,
        cores: int,
        model: CostModel = DEFAULT_MODEL,
        shell: bool = False,
        simulator_speed: float | None = None,
    ) -> None:
        """shell: the run is a command line that may not run WRF at all; when it leaves no
        rsl files, its exit code alone decides. simulator_speed: the run is the built-in
        simulator at that speed (its namelist may set another), whose cost model is its own."""
        self.work_dir = work_dir
        self.shell = shell
        self.cores = cores
        self.case = _case(input_dir / "namelist.input")
        self.reader = RslReader(work_dir)
        self.simulator = simulator_speed is not None
        if simulator_speed is not None and self.case is not None:
            model = _simulator_model(self.case, simulator_speed)
        self.model = model
        self.estimated_s = estimate_time(self.case, cores, model) if self.case else None

    def _bounds(self) -> dict[int, tuple[datetime, datetime]]:
        if self.case is None:
            return {}
        return {d.id: (d.start, d.end) for d in self.case.domains}

    def poll(self) -> bool:
        """Read what WRF wrote since the last poll; True when a new step was logged."""
        return self.reader.poll() > 0

    def median_step_s(self) -> float | None:
        return self.reader.median_step(1)

    def snapshot(
        self, conditions: Conditions | None = None, ended: State | None = None
    ) -> dict[str, Any]:
        """Progress and time left (see localrun.wrf.time_left); `ended`: the run's terminal
        state, for which nothing is left (0 for a success, null otherwise)."""
        progress = self.reader.progress(self._bounds())
        remaining: float | None = None
        source = "ended" if ended is not None else "estimate"
        if ended == State.SUCCEEDED:
            remaining = 0.0
        elif ended is None and self.case is not None:
            calibrated = self.simulator or self.model.samples > 0
            left = time_left(
                self.case,
                self.cores,
                self.model,
                self.reader,
                conditions or Conditions(),
                calibrated=calibrated,
            )
            remaining, source = left.seconds, left.source
        return {
            **progress_json(progress),
            "remaining_s": None if remaining is None else round(remaining, 1),
            "remaining_from": source,
            "steps": self.reader.steps(1),
        }

    def outcome(
        self, exit_code: int | None, mpirun_stdout: str | None, stop_reason: StopReason | None
    ) -> Outcome:
        stop_requested = stop_reason is not None
        if self.shell and not diagnosis.rank_files(self.work_dir):
            found = diagnosis.command_outcome(exit_code, stop_requested)
        else:
            found = diagnosis.diagnose(
                self.work_dir,
                exit_code=exit_code,
                mpirun_stdout=mpirun_stdout,
                stop_requested=stop_requested,
            )
        if found.state == State.SUCCEEDED or stop_reason in (None, StopReason.USER):
            return Outcome(found.state, found.code, found.message, found.hint, found.warning)
        if stop_reason == StopReason.TIMED_OUT:
            return Outcome(State.TIMED_OUT, "timed_out", "the wall-clock limit was reached", None)
        if stop_reason == StopReason.DISK:
            return Outcome(
                State.FAILED,
                "disk_limit",
                "the run's folder grew past the run_disk_bytes setting; the run was stopped",
                "write less (history_interval, frames_per_outfile, fewer fields), or raise "
                "run_disk_bytes",
            )
        return Outcome(
            State.FAILED,
            "stalled",
            "no new time step and no CPU use for too long; the run was killed",
            "look at the end of rsl.error.* for a crash that left the run hanging",
        )

    def calibration_sample(
        self,
        host: str,
        wall_s: float | None,
        *,
        cpu_share: float | None = None,
        oversubscribed: bool = False,
    ) -> dict[str, Any] | None:
        """What this finished run teaches the estimator about this host. Write times are each
        domain's totals (DomainSample.write_s), over the writes counted."""
        if self.case is None:
            return None
        stats = {d.id: self.reader.step_stats(d.id) for d in self.case.domains}
        if any(v is None for v in stats.values()):
            return None
        logs = self.reader.domains
        sample = make_sample(
            self.case,
            host=host,
            cores=self.cores,
            median_step_s={k: v.median_s for k, v in stats.items() if v},
            mean_step_s={k: v.mean_s for k, v in stats.items() if v},
            early_step_s=self._early_steps(),
            wall_s=wall_s,
            steps={d.id: self.reader.steps(d.id) for d in self.case.domains},
            frames={k: log.writes.count for k, log in logs.items()},
            write_s={k: log.writes.total_s for k, log in logs.items() if log.writes.count},
            restarts={k: log.restart_writes.count for k, log in logs.items()},
            restart_s={
                k: log.restart_writes.total_s for k, log in logs.items() if log.restart_writes.count
            },
            model=SIMULATOR if self.simulator else REAL,
            cpu_share=cpu_share,
            oversubscribed=oversubscribed,
        )
        return asdict(sample)

    def _early_steps(self) -> dict[int, float]:
        """Domain 1's median step before STORM_FROM_H (its first step, the set-up, left out)."""
        assert self.case is not None
        root, log = self.case.domains[0], self.reader.domains.get(1)
        start_h = model_hours(self.case)[0]
        if log is None or self.case.adaptive or root.time_step <= 0:
            return {}
        count = int((STORM_FROM_H - start_h) * 3600 / root.time_step + 1e-6)
        early = list(log.all_s)[1:count]
        return {1: statistics.median(early)} if len(early) >= MIN_EARLY_STEPS else {}


def _simulator_model(case: Case, speed: float) -> CostModel:
    try:
        knobs = read_knobs(case.raw, {"LOCALRUN_SIM_SPEED": str(speed)})
    except KnobError:  # the simulator refuses such a namelist anyway
        return simulator_model(1.0, speed)
    return simulator_model(knobs.cost_us, knobs.speed)


def _case(path: Path) -> Case | None:
    try:
        return read_case(path)
    except (OSError, NamelistError, UnicodeDecodeError):
        return None
