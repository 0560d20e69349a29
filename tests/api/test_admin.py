"""The test admin API against the real daemon and the real clients: who may call it, scripted
outcomes (CFL at 30 %, a namelist error, fail and hang at X %), speed, held runs, the cores
handed out, and reset."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
import rescalepy.client as rc
from aiohttp.test_utils import TestClient

from localrun.testing.server import ADMIN, LocalrunError, LocalrunServer
from tests.api.test_cloudrun_flow import ClientRun, case
from tests.polling import wait_for


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalrunServer]:
    with LocalrunServer(tmp_path_factory.mktemp("admin"), sim_speed=20) as started:
        yield started


@pytest.fixture(autouse=True)
def clean(server: LocalrunServer) -> Iterator[None]:
    yield
    server.reset()
    server.set_cores(2)


@pytest.fixture
def rescale(server: LocalrunServer, monkeypatch: pytest.MonkeyPatch) -> rc.Client:
    monkeypatch.setattr(rc, "ENDPOINT", server.rescale_endpoint())
    return rc.Client(server.token("alice"))


def processes_of(run_id: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("LOCALRUN_RUN_ID") == run_id:
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


def native(server: LocalrunServer, owner: str, path: str) -> Any:
    headers = {"Authorization": "Bearer " + server.token(owner)}
    r = requests.get(server.url + "/localrun/v1" + path, headers=headers, timeout=30)
    r.raise_for_status()
    return r.json()


def rescale_job(client: rc.Client, folder: Path) -> str:
    files = [client.upload(folder / name) for name in ("namelist.input", "wrfinput_d01")]
    job: str = client.create_job(
        name="scripted",
        software_code="wrf",
        input_files=files,
        command="mpirun -np 2 wrf.exe",
        n_cores=2,
    )
    assert client.submit_job(job) is True
    return job


def cloudrun_run(server: LocalrunServer, tmp_path: Path, minutes: int = 30) -> ClientRun:
    run = ClientRun(server.cloudrun_url(), server.token("alice"))
    run.create("wrf", "4.5")
    tmp_path.mkdir(parents=True, exist_ok=True)
    for path in case(tmp_path, minutes):
        run.upload(path)
    assert run.status == "ready"
    return run


def poll(run: ClientRun, until: Any, within: float = 60) -> None:
    def reached() -> bool:
        run.get()
        return bool(until(run))

    wait_for(reached, timeout=within, interval=0.1)


# who may call it


def test_a_wrong_or_missing_token_is_401_in_localrun_s_error_shape(server: LocalrunServer) -> None:
    for headers in ({"Authorization": "Bearer wrong"}, {}, {"Authorization": "Token x"}):
        r = requests.get(server.url + ADMIN + "/state", headers=headers, timeout=10)
        assert r.status_code == 401
        assert r.json() == {
            "error": {
                "status": 401,
                "code": "unauthorized",
                "message": r.json()["error"]["message"],
            }
        }
        assert "admin token" in r.json()["error"]["message"]
    family_token = {"Authorization": "Bearer " + server.token("alice")}
    r = requests.get(server.url + ADMIN + "/state", headers=family_token, timeout=10)
    assert r.status_code == 401, "a family's token is not the admin token"
    r = requests.get(server.url + ADMIN + "/state", headers=_admin(server), timeout=10)
    assert r.status_code == 200 and r.json()["cores"] == 2


def _admin(server: LocalrunServer) -> dict[str, str]:
    return {"Authorization": "Bearer " + server.admin_token}


def test_a_non_loopback_peer_is_refused_403(tmp_path: Path) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # no packet is sent; this picks the outgoing address
        address = str(probe.getsockname()[0])
    assert address and not address.startswith("127."), "the host has a non-loopback address"
    settings = {"host": "0.0.0.0", "allow_remote": "true"}
    with LocalrunServer(tmp_path / "remote", settings=settings) as remote:
        outside = f"http://{address}:{remote.port}"
        assert requests.get(outside + "/healthz", timeout=10).status_code == 200
        r = requests.get(outside + ADMIN + "/state", headers=_admin(remote), timeout=10)
        assert r.status_code == 403
        assert r.json()["error"]["message"] == "the admin API answers loopback clients only"
        r = requests.post(outside + ADMIN + "/reset", headers=_admin(remote), json={"all": True})
        assert r.status_code == 403
        local = requests.get(remote.url + ADMIN + "/state", headers=_admin(remote), timeout=10)
        assert local.status_code == 200


async def test_the_admin_api_is_off_without_an_admin_token(client: TestClient[Any, Any]) -> None:
    r = await client.get(ADMIN + "/state", headers={"Authorization": "Bearer anything"})
    assert r.status == 403
    assert (await r.json())["error"]["message"] == (
        "the admin API is off: set the admin_token setting"
    )


# scripted outcomes


def test_rescalepy_sees_cfl_at_30_percent_with_wrf_s_message(
    server: LocalrunServer, rescale: rc.Client, tmp_path: Path
) -> None:
    folder = case(tmp_path, 30)[0].parent
    server.script("cfl", at_percent=30, speed="instant")
    job = rescale_job(rescale, folder)
    rescale.wait_for_job(job, interval=0.2)
    reason = rescale.get_job_status(job)[0]["statusReason"]
    assert reason.startswith("The run failed (cfl): ")
    assert "points exceeded v_cfl = 2 in domain d01 at time 0001-01-01_00:09:00" in reason
    assert "reduce time_step" in reason  # 00:09:00 is 30 % of the 30 minutes
    [run] = native(server, "alice", "/runs")["runs"]
    assert run["state"] == "failed" and run["error"]["code"] == "cfl"
    line = f"run {run['id']} launched as scripted: {{'outcome': 'cfl', 'at_percent': 30.0, "
    assert line + "'speed': 'instant'}" in server.log_path.read_text()
    assert server.admin("GET", "/scripts") == {"runs": {}, "next": []}, "the script is used up"


def test_the_cloudrun_flow_sees_cfl_at_30_percent_as_error(
    server: LocalrunServer, tmp_path: Path
) -> None:
    run = cloudrun_run(server, tmp_path)
    server.script("cfl", at_percent=30, speed="instant")
    run.start(cores=2)
    poll(run, lambda r: r.status in ("done", "error", "stopped"))
    assert run.status == "error" and run.error is not None
    assert run.error["status"] == "cfl"
    assert (
        "points exceeded v_cfl = 2 in domain d01 at time 0001-01-01_00:09:00"
        in (run.error["message"])
    )


def test_a_namelist_error_in_the_cloudrun_flow(server: LocalrunServer, tmp_path: Path) -> None:
    run = cloudrun_run(server, tmp_path)
    server.script("namelist", run_id=run.id, speed="instant")
    assert server.admin("GET", "/scripts")["runs"][run.id]["outcome"] == "namelist"
    run.start(cores=2)
    poll(run, lambda r: r.status in ("done", "error", "stopped"))
    assert run.status == "error"
    assert run.error is not None
    assert run.error["status"] == "namelist"
    assert run.error["message"].startswith(
        "ERROR reading namelist domains (&domains has the unknown variable "
        "'localrun_scripted_error'"
    ), run.error
    assert [f["filename"] for f in run.input_files] == ["namelist.input", "wrfinput_d01"]


def test_the_next_two_runs_fail_at_40_percent_then_one_succeeds(
    server: LocalrunServer, tmp_path: Path
) -> None:
    server.script("fail", at_percent=40, speed="instant", runs=2)
    runs = [cloudrun_run(server, tmp_path / str(i), minutes=10) for i in range(3)]
    for run in runs:
        run.start(cores=1)
        poll(run, lambda r: r.status in ("done", "error", "stopped"))
    assert [r.status for r in runs] == ["error", "error", "done"]
    for run in runs[:2]:
        assert run.error is not None
        assert "failure injected at 40% of the run" in run.error["message"], run.error


def test_a_hang_at_50_percent_stops_the_output(server: LocalrunServer, tmp_path: Path) -> None:
    run = cloudrun_run(server, tmp_path, minutes=10)
    server.script("hang", run_id=run.id, at_percent=50, speed="instant")
    run.start(cores=1)
    poll(run, lambda r: r.status == "active" and r.percent_complete >= 50)
    time.sleep(1.0)
    run.get()
    assert run.status == "active" and 50 <= run.percent_complete < 60
    run.stop()
    poll(run, lambda r: r.status == "stopped")


def test_killed_at_30_percent(server: LocalrunServer, tmp_path: Path) -> None:
    run = cloudrun_run(server, tmp_path, minutes=10)
    server.script("killed", run_id=run.id, at_percent=30, speed="instant")
    run.start(cores=2)
    poll(run, lambda r: r.status in ("done", "error", "stopped"))
    assert run.status == "error" and run.error is not None
    assert "SIGKILL" in run.error["message"], run.error
    assert 25 <= run.percent_complete < 40
    assert f"run {run.id}: every process killed at 30% (scripted)" in server.log_path.read_text()
    wait_for(lambda: not processes_of(run.id), timeout=10)


def test_lost_across_a_restart(tmp_path: Path) -> None:
    with LocalrunServer(tmp_path / "restart", sim_speed=20) as own:
        run = cloudrun_run(own, tmp_path, minutes=10)
        own.script("lost", run_id=run.id, at_percent=40, speed="instant")
        run.start(cores=1)
        poll(run, lambda r: r.status == "active" and r.percent_complete >= 35)
        own.restart()
        run.url = own.cloudrun_url()
        poll(run, lambda r: r.status != "active", within=10)
        assert run.status == "error" and run.error is not None
        assert run.error["status"] == "lost", run.error
        state = requests.get(
            own.url + "/localrun/v1/runs/" + run.id,
            headers={"Authorization": "Bearer " + own.token("alice")},
            timeout=10,
        ).json()
        assert state["state"] == "lost"


def test_a_run_s_script_is_kept_across_a_restart_before_its_launch(tmp_path: Path) -> None:
    with LocalrunServer(tmp_path / "restart", sim_speed=20) as own:
        run = cloudrun_run(own, tmp_path, minutes=10)
        own.script("fail", run_id=run.id, at_percent=20, speed="instant")
        own.restart()
        assert own.admin("GET", "/scripts")["runs"] == {}, "memory is gone; the run keeps it"
        run.url = own.cloudrun_url()
        run.start(cores=1)
        poll(run, lambda r: r.status in ("done", "error", "stopped"))
        assert run.error is not None
        assert "failure injected at 20% of the run" in run.error["message"]


def test_speed_per_run(server: LocalrunServer, tmp_path: Path) -> None:
    slow, fast = (cloudrun_run(server, tmp_path / n, minutes=30) for n in ("slow", "fast"))
    server.script("succeed", run_id=slow.id, speed=0.5)
    server.script("succeed", run_id=fast.id, speed="instant")
    slow.start(cores=1)
    poll(slow, lambda r: r.status == "active")
    fast.start(cores=1)
    poll(fast, lambda r: r.status == "done")  # the same case, started later, ended first
    slow.get()
    assert slow.status == "active" and slow.percent_complete < 20, slow.percent_complete
    slow.stop()


# the queue


def test_a_held_run_stays_queued_until_released(server: LocalrunServer, tmp_path: Path) -> None:
    run = cloudrun_run(server, tmp_path, minutes=10)
    server.hold(run.id)
    server.script("succeed", run_id=run.id, speed="instant")
    run.start(cores=1)
    time.sleep(1.0)
    run.get()
    assert run.status == "starting"  # Cloudrun's word for queued
    assert native(server, "alice", f"/runs/{run.id}")["state"] == "queued"
    assert server.admin("GET", "/state")["held"] == [run.id]
    server.release(run.id)
    poll(run, lambda r: r.status == "done")


def test_the_cores_handed_out(server: LocalrunServer, rescale: rc.Client, tmp_path: Path) -> None:
    assert server.set_cores(1) == {"cores": 1}
    coretypes = rescale.get_core_types()
    assert [c["cores"] for c in coretypes if c["code"] == "local"] == [[1]]
    first, second = (cloudrun_run(server, tmp_path / n, minutes=10) for n in ("a", "b"))
    server.script("hang", run_id=first.id, at_percent=20, speed="instant")
    first.start(cores=1)
    poll(first, lambda r: r.status == "active")
    second.start(cores=1)
    time.sleep(1.0)
    state = native(server, "alice", f"/runs/{second.id}")
    assert state["state"] == "queued"
    first.stop()
    poll(second, lambda r: r.status in ("active", "done"))
    with pytest.raises(LocalrunError, match="400"):
        server.set_cores(0)


# reset


def test_reset_of_one_owner_keeps_the_others_and_every_token(
    server: LocalrunServer, tmp_path: Path
) -> None:
    alice = cloudrun_run(server, tmp_path / "alice", minutes=10)
    bob = ClientRun(server.cloudrun_url(), server.token("bob"))
    bob.create("wrf", "4.5")
    server.script("hang", run_id=alice.id, at_percent=30, speed="instant")
    alice.start(cores=1)
    poll(alice, lambda r: r.status == "active")
    assert processes_of(alice.id), "the run's processes are there"
    folder = server.data_dir / "data" / "runs" / alice.id
    assert folder.is_dir()

    done = server.reset("alice")
    assert done["owner"] == "alice" and done["runs"] == 1 and done["files"] == 0
    assert native(server, "alice", "/runs")["runs"] == []
    assert [r["id"] for r in native(server, "bob", "/runs")["runs"]] == [bob.id]
    assert not folder.exists()
    wait_for(lambda: not processes_of(alice.id), timeout=10)
    r = requests.get(
        server.url + "/v1/runs/" + alice.id,
        headers={"Authorization": "Bearer " + server.token("alice")},
        timeout=10,
    )
    assert r.status_code == 404
    assert server.reset()["runs"] == 1  # bob's
    assert native(server, "bob", "/runs")["runs"] == []


def test_reset_takes_an_owner_a_token_or_all(server: LocalrunServer) -> None:
    assert server.admin("POST", "/reset", {"token": server.token("carol")})["owner"] == "carol"
    with pytest.raises(LocalrunError, match=re.escape('give "owner", "token" or "all": true')):
        server.admin("POST", "/reset", {})
