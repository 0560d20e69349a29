"""The loop that launches queued runs and watches live ones until each ends, exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from localrun import files, run_record, runs
from localrun.config import Settings
from localrun.errors import NoSpace
from localrun.executor import Executor, Exited, LaunchRequest, Queued
from localrun.executor.prepare import model_executable, simulator_executable
from localrun.files import run_paths
from localrun.log_wakeup import LogWakeup
from localrun.runs import Run, State, StopReason
from localrun.store import Store
from localrun.wrf.estimate import DEFAULT_MODEL, CostModel, Sample, fit
from localrun.wrf.monitor import Monitor, Outcome
from localrun.wrf.time_left import Conditions

log = logging.getLogger("localrun.supervisor")

STALL_CPU_PERCENT = 5.0
DISK_CHECK_S = 5.0
EXIT_RETRIES_S = 5.0  # how long an exit is watched again while its leftovers are killed
LOG_READ_GAP_S = 0.02  # after a log wake-up, before the read
LAUNCHER_TAIL_BYTES = 65536  # of mpirun's stdout, where its rank-failure banner is


@dataclass
class Watch:
    run_id: str
    ref: str
    monitor: Monitor | None  # None until the run's first watch builds it (see _watch_run)
    started: float
    walltime_s: int
    last_activity: float
    stop_task: asyncio.Task[None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    cpu_shares: list[float] = field(default_factory=list)  # of its cores, per sample
    output_bytes: int = 0  # of a command's stdout and stderr, last seen
    disk_checked: float = 0.0  # when the run's folder was last measured (monotonic)
    oversubscribed: bool = False  # more ranks than cores on the machine at some time
    run: Run | None = None  # the record the monitor is built from
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    reading: bool = False  # a read of its progress, woken by its log, is on its way
    slowdown: float = 1.0  # the machine's oversubscription at the last tick
    progress: dict[str, Any] | None = None  # as last read from its logs


class Supervisor:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        executor: Executor,
        prepare: Callable[[Settings, Run], LaunchRequest],
    ) -> None:
        self.settings = settings
        self.store = store
        self.executor = executor
        self.prepare = prepare
        self.host = socket.gethostname()
        self._watches: dict[str, Watch] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._logs = LogWakeup(self._log_grew)
        self.cost_model: CostModel = DEFAULT_MODEL
        self.ended: list[Callable[[Run], Awaitable[None]]] = []  # called once per run that ends
        self.started: list[Callable[[], Awaitable[None]]] = []  # called after adoption at start
        self.held: set[str] = set()  # queued runs the scheduler passes over until released
        self._scheduling = asyncio.Lock()  # one pass over the queue at a time

    # lifecycle

    async def start(self) -> None:
        await self.recalibrate()
        await self.adopt_all()
        for listener in self.started:
            try:
                await listener()
            except Exception:
                log.exception("what follows the supervisor's start failed")
        self._task = asyncio.create_task(self._loop(), name="localrun-supervisor")

    async def close(self) -> None:
        """Stop watching; the runs themselves keep running and are adopted at the next start."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for watch in self._watches.values():
            if watch.stop_task is not None:
                watch.stop_task.cancel()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        self._logs.close()

    async def recalibrate(self) -> None:
        """Refit the cost model on this host's recent finished runs (fit keeps the trusted)."""
        newest_first = await self.store.samples(self.host)
        samples = [Sample.from_dict(d) for d in reversed(newest_first)]
        self.cost_model = fit(samples, host=self.host)

    def unwatch(self, run_id: str) -> None:
        """Stop watching a run whose record is going away (its processes are stopped apart)."""
        self._watches.pop(run_id, None)
        self._logs.unwatch(run_id)

    def kick(self) -> None:
        self._wake.set()

    def launch_queued(self) -> None:
        """Start what the queue lets start now, without waiting for the loop: a tick first
        watches every live run (a poll and a sample each) before it looks at the queue."""
        if self._task is None or self._task.done():  # not started, or closed
            self.kick()
            return
        task = asyncio.create_task(self._schedule_now(), name="localrun-launch")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _schedule_now(self) -> None:
        try:
            async with self._scheduling:
                await self._schedule()
        except NoSpace:
            self.kick()  # the loop reports a full disk, once, and tries again
        except Exception:
            log.exception("launching queued runs failed")
            self.kick()

    @property
    def cores_in_use(self) -> int:
        return sum(w.extra.get("cores", 0) for w in self._watches.values())

    async def _loop(self) -> None:
        disk_full = False
        while True:
            self._wake.clear()  # a kick during the tick brings the next one forward
            try:
                await self.store.keep_reserve()
                await self.tick()
                disk_full = False
            except NoSpace as exc:
                if not disk_full:  # once, not at every tick
                    log.error("supervisor: %s; runs are watched, their records wait", exc)
                disk_full = True
            except Exception:
                log.exception("supervisor tick failed")
            # asyncio.timeout, not wait_for: on 3.11 wait_for returns the wait's result when
            # a kick sets the event as close() cancels, and the loop swallowed its cancellation
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.poll_interval_s):
                    await self._wake.wait()

    async def tick(self) -> None:
        await self.executor.refresh([w.ref for w in self._watches.values()])
        slowdown = self._oversubscription()
        for watch in list(self._watches.values()):
            await self._watch_one(watch, slowdown)
        async with self._scheduling:
            await self._schedule()

    def _oversubscription(self) -> float:
        """Ranks running on this machine over its cores when above 1 (the running watches
        are marked), else 1. Runs a scheduler places elsewhere do not count."""
        if not self.executor.counts_cores:
            return 1.0
        running = [w for w in self._watches.values() if w.extra.get("state") != State.QUEUED]
        ranks = sum(int(w.extra.get("cores", 0)) for w in running)
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        if not cores or ranks <= cores:
            return 1.0
        for watch in running:
            watch.oversubscribed = True
        return ranks / cores

    # adoption after a restart

    async def adopt_all(self) -> None:
        for run in await self.store.runs_in([*runs.LIVE, State.QUEUED]):
            if run.state != State.QUEUED or run.executor_ref is not None:
                await self._adopt(run)

    async def _adopt(self, run: Run) -> None:
        request = LaunchRequest.from_record(run.launch or {})
        ref = run.executor_ref
        if request is not None and ref is None:
            ref = await self.executor.find(request)  # spawned, but the daemon died first
        if request is not None and ref is not None and await self.executor.adopt(ref, request):
            if run.state == State.STARTING:
                await self.store.transition(
                    run.id,
                    [State.STARTING],
                    State.RUNNING,
                    runs.ADOPTED,
                    executor_ref=ref,
                )
            else:
                await self.store.add_event(run.id, run.state, runs.ADOPTED)
            log.info("run %s adopted (%s)", run.id, self.executor.describe(ref))
            state = State.RUNNING if run.state == State.STARTING else run.state
            await self._watch_run(run, ref, state)
            if run.stop_requested_at is not None:
                await self._resume_stop(run, ref)
            return
        log.info("run %s has no process left; deciding from its logs", run.id)
        polled = await self.executor.poll(ref) if request is not None and ref else None
        exited = polled if isinstance(polled, Exited) else None
        await self._finish(run, exited, None, stop_reason=run.stop_reason)
        if ref is not None:
            self.executor.forget(ref)

    async def _resume_stop(self, run: Run, ref: str) -> None:
        """A stop was asked before the restart: carry it on, the grace counted from then."""
        asked = run.stop_requested_at or time.time()
        grace = max(0.0, self.settings.stop_grace_s - (time.time() - asked))
        await self.store.add_event(
            run.id, run.state, f"stop resumed after a daemon restart ({grace:.1f} s of grace left)"
        )
        self._watches[run.id].stop_task = asyncio.create_task(self.executor.stop(ref, grace))

    # scheduling

    async def _schedule(self) -> None:
        """Launch, first come first served, what the free cores let start. The launches run
        side by side: each waits on its own files, spawn and commits (one after the other,
        eight short jobs queued at once waited ~70 ms each for those ahead of them)."""
        total = self.settings.total_cores
        taken = self.cores_in_use
        starting: list[Run] = []
        for run in await self.store.runs_in([State.QUEUED]):
            if run.executor_ref is not None or run.id in self.held:
                continue  # handed to the scheduler already (waiting in its queue), or held
            need = min(run.cores, total)
            if self.executor.counts_cores and taken + need > total:
                break
            taken += need
            starting.append(run)
        results = await asyncio.gather(*map(self._launch, starting), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _launch_failed(
        self, run_id: str, state: str, what: str, exc: Exception | str
    ) -> None:
        if isinstance(exc, Exception):
            log.exception("run %s: %s", run_id, what)
        else:
            log.error("run %s: %s: %s", run_id, what, exc)
        await self.store.transition(
            run_id,
            [state],
            State.FAILED,
            f"{what}: {exc}",
            error_code="launch",
            error_message=str(exc),
        )
        await self._write_record(run_id)

    async def _launch(self, run: Run) -> None:
        try:
            request = await asyncio.to_thread(self.prepare, self.settings, run)
        except Exception as exc:
            await self._launch_failed(run.id, State.QUEUED, "launch preparation failed", exc)
            return
        moved = await self.store.transition(
            run.id,
            [State.QUEUED],
            State.STARTING,
            "launching: " + " ".join(self.executor.command(request)),
            launch=request.record(),
            started_at=time.time(),
        )
        if not moved:
            return
        try:
            ref = await self.executor.spawn(request)
        except Exception as exc:
            await self._launch_failed(run.id, State.STARTING, "launch failed", exc)
            return
        where = self.executor.describe(ref)
        await self.executor.refresh([ref])
        first = await self.executor.poll(ref)
        if isinstance(first, Exited) and first.message:  # the scheduler refused it
            self.executor.forget(ref)
            await self._launch_failed(run.id, State.STARTING, "launch failed", first.message)
            return
        state = State.QUEUED if isinstance(first, Queued) else State.RUNNING
        message = f"running as {where}"
        if isinstance(first, Queued):
            message = f"submitted as {where}; waiting in its queue: {first.reason}"
        await self.store.transition(run.id, [State.STARTING], state, message, executor_ref=ref)
        if isinstance(first, Queued):  # the scheduler's first answer already says why it waits
            await self.store.merge_extra(run.id, {"queue_reason": message})
        await self._write_record(run.id)
        log.info("run %s started on %d core(s), %s", run.id, run.cores, where)
        stored = await self.store.get_run(run.id)
        assert stored is not None
        await self._watch_run(stored, ref, state, first)
        if stored.stop_requested_at is not None:
            await self.request_stop(
                run.id, stored.stop_reason or StopReason.USER, "stop asked while starting"
            )

    async def _watch_run(
        self, run: Run, ref: str, state: State = State.RUNNING, first: object = None
    ) -> None:
        """Watch the run from now; its monitor (the namelist parsed, the estimate: ~10 ms of
        CPU) is built at its first watch, not while its processes are starting."""
        now = time.monotonic()
        elapsed = time.time() - (run.started_at or time.time())
        self._watches[run.id] = Watch(
            run_id=run.id,
            ref=ref,
            monitor=None,
            run=run,
            started=now - elapsed,
            walltime_s=run.walltime_s,
            last_activity=now,
            extra={
                "cores": run.cores,
                "state": state,
                "reason": first.reason if isinstance(first, Queued) else None,
            },
        )
        self.executor.on_exit(ref, lambda: self._exited(run.id))
        self._logs.watch(run.id, run_paths(self.settings.data_path, run.id).work)

    def _log_grew(self, run_id: str) -> None:
        """WRF wrote to its log: the run's progress is read now, at most every
        LOG_READ_GAP_S (a step's lines come in bursts), by one task at a time."""
        watch = self._watches.get(run_id)
        if watch is None or watch.reading or self._task is None or self._task.done():
            return
        watch.reading = True
        task = asyncio.create_task(self._read_progress(watch), name="localrun-progress")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _read_progress(self, watch: Watch) -> None:
        try:
            await asyncio.sleep(LOG_READ_GAP_S)  # the rest of the burst
            async with watch.lock:
                monitor = watch.monitor  # built by the run's first tick, not while it starts
                if self._watches.get(watch.run_id) is not watch or monitor is None:
                    return
                if await self._read_logs(watch, monitor):
                    await self.store.update_run(watch.run_id, progress=watch.progress)
        except Exception:
            log.exception("reading the progress of run %s failed", watch.run_id)
        finally:
            watch.reading = False

    def _exited(self, run_id: str) -> None:
        """A run's root process ended: that run alone is watched now, so that its end is
        recorded at once (a kick's tick would poll and sample every live run first)."""
        watch = self._watches.get(run_id)
        if watch is None or self._task is None or self._task.done():
            self.kick()
            return
        task = asyncio.create_task(self._watch_exited(watch), name="localrun-exited")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _monitor_of(self, watch: Watch) -> Monitor:
        if watch.monitor is None:
            assert watch.run is not None
            watch.monitor = await asyncio.to_thread(self._monitor, watch.run)
        return watch.monitor

    def _monitor(self, run: Run) -> Monitor:
        paths = run_paths(self.settings.data_path, run.id)
        shell = run.kind == "shell"
        simulator = model_executable(self.settings, run) == simulator_executable()
        speed = self.settings.sim_speed if simulator else None
        return Monitor(
            paths.work, paths.input, run.cores, self.cost_model, shell=shell, simulator_speed=speed
        )

    # watching

    async def _watch_one(self, watch: Watch, slowdown: float = 1.0) -> None:
        """One watch of one run at a time (the tick's and an exit's may meet)."""
        async with watch.lock:
            if self._watches.get(watch.run_id) is watch:  # not ended meanwhile
                await self._watch(watch, slowdown)

    async def _watch_exited(self, watch: Watch) -> None:
        """Until the run is recorded as ended: what its root left behind (MPI's proxies, say)
        is killed by the first polls, then it ends; past EXIT_RETRIES_S the tick goes on."""
        pause = 0.01
        deadline = time.monotonic() + EXIT_RETRIES_S
        try:
            while True:
                await self._watch_one(watch)
                if self._watches.get(watch.run_id) is not watch or time.monotonic() > deadline:
                    return
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.5)
        except Exception:
            log.exception("recording the end of run %s failed; the next tick tries", watch.run_id)
            self.kick()

    async def _watch(self, watch: Watch, slowdown: float = 1.0) -> None:
        exited = await self.executor.poll(watch.ref)
        if isinstance(exited, Queued):
            await self._queued(watch, exited)
            return
        refused = isinstance(exited, Exited) and exited.message is not None
        queued = watch.extra.get("state") == State.QUEUED
        if queued and not refused and not await self._left_queue(watch):
            return
        if exited is not None:  # its end reads the logs to their last line; no sample
            await self._complete(watch, exited)
            return
        sample = await self.executor.sample(watch.ref)
        watch.slowdown = slowdown
        monitor = await self._monitor_of(watch)
        await self._read_logs(watch, monitor)
        now = time.monotonic()
        if monitor.shell:  # a command that writes is alive, whether it steps WRF or not
            written = await asyncio.to_thread(_output_bytes, self.settings.data_path, watch.run_id)
            if written > watch.output_bytes:
                watch.last_activity = now
            watch.output_bytes = written
        changes: dict[str, Any] = {"progress": watch.progress}
        if sample.alive:
            cpu = sample.cpu_percent
            if cpu is not None:
                watch.cpu_shares.append(cpu / (100.0 * max(watch.extra.get("cores", 1), 1)))
            changes["usage"] = {
                "cpu_percent": None if cpu is None else round(cpu, 1),
                "rss_bytes": sample.rss_bytes,
                "processes": sample.processes,
            }
        await self.store.update_run(watch.run_id, **changes)
        if watch.stop_task is not None:
            return
        if now - watch.started > watch.walltime_s + self.executor.walltime_slack_s:
            self._begin_stop(
                watch, StopReason.TIMED_OUT, f"wall-clock limit of {watch.walltime_s} s reached"
            )
        elif self._stalled(watch, now, sample.cpu_percent):
            quiet = round(now - watch.last_activity)
            idle = "" if sample.cpu_percent is None else " and no CPU use"
            self._begin_stop(watch, StopReason.STALLED, f"no progress for {quiet} s{idle}")
        elif await self._over_disk_limit(watch, now):
            limit = self.settings.run_disk_bytes
            self._begin_stop(watch, StopReason.DISK, f"its folder holds more than {limit} bytes")

    async def _read_logs(self, watch: Watch, monitor: Monitor) -> bool:
        """Read what WRF logged since the last read into watch.progress; whether it logged a
        new step (then the run was active now)."""
        now = time.monotonic()
        conditions = Conditions(now - watch.started, watch.walltime_s, watch.slowdown)
        progressed, watch.progress = await asyncio.to_thread(_read_logs, monitor, conditions)
        if progressed:
            watch.last_activity = now
        return progressed

    async def _over_disk_limit(self, watch: Watch, now: float) -> bool:
        """Whether the run's folder holds more than run_disk_bytes; measured every few
        seconds (a walk of the folder), not at every tick."""
        limit = self.settings.run_disk_bytes
        if not limit or now - watch.disk_checked < DISK_CHECK_S:
            return False
        watch.disk_checked = now
        root = run_paths(self.settings.data_path, watch.run_id).root
        return await asyncio.to_thread(files.tree_bytes, root) > limit

    async def _queued(self, watch: Watch, queued: Queued) -> None:
        """Waiting in a scheduler's queue: the run is queued, with the scheduler's reason; its
        clocks start when it leaves the queue. A run cancelled meanwhile leaves the queue."""
        watch.started = watch.last_activity = time.monotonic()
        run = await self.store.get_run(watch.run_id)
        if run is None or run.terminal:
            await self._drop_cancelled(watch)
            return
        if watch.extra.get("state") == State.QUEUED and watch.extra.get("reason") == queued.reason:
            return
        message = f"waiting in the queue of {self.executor.describe(watch.ref)}: {queued.reason}"
        if watch.extra.get("state") == State.QUEUED:
            await self.store.add_event(watch.run_id, State.QUEUED, message)
        else:
            await self.store.transition(watch.run_id, runs.LIVE, State.QUEUED, message)
        await self.store.merge_extra(watch.run_id, {"queue_reason": message})
        watch.extra.update(state=State.QUEUED, reason=queued.reason)

    async def _left_queue(self, watch: Watch) -> bool:
        """The scheduler started the run (or ended it): it is running from now. False when it
        was cancelled while queued."""
        run = await self.store.get_run(watch.run_id)
        if run is None or run.terminal:
            await self._drop_cancelled(watch)
            return False
        await self.store.transition(
            watch.run_id,
            [State.QUEUED],
            State.RUNNING,
            f"running as {self.executor.describe(watch.ref)}",
            started_at=time.time(),
        )
        await self.store.merge_extra(watch.run_id, {"queue_reason": None})
        await self._write_record(watch.run_id)
        watch.extra.update(state=State.RUNNING, reason=None)
        watch.started = watch.last_activity = time.monotonic()
        return True

    async def _drop_cancelled(self, watch: Watch) -> None:
        """A queued run was cancelled by its owner (already recorded): end its job too."""
        self._watches.pop(watch.run_id, None)
        await self.executor.stop(watch.ref, self.settings.stop_grace_s)
        self.executor.forget(watch.ref)

    def _stalled(self, watch: Watch, now: float, cpu_percent: float | None) -> bool:
        """Silent logs for ten median steps (at least the floor), and no CPU use where the
        executor can tell; from log silence alone where it cannot."""
        step = watch.monitor.median_step_s() if watch.monitor is not None else None
        limit = max(10 * (step or 0.0), self.settings.stall_floor_s)
        idle = cpu_percent is None or cpu_percent < STALL_CPU_PERCENT
        return now - watch.last_activity > limit and idle

    async def request_stop(self, run_id: str, reason: StopReason, message: str) -> None:
        """Record the request first, then signal; the watch loop records the outcome."""
        await self.store.update_run(run_id, stop_requested_at=time.time(), stop_reason=reason)
        await self.store.add_event(run_id, State.RUNNING, f"stop requested: {message}")
        await self._write_record(run_id)
        watch = self._watches.get(run_id)
        if watch is not None and watch.stop_task is None:
            watch.stop_task = asyncio.create_task(
                self.executor.stop(watch.ref, self.settings.stop_grace_s)
            )
        self.kick()

    async def _tell_ended(self, run_id: str) -> None:
        run = await self.store.get_run(run_id)
        if run is None:
            return
        for listener in self.ended:
            try:
                await listener(run)
            except Exception:
                log.exception("run %s: what follows its end failed", run_id)

    async def _write_record(self, run_id: str) -> None:
        """logs/run.json, for `localrun inspect` of the run's folder without the database."""
        run = await self.store.get_run(run_id)
        if run is None:
            return
        try:
            await asyncio.to_thread(
                run_record.write, run_paths(self.settings.data_path, run_id).logs, run
            )
        except OSError as exc:
            log.warning("run %s: cannot write %s: %s", run_id, run_record.NAME, exc)

    def _begin_stop(self, watch: Watch, reason: StopReason, message: str) -> None:
        log.warning("run %s: %s; stopping it", watch.run_id, message)
        task = asyncio.create_task(self.request_stop(watch.run_id, reason, message))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _complete(self, watch: Watch, exited: Exited) -> None:
        self._watches.pop(watch.run_id, None)
        self._logs.unwatch(watch.run_id)
        self.executor.forget(watch.ref)
        run = await self.store.get_run(watch.run_id)
        if run is None:
            return
        await self._finish(run, exited, watch.monitor, stop_reason=run.stop_reason, watch=watch)
        self.launch_queued()  # its cores are free

    async def _finish(
        self,
        run: Run,
        exited: Exited | None,
        monitor: Monitor | None,
        stop_reason: StopReason | None,
        watch: Watch | None = None,
    ) -> None:
        exit_code = None if exited is None else exited.exit_code
        scheduler = None if exited is None else exited.state
        if scheduler == "TIMEOUT" and stop_reason is None:
            stop_reason = StopReason.TIMED_OUT  # the scheduler enforced the wall-clock limit
        paths = run_paths(self.settings.data_path, run.id)
        if monitor is None:
            monitor = await asyncio.to_thread(self._monitor, run)
        stdout = paths.logs / "mpirun.stdout"
        outcome, progress = await asyncio.to_thread(
            _conclude, monitor, exit_code, stdout, stop_reason
        )
        if exited is not None and exited.message and outcome.state != State.SUCCEEDED:
            outcome = Outcome(State.FAILED, "launch", exited.message, None)
        elif scheduler is not None and outcome.state != State.SUCCEEDED:
            said = f"{self.executor.describe(run.executor_ref or '?')} ended {scheduler}"
            outcome = replace(outcome, message=f"{outcome.message} ({said})")
        moved = await self.store.transition(
            run.id,
            [*runs.LIVE, State.QUEUED],
            outcome.state,
            outcome.summary,
            exit_code=exit_code,
            error_code=outcome.code if outcome.state != State.SUCCEEDED else None,
            error_message=outcome.message if outcome.state != State.SUCCEEDED else None,
            error_hint=outcome.hint,
            progress=progress,
        )
        if moved:
            log.info("run %s %s", run.id, outcome.summary)
            await self._write_record(run.id)
            await self._tell_ended(run.id)
            watched_to_the_end = exit_code is not None and run.started_at is not None
            wall_s = time.time() - (run.started_at or 0) if watched_to_the_end else None
            succeeded = outcome.state == State.SUCCEEDED
            sample = None
            if succeeded and watch is not None:
                sample = await asyncio.to_thread(
                    monitor.calibration_sample,
                    self.host,
                    wall_s,
                    cpu_share=statistics.median(watch.cpu_shares) if watch.cpu_shares else None,
                    oversubscribed=watch.oversubscribed,
                )
            if sample is not None:
                await self.store.add_sample(run.id, self.host, sample)
                await self.recalibrate()


# The functions below read files; the supervisor runs them off the event loop.


def _read_logs(monitor: Monitor, conditions: Conditions) -> tuple[bool, dict[str, Any]]:
    """Whether WRF logged a new step since the last read, and the run's progress now."""
    progressed = monitor.poll()
    return progressed, monitor.snapshot(conditions)


def _output_bytes(data_dir: Path, run_id: str) -> int:
    logs = run_paths(data_dir, run_id).logs
    total = 0
    for name in ("mpirun.stdout", "mpirun.stderr"):
        with contextlib.suppress(OSError):
            total += (logs / name).stat().st_size
    return total


def _conclude(
    monitor: Monitor, exit_code: int | None, stdout: Path, stop_reason: StopReason | None
) -> tuple[Outcome, dict[str, Any]]:
    monitor.poll()
    outcome = monitor.outcome(exit_code, read_tail(stdout, LAUNCHER_TAIL_BYTES), stop_reason)
    return outcome, monitor.snapshot(ended=outcome.state)


def read_tail(path: Path, size: int) -> str | None:
    """The last `size` bytes of a file as text, never more in memory."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            handle.seek(max(0, handle.tell() - size))
            return handle.read(size).decode("utf-8", "replace")
    except OSError:
        return None
