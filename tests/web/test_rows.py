"""What the pages show of a run."""

from __future__ import annotations

from localrun.runs import Run, State
from localrun.web.rows import STATE_CLASSES, domains, duration, summary


def run(**fields: object) -> Run:
    values: dict[str, object] = {
        "id": "0123456789",
        "owner": "o",
        "family": "localrun",
        "name": "",
        "model": "wrf",
        "version": "4.7.1",
        "state": State.RUNNING,
        "walltime_s": 60,
        "created_at": 0.0,
    }
    return Run(**{**values, **fields})  # type: ignore[arg-type]


def test_durations_read_like_a_clock() -> None:
    assert [duration(s) for s in (None, -1, 0, 12.4, 65, 3600 * 3 + 120)] == [
        "",
        "",
        "0s",
        "12s",
        "1m 05s",
        "3h 02m",
    ]


def test_a_live_run_shows_progress_time_left_and_elapsed() -> None:
    progress = {"percent": 42.123, "remaining_s": 90, "domains": [{"domain": 1, "percent": 42}]}
    row = summary(run(started_at=100.0, progress=progress), now=160.0)
    assert row["percent"] == 42.1 and row["remaining"] == "1m 30s" and row["elapsed"] == "1m 00s"
    assert row["name"] == "01234567" and row["state_class"] == "live" and row["live"]
    assert domains(run(progress=progress))[0]["percent"] == 42.0


def test_an_ended_run_has_no_time_left_and_every_state_a_colour() -> None:
    row = summary(
        run(state=State.FAILED, started_at=0.0, ended_at=30.0, progress={"remaining_s": 5}),
        now=1000.0,
    )
    assert row["remaining"] == "" and row["elapsed"] == "30s" and row["state_class"] == "bad"
    assert set(STATE_CLASSES) == set(State)
    assert domains(run(progress={"domains": ["junk", {"domain": 2}]})) == [
        {"domain": 2, "percent": 0.0, "model_time": "", "steps": 0}
    ]
