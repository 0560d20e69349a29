"""What the supervisor asks of a live WRF run: progress, time left, step times, outcome."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from localrun.runs import State, StopReason
from localrun.wrf import diagnose as diagnosis
from localrun.wrf.estimate import DEFAULT_MODEL, CostModel, estimate_time, make_sample
from localrun.wrf.namelist import Case, NamelistError, read_case
from localrun.wrf.rsl import RslReader, progress_json


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
    ) -> None:
        """shell: the run is a command line that may not run WRF at all; when it leaves no
        rsl files, its exit code alone decides."""
        self.work_dir = work_dir
        self.shell = shell
        self.cores = cores
        self.case = _case(input_dir / "namelist.input")
        self.reader = RslReader(work_dir)
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

    def snapshot(self) -> dict[str, Any]:
        progress = self.reader.progress(self._bounds())
        remaining = progress.remaining_s
        if remaining is None and self.estimated_s is not None:
            remaining = self.estimated_s * (1 - progress.percent / 100)
        return {
            **progress_json(progress),
            "remaining_s": None if remaining is None else round(remaining, 1),
            "remaining_from": "steps" if progress.remaining_s is not None else "estimate",
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
        return Outcome(
            State.FAILED,
            "stalled",
            "no new time step and no CPU use for too long; the run was killed",
            "look at the end of rsl.error.* for a crash that left the run hanging",
        )

    def calibration_sample(self, host: str, wall_s: float | None) -> dict[str, Any] | None:
        """What this finished run teaches the estimator about this host."""
        if self.case is None:
            return None
        stats = {d.id: self.reader.step_stats(d.id) for d in self.case.domains}
        medians = {k: v.median_s for k, v in stats.items() if v is not None}
        if len(medians) < len(stats):
            return None
        sample = make_sample(
            self.case,
            host=host,
            cores=self.cores,
            median_step_s=medians,
            wall_s=wall_s,
            steps={d.id: self.reader.steps(d.id) for d in self.case.domains},
            frames={k: log.writes.count for k, log in self.reader.domains.items()},
            write_s={
                k: log.writes.mean_s
                for k, log in self.reader.domains.items()
                if log.writes.mean_s is not None
            },
        )
        return asdict(sample)


def _case(path: Path) -> Case | None:
    try:
        return read_case(path)
    except (OSError, NamelistError, UnicodeDecodeError):
        return None
