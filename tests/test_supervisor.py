"""Watchdogs and failure paths of the supervisor, with real runs of the simulator."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from localrun.api.keys import SERVICE
from localrun.app import init_app
from localrun.runs import Run
from localrun.service import Service
from localrun.supervisor import Watch
from localrun.wrf.estimate import Sample, untrusted
from localrun.wrf.monitor import Monitor
from tests.conftest import EXAMPLE, make_settings
from tests.polling import eventually


async def inputs(
    service: Service, owner: str, run_id: str, minutes: int = 30, extra: str = ""
) -> None:
    async def data(blob: bytes) -> Any:
        yield blob

    text = (EXAMPLE / "namelist.input").read_text().replace("= 30,", f"= {minutes},")
    await service.upload_input(owner, run_id, "namelist.input", data((text + extra).encode()))
    blob = (EXAMPLE / "wrfinput_d01").read_bytes()
    await service.upload_input(owner, run_id, "wrfinput_d01", data(blob))


async def until_terminal(service: Service, owner: str, run_id: str, limit_s: float = 90) -> Run:
    run = await service.wait_terminal(owner, run_id, limit_s)
    assert run.terminal, run
    return run


async def start_service(aiohttp_client: Any, tmp_path: Path, **overrides: Any) -> Service:
    client: TestClient[Any, Any] = await aiohttp_client(
        init_app(make_settings(tmp_path / "data", **overrides))
    )
    found: Service = client.app[SERVICE]
    return found


async def test_stall_watchdog_kills_a_hung_run(aiohttp_client: Any, tmp_path: Path) -> None:
    service = await start_service(aiohttp_client, tmp_path, stall_floor_s=2.0)
    run = await service.create_run("a", "localrun")
    await inputs(service, "a", run.id, extra="&localrun_simulator\n hang_at_percent = 30\n/\n")
    await service.start("a", run.id, cores=2)
    run = await until_terminal(service, "a", run.id)
    assert (run.state, run.error_code) == ("failed", "stalled")
    assert 25 <= run.percent <= 35
    events = [e.message for e in await service.events("a", run.id)]
    assert any("no progress" in m for m in events)


async def test_a_command_that_writes_is_not_stalled_one_that_is_silent_is(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    service = await start_service(aiohttp_client, tmp_path, stall_floor_s=1.5, single_user=True)
    chatty = "for i in 1 2 3 4 5; do echo $i; sleep 1; done"  # no CPU, no WRF step, but output
    talks = await service.create_run("a", "localrun", kind="shell", command=chatty)
    await service.start("a", talks.id)
    silent = await service.create_run("a", "localrun", kind="shell", command="sleep 30")
    await service.start("a", silent.id)
    talks = await until_terminal(service, "a", talks.id)
    assert (talks.state, talks.exit_code) == ("succeeded", 0)
    assert talks.usage is not None  # the last sample of the live run is kept
    silent = await until_terminal(service, "a", silent.id)
    assert (silent.state, silent.error_code) == ("failed", "stalled")


async def test_a_run_past_its_disk_limit_is_stopped(aiohttp_client: Any, tmp_path: Path) -> None:
    service = await start_service(
        aiohttp_client, tmp_path, run_disk_bytes=1 << 20, single_user=True
    )
    filler = "head -c 3000000 /dev/urandom > big; sleep 60"
    run = await service.create_run("a", "localrun", kind="shell", command=filler)
    await service.start("a", run.id)
    run = await until_terminal(service, "a", run.id, limit_s=60)
    assert (run.state, run.error_code) == ("failed", "disk_limit")
    assert "run_disk_bytes" in (run.error_hint or "")
    small = await service.create_run("a", "localrun", kind="shell", command="echo ok > small")
    await service.start("a", small.id)
    assert (await until_terminal(service, "a", small.id)).state == "succeeded"


async def test_wall_clock_limit_times_out(aiohttp_client: Any, tmp_path: Path) -> None:
    service = await start_service(aiohttp_client, tmp_path, sim_speed=1.0)
    run = await service.create_run("a", "localrun", walltime_s=2)
    await inputs(service, "a", run.id, minutes=120)
    await service.start("a", run.id, cores=2)
    run = await until_terminal(service, "a", run.id)
    assert (run.state, run.error_code) == ("timed_out", "timed_out")


async def test_a_launcher_that_cannot_start_fails_the_run(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    service = await start_service(aiohttp_client, tmp_path, mpirun=str(tmp_path / "no-mpirun"))
    run = await service.create_run("a", "localrun")
    await inputs(service, "a", run.id)
    await service.start("a", run.id, cores=1)
    run = await until_terminal(service, "a", run.id, 10)
    assert run.state == "failed"
    assert run.error_code == "launch" and "no-mpirun" in (run.error_message or "")


async def test_injected_failure_is_diagnosed(aiohttp_client: Any, tmp_path: Path) -> None:
    service = await start_service(aiohttp_client, tmp_path)
    run = await service.create_run("a", "localrun")
    await inputs(service, "a", run.id, extra="&localrun_simulator\n fail_at_percent = 50\n/\n")
    await service.start("a", run.id, cores=2)
    run = await until_terminal(service, "a", run.id)
    assert run.state == "failed"
    assert "fail_at_percent" in (run.error_message or "")


async def test_queue_is_first_come_first_served(aiohttp_client: Any, tmp_path: Path) -> None:
    service = await start_service(aiohttp_client, tmp_path)
    ids = []
    for cores in (2, 1, 1):
        run = await service.create_run("a", "localrun")
        await inputs(service, "a", run.id, minutes=10)
        await service.start("a", run.id, cores=cores)
        ids.append(run.id)
    states = [(await service.get_run("a", i)).state for i in ids]
    assert states[1:] == ["queued", "queued"]
    finished = [await until_terminal(service, "a", i) for i in ids]
    assert [r.state for r in finished] == ["succeeded"] * 3
    assert finished[1].started_at >= finished[0].ended_at  # type: ignore[operator]
    assert abs(finished[1].started_at - finished[2].started_at) < 2  # type: ignore[operator]


async def test_a_start_launches_without_waiting_for_the_tick(
    aiohttp_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tick watches every live run before it looks at the queue; a start does not wait for
    it: here the tick is held inside a watch until the started run is running."""
    service = await start_service(aiohttp_client, tmp_path, poll_interval_s=0.05)
    supervisor = service.supervisor
    release, entered = asyncio.Event(), asyncio.Event()
    watch = supervisor._watch

    async def held_watch(found: Watch, slowdown: float = 1.0) -> None:
        if found.run_id != "held":
            await watch(found, slowdown)
            return
        entered.set()
        await release.wait()

    monkeypatch.setattr(supervisor, "_watch", held_watch)
    supervisor._watches["held"] = Watch("held", "0:0.0", None, 0.0, 60, 0.0)
    try:
        await asyncio.wait_for(entered.wait(), 30)
        run = await service.create_run("a", "localrun")
        await inputs(service, "a", run.id, minutes=10)
        await service.start("a", run.id, cores=1)
        running = await eventually(
            lambda: _state_is(service, run.id, "running"), timeout=30, interval=0.02
        )
        assert running and not release.is_set()
    finally:
        supervisor._watches.pop("held", None)
        release.set()
    await service.stop("a", run.id)
    assert (await until_terminal(service, "a", run.id)).state in ("cancelled", "succeeded")


async def test_a_run_s_monitor_is_built_at_its_first_watch_not_at_launch(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    service = await start_service(aiohttp_client, tmp_path, poll_interval_s=60)
    run = await service.create_run("a", "localrun")
    await inputs(service, "a", run.id, minutes=10)
    await service.start("a", run.id, cores=1)
    await eventually(lambda: _state_is(service, run.id, "running"), timeout=30, interval=0.02)
    watch = service.supervisor._watches[run.id]
    assert watch.monitor is None  # no tick since the launch: the loop waits 60 s
    service.supervisor.kick()
    built = await eventually(lambda: watch_monitor(service, run.id), timeout=30, interval=0.02)
    assert built.estimated_s
    await service.stop("a", run.id)
    assert (await until_terminal(service, "a", run.id)).state in ("cancelled", "succeeded")


async def test_a_run_s_end_is_recorded_at_once_without_watching_the_other_runs(
    aiohttp_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop waits 60 s between ticks, and another live run's watch would hang: the end
    comes from the run's own exit, watched alone."""
    service = await start_service(aiohttp_client, tmp_path, poll_interval_s=60, sim_speed=50)
    supervisor = service.supervisor
    entered = asyncio.Event()
    watch = supervisor._watch

    async def held_watch(found: Watch, slowdown: float = 1.0) -> None:
        if found.run_id == "held":
            entered.set()
            await asyncio.Event().wait()
        await watch(found, slowdown)

    monkeypatch.setattr(supervisor, "_watch", held_watch)
    supervisor._watches["held"] = Watch("held", "0:0.0", None, 0.0, 60, 0.0)
    try:
        run = await service.create_run("a", "localrun")
        await inputs(service, "a", run.id, minutes=2)
        await service.start("a", run.id, cores=1)
        ended = await until_terminal(service, "a", run.id, limit_s=45)
        assert ended.state == "succeeded", ended
        assert not entered.is_set()
    finally:
        supervisor._watches.pop("held", None)


async def test_close_ends_the_loop_even_right_after_a_kick(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    """On Python 3.11, wait_for returned the wake event's result when a kick set it as
    close() cancelled, and the loop went on: the daemon's shutdown hung."""
    service = await start_service(aiohttp_client, tmp_path, poll_interval_s=60)
    for _ in range(20):
        await asyncio.sleep(0)
        service.supervisor.kick()
        await asyncio.sleep(0)
    service.supervisor.kick()
    await asyncio.wait_for(service.supervisor.close(), 10)
    assert service.supervisor._task is not None and service.supervisor._task.done()


async def test_progress_is_read_as_the_log_grows_not_at_the_next_tick(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    service = await start_service(aiohttp_client, tmp_path, poll_interval_s=60, sim_speed=2)
    run = await service.create_run("a", "localrun")
    await inputs(service, "a", run.id, minutes=20)
    await service.start("a", run.id, cores=1)
    await eventually(lambda: _state_is(service, run.id, "running"), timeout=30, interval=0.02)
    service.supervisor.kick()  # the first tick builds the run's monitor; the next is 60 s off
    await eventually(lambda: watch_monitor(service, run.id), timeout=30, interval=0.02)
    first = await eventually(lambda: _percent_over(service, run.id, 0.0), timeout=30)
    later = await eventually(lambda: _percent_over(service, run.id, first), timeout=30)
    assert later > first
    await service.stop("a", run.id)
    assert (await until_terminal(service, "a", run.id)).state in ("cancelled", "succeeded")


async def _percent_over(service: Service, run_id: str, floor: float) -> float | None:
    percent = (await service.get_run("a", run_id)).percent
    return percent if percent > floor else None


def watch_monitor(service: Service, run_id: str) -> Monitor | None:
    return service.supervisor._watches[run_id].monitor


async def _state_is(service: Service, run_id: str, state: str) -> bool:
    return (await service.get_run("a", run_id)).state == state


async def samples_of(service: Service) -> list[dict[str, Any]]:
    """The host's calibration samples, once the supervisor has stored the run's (it does so
    after the run's terminal state is written, which a reader may see first)."""
    for _ in range(200):
        found = await service.store.samples(service.supervisor.host)
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("no calibration sample stored within 10 s")


async def test_a_simulator_run_is_sampled_but_does_not_calibrate(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    service = await start_service(aiohttp_client, tmp_path)
    before = service.supervisor.cost_model
    run = await service.create_run("a", "localrun", version="sim")
    await inputs(service, "a", run.id, minutes=10)
    await service.start("a", run.id, cores=2)
    assert (await until_terminal(service, "a", run.id)).state == "succeeded"
    stored = await samples_of(service)
    assert len(stored) == 1 and stored[0]["model"] == "simulator"
    await service.supervisor.recalibrate()
    assert service.supervisor.cost_model == before


async def test_a_configured_real_model_calibrates_the_estimator(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    import shutil

    from localrun.executor.prepare import simulator_executable

    wrf = tmp_path / "wrf.exe"  # a configured model, so to localrun a real one
    shutil.copy(simulator_executable(), wrf)
    service = await start_service(aiohttp_client, tmp_path, models=f"wrf:4.7.1={wrf}")
    before = service.supervisor.cost_model
    run = await service.create_run("a", "localrun")
    await inputs(service, "a", run.id, minutes=10)
    await service.start("a", run.id, cores=1)
    ended = await until_terminal(service, "a", run.id)
    assert ended.state == "succeeded", ended
    stored = await samples_of(service)
    assert len(stored) == 1 and stored[0]["model"] == "real"
    await service.supervisor.recalibrate()
    sample = Sample.from_dict(stored[0])
    assert sample.cpu_share is not None and not sample.oversubscribed
    # The stand-in sleeps where WRF's ranks busy-wait, so it may count as starved of CPU.
    trusted = untrusted(sample) is None
    assert service.supervisor.cost_model.samples == (1 if trusted else 0)
    # Given the same sample with the CPU a real run has, it calibrates.
    busy = dataclasses.replace(sample, cpu_share=1.0)
    await service.store.add_sample(run.id, service.supervisor.host, dataclasses.asdict(busy))
    await service.supervisor.recalibrate()
    assert service.supervisor.cost_model.samples >= 1
    assert service.supervisor.cost_model != before


def test_the_launcher_log_is_read_from_its_tail_only(tmp_path: Path) -> None:
    from localrun.supervisor import read_tail

    log = tmp_path / "mpirun.stdout"
    with log.open("wb") as handle:
        handle.truncate(1 << 30)  # 1 GiB, sparse
        handle.seek(0, 2)
        handle.write(b"BAD TERMINATION OF ONE OF YOUR APPLICATION PROCESSES\n")
    text = read_tail(log, 4096)
    assert text is not None and len(text) == 4096
    assert text.endswith("BAD TERMINATION OF ONE OF YOUR APPLICATION PROCESSES\n")
    assert read_tail(tmp_path / "absent", 10) is None
