"""`localrun check`: a short case end to end against the daemon, one line per step."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import f90nml

from localrun.client import Client, ClientError

CHECK_MINUTES = 10
TIMEOUT_S = 300.0


def short_case(target: Path) -> list[Path]:
    """The example case cut to CHECK_MINUTES of model time."""
    from localrun.cli.example import copy_example

    paths = copy_example(target)
    namelist = f90nml.read(target / "namelist.input")
    tc = namelist["time_control"]
    for unit in ("days", "hours", "seconds"):
        tc[f"run_{unit}"] = 0
    tc["run_minutes"] = CHECK_MINUTES
    namelist.write(target / "namelist.input", force=True)
    return paths


def run_check(client: Client, as_json: bool = False) -> int:
    steps: list[dict[str, Any]] = []

    def step(name: str, action: Callable[[], str]) -> bool:
        started = time.monotonic()
        try:
            detail, ok = action(), True
        except (ClientError, OSError, RuntimeError) as exc:
            detail, ok = str(exc), False
        seconds = round(time.monotonic() - started, 2)
        steps.append({"step": name, "ok": ok, "seconds": seconds, "detail": detail})
        if not as_json:
            print(f"{'ok  ' if ok else 'FAIL'} {name:<22} {seconds:6.2f}s  {detail}")
        return ok

    state: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        case = Path(tmp)
        checks: list[tuple[str, Callable[[], str]]] = [
            ("daemon reachable", lambda: _health(client)),
            ("create run", lambda: _create(client, state)),
            ("upload inputs", lambda: _upload(client, state, short_case(case))),
            ("start", lambda: _start(client, state)),
            ("run to the end", lambda: _wait(client, state)),
            ("outputs written", lambda: _outputs(client, state)),
        ]
        try:
            for name, action in checks:
                if not step(name, action):
                    break
        except KeyboardInterrupt:
            return _interrupted(client, state)
    if as_json:
        print(json.dumps(steps, indent=2))
    ok = all(s["ok"] for s in steps) and len(steps) == 6
    if not as_json:
        failed = next((s for s in steps if not s["ok"]), None)
        why = f" at {failed['step']}: {failed['detail']}" if failed else ""
        print("localrun check passed" if ok else f"localrun check FAILED{why}", file=sys.stderr)
    return 0 if ok else 1


def _interrupted(client: Client, state: dict[str, Any]) -> int:
    """Ctrl-C: check's own run is stopped, not left behind."""
    run = state.get("run")
    if run is None:
        print("localrun check interrupted", file=sys.stderr)
        return 130
    try:
        client.stop(run["id"])
        print(f"localrun check interrupted: stopped its run {run['id']}", file=sys.stderr)
    except ClientError as exc:
        print(f"localrun check interrupted; run {run['id']}: {exc.message}", file=sys.stderr)
    return 130


def _health(client: Client) -> str:
    health = client.health()
    mpi = health.get("mpi", {})
    if not mpi.get("found"):
        raise RuntimeError(f"MPI launcher {mpi.get('launcher')} not found")
    cores = health["cores"]
    return f"localrun {health['version']}, {cores['free']}/{cores['total']} cores free"


def _create(client: Client, state: dict[str, Any]) -> str:
    state["run"] = client.create_run(name="localrun-check")
    return str(state["run"]["id"])


def _upload(client: Client, state: dict[str, Any], paths: list[Path]) -> str:
    result = client.upload(state["run"]["id"], paths)
    run = result["run"]
    if run["state"] != "ready":
        raise RuntimeError(f"run is {run['state']}, missing {run['missing_inputs']}")
    size = sum(int(f["size"]) for f in result["files"])
    return f"{len(result['files'])} files, {size / (1 << 20):.1f} MiB"


def _start(client: Client, state: dict[str, Any]) -> str:
    cores = min(2, client.health()["cores"]["total"])
    run = client.start(state["run"]["id"], cores)
    return f"{run['state']} on {cores} core(s)"


def _wait(client: Client, state: dict[str, Any]) -> str:
    deadline = time.monotonic() + TIMEOUT_S
    run_id = state["run"]["id"]
    while time.monotonic() < deadline:
        run = client.run(run_id)
        if run["state"] == "succeeded":
            return f"succeeded, model time {(run['progress'] or {}).get('model_time')}"
        if run["state"] in {"failed", "cancelled", "timed_out", "lost"}:
            raise RuntimeError(f"{run['state']}: {(run.get('error') or {}).get('message')}")
        time.sleep(0.5)
    raise RuntimeError(f"not finished after {TIMEOUT_S:.0f} s")


def _outputs(client: Client, state: dict[str, Any]) -> str:
    files = client.files(state["run"]["id"])
    wrfout = [f["path"] for f in files if f["path"].startswith("wrfout_")]
    if not wrfout:
        raise RuntimeError("no wrfout file was written")
    return f"{len(wrfout)} wrfout file(s), {len(files)} files in all"
