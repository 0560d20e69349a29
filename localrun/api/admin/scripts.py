"""What a scripted run is launched with: the simulator's own knobs and failure modes, so that
its logs and localrun's diagnosis are those of a real failure.

* succeed: nothing changes (any knob a script would set is left unset);
* cfl at X %: the run's namelist.input in work/ gets a fixed time_step large enough for WRF's
  CFL blow-up (time_step/(6 dx[km]) >= 2; the simulator aborts at d01's 5th step below 2.75,
  segfaults at the 1st from 2.75), chosen so that the blow-up comes at X % of the run;
* namelist: an unknown variable in &domains (WRF's "ERROR reading namelist domains");
* fail at X %: the simulator's fail_at_percent (a FATAL CALLED FROM FILE);
* hang at X %: the simulator's hang_at_percent (no more output; the stall watchdog ends it);
* killed at X %: a hang at X %, then every process of the run gets SIGKILL (as the kernel's
  out-of-memory killer or a node failure does): no outcome in the logs, an exit by signal 9;
* lost at X %: a hang at X % until the daemon stops; its processes are then killed after the
  supervisor has let go, so that the next start finds them gone with no outcome: lost.

The speed (a factor, or "instant") goes to the simulator as LOCALRUN_SIM_SPEED.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import f90nml

from localrun.wrf.namelist import read_case

OUTCOMES = ("succeed", "cfl", "namelist", "fail", "hang", "killed", "lost")
KILLED = ("killed", "lost")  # a hang the controls end by killing the run's processes
INSTANT = 1e6  # the simulator's speed factor for "instant": a step costs nothing
STABLE, SLOW_BLOWUP, SLOW_STEPS = 2.0, 2.75, 5  # localrun/wrf/sim/run.py's blow-up rule
UNKNOWN_VARIABLE = "localrun_scripted_error"


class ScriptError(ValueError):
    pass


@dataclass(frozen=True)
class Script:
    outcome: str = "succeed"
    at_percent: float = 50.0
    speed: float | None = None  # None = the daemon's sim_speed

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Script:
        outcome = str(body.get("outcome", "succeed"))
        if outcome not in OUTCOMES:
            raise ScriptError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
        try:
            at = float(body.get("at_percent", 50.0))
        except (TypeError, ValueError):
            raise ScriptError("at_percent must be a number") from None
        if not 0.0 < at < 100.0:
            raise ScriptError("at_percent must be between 0 and 100")
        return cls(outcome, at, speed_of(body.get("speed")))

    def to_json(self) -> dict[str, Any]:
        speed: Any = "instant" if self.speed == INSTANT else self.speed
        return {"outcome": self.outcome, "at_percent": self.at_percent, "speed": speed}

    def env(self) -> dict[str, str]:
        env: dict[str, str] = {}
        if self.speed is not None:
            env["LOCALRUN_SIM_SPEED"] = f"{self.speed:g}"
        if self.outcome == "fail":
            env["LOCALRUN_SIM_FAIL_AT"] = f"{self.at_percent:g}"
        if self.outcome in ("hang", *KILLED):
            env["LOCALRUN_SIM_HANG_AT"] = f"{self.at_percent:g}"
        return env

    def apply(self, work_dir: Path) -> None:
        """Rewrite work/namelist.input (a link to the input) for cfl and namelist outcomes."""
        if self.outcome not in ("cfl", "namelist"):
            return
        path = work_dir / "namelist.input"
        if not path.exists():
            return  # the run fails as WRF does without it
        text = path.read_text()
        text = cfl_namelist(text, self.at_percent) if self.outcome == "cfl" else broken(text)
        path.unlink()
        path.write_text(text)


def speed_of(raw: Any) -> float | None:
    if raw is None:
        return None
    if raw == "instant":
        return INSTANT
    try:
        speed = float(raw)
    except (TypeError, ValueError):
        raise ScriptError(f"speed must be a positive number or 'instant', not {raw!r}") from None
    if speed <= 0:
        raise ScriptError("speed must be positive")
    return speed


def cfl_time_step(run_seconds: float, dx_m: float, at_percent: float) -> int:
    """A fixed time_step that blows up at about at_percent of the run."""
    per_km = 6.0 * dx_m / 1000.0
    target = at_percent / 100.0 * run_seconds
    slow = round(target / SLOW_STEPS)  # SIGABRT after SLOW_STEPS steps
    if STABLE * per_km <= slow < SLOW_BLOWUP * per_km:
        return slow
    return max(round(target), int(SLOW_BLOWUP * per_km) + 1)  # SIGSEGV at the first step


def cfl_namelist(text: str, at_percent: float) -> str:
    case = read_case(text)
    d01 = case.domains[0]
    step = cfl_time_step(case.run_seconds, d01.dx, at_percent)
    groups = f90nml.reads(text)
    domains = groups["domains"]
    domains["time_step"] = step
    domains["time_step_fract_num"] = 0
    domains["time_step_fract_den"] = 1
    domains["use_adaptive_time_step"] = False
    return str(groups) + "\n"


def broken(text: str) -> str:
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip().lower().startswith("&domains"):
            lines.insert(i + 1, f" {UNKNOWN_VARIABLE} = 1,")
            return "\n".join(lines) + "\n"
    raise ScriptError("namelist.input has no &domains group")
