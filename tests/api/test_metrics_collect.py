"""The store's numbers as Prometheus metrics, from a snapshot."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from localrun.api.metrics.collect import Snapshot, StoreCollector, duration_buckets
from localrun.runs import Run, State


def run(state: State, family: str = "localrun", **fields: object) -> Run:
    return Run(
        id=f"r{id(fields)}",
        owner="o",
        family=family,
        name="n",
        model="wrf",
        version="v",
        state=state,
        walltime_s=60,
        created_at=0.0,
        **fields,  # type: ignore[arg-type]
    )


def test_buckets_are_cumulative_and_end_at_inf() -> None:
    buckets = duration_buckets([30.0, 100.0, 5000.0])
    assert buckets[0] == ("60.0", 1.0)
    assert buckets[1] == ("300.0", 2.0)
    assert buckets[-1] == ("+Inf", 3.0)
    assert [c for _, c in buckets] == sorted(c for _, c in buckets)


def test_a_snapshot_renders_and_parses() -> None:
    collector = StoreCollector()
    registry = CollectorRegistry()
    registry.register(collector)
    collector.snapshot = Snapshot(
        runs=[
            run(State.QUEUED),
            run(State.RUNNING, "other", started_at=1.0),
            run(State.SUCCEEDED, started_at=10.0, ended_at=70.0),
            run(State.FAILED, started_at=10.0, ended_at=20.0, error_code="cfl"),
            run(State.LOST, started_at=10.0, ended_at=20.0),
        ],
        cores_total=8,
        cores_in_use=2,
        cores_free=6,
        store_bytes=4096,
    )
    text = generate_latest(registry).decode()
    found = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }
    assert found[("localrun_runs", (("family", "localrun"), ("state", "queued")))] == 1
    assert found[("localrun_runs", (("family", "other"), ("state", "running")))] == 1
    assert found[("localrun_runs_queued", ())] == 1
    assert found[("localrun_runs_running", ())] == 1
    assert found[("localrun_cores_free", ())] == 6
    assert found[("localrun_launches_total", (("family", "localrun"),))] == 3
    assert found[("localrun_failures_total", (("code", "cfl"),))] == 1
    assert found[("localrun_failures_total", (("code", "unknown"),))] == 1
    key = ("localrun_run_duration_seconds_bucket", (("le", "60.0"), ("outcome", "succeeded")))
    assert found[key] == 1
    assert found[("localrun_run_duration_seconds_sum", (("outcome", "succeeded"),))] == 60
    assert found[("localrun_store_bytes", ())] == 4096
