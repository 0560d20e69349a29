"""The metrics read from the store at each scrape: the store is the truth, so the numbers
survive a restart and need no hook in the code that launches or ends runs."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from localrun.runs import Run, State

DURATION_BUCKETS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 3 * 3600.0, 6 * 3600.0, 12 * 3600.0)
FAILED = frozenset({State.FAILED, State.TIMED_OUT, State.LOST})


@dataclass
class Snapshot:
    runs: list[Run] = field(default_factory=list)
    cores_total: int = 0
    cores_in_use: int = 0
    cores_free: int = 0
    store_bytes: int = 0
    adoptions: int = 0


def duration_buckets(durations: Iterable[float]) -> list[tuple[str, float]]:
    """Cumulative (le, count) pairs, +Inf last, as HistogramMetricFamily takes them."""
    values = sorted(durations)
    buckets = [(str(float(b)), float(sum(1 for v in values if v <= b))) for b in DURATION_BUCKETS]
    return [*buckets, ("+Inf", float(len(values)))]


class StoreCollector(Collector):
    """Yields the metrics of the snapshot it was last given."""

    def __init__(self) -> None:
        self.snapshot = Snapshot()

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot
        by_state = GaugeMetricFamily(
            "localrun_runs", "Runs in the store, by state and family.", labels=["state", "family"]
        )
        counted = Tally((r.state.value, r.family) for r in snap.runs)
        for (state, family), n in sorted(counted.items()):
            by_state.add_metric([state, family], n)
        yield by_state
        states = Tally(r.state for r in snap.runs)
        yield GaugeMetricFamily(
            "localrun_runs_queued", "Runs waiting for cores.", states[State.QUEUED]
        )
        live = states[State.RUNNING] + states[State.STARTING]
        yield GaugeMetricFamily("localrun_runs_running", "Runs starting or running.", live)
        yield GaugeMetricFamily("localrun_cores", "Cores the daemon hands out.", snap.cores_total)
        yield GaugeMetricFamily(
            "localrun_cores_in_use", "Cores held by live runs.", snap.cores_in_use
        )
        yield GaugeMetricFamily(
            "localrun_cores_free", "Cores free for the next run.", snap.cores_free
        )
        launches = CounterMetricFamily(
            "localrun_launches", "Runs launched, ever (counted from the store).", labels=["family"]
        )
        for family, n in sorted(Tally(r.family for r in snap.runs if r.started_at).items()):
            launches.add_metric([family], n)
        yield launches
        failures = CounterMetricFamily(
            "localrun_failures",
            "Runs that failed, timed out or were lost, by diagnosis code.",
            labels=["code"],
        )
        codes = Tally((r.error_code or "unknown") for r in snap.runs if r.state in FAILED)
        for code, n in sorted(codes.items()):
            failures.add_metric([code], n)
        yield failures
        yield CounterMetricFamily(
            "localrun_adoptions",
            "Live runs this daemon adopted at its start, left running by the one before.",
            snap.adoptions,
        )
        yield self._durations(snap.runs)
        yield GaugeMetricFamily(
            "localrun_store_bytes", "Size of the SQLite store with its journal.", snap.store_bytes
        )

    def _durations(self, found: list[Run]) -> HistogramMetricFamily:
        histogram = HistogramMetricFamily(
            "localrun_run_duration_seconds",
            "Wall-clock time of ended runs, from launch to end, by outcome.",
            labels=["outcome"],
        )
        ended: dict[str, list[float]] = {}
        for run in found:
            if run.terminal and run.started_at and run.ended_at:
                ended.setdefault(run.state.value, []).append(run.ended_at - run.started_at)
        for outcome, durations in sorted(ended.items()):
            histogram.add_metric([outcome], duration_buckets(durations), sum(durations))
        return histogram
