"""The long versions of tests/faults, printing figures (not in the suite): scripts/soak.

scripts/soak crash [ROUNDS]      kill -9 rounds (tests/faults/test_crashes.py, longer)
scripts/soak fuzz [COUNT]        seeded random requests over every family's routes
scripts/soak load [SECONDS]      50 pollers against live runs
scripts/soak schemathesis        schemathesis over the OpenAPI document (pip install schemathesis)
scripts/soak                     all four: 20 rounds, 10,000 requests, 600 s
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import requests
from _harness import Daemon, percentile, write_namelist

TOP = Path(__file__).resolve().parents[1]
EXAMPLE = TOP / "localrun" / "example_case"
HUGE = "9" * 30


def crash(rounds: int) -> bool:
    env = {**os.environ, "LOCALRUN_CRASH_ROUNDS": str(rounds)}
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/faults/test_crashes.py",
        ],
        cwd=TOP,
        env=env,
        capture_output=True,
        text=True,
    )
    ok = done.returncode == 0
    tail = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:]
    print(
        f"crash: {rounds} rounds of kill -9, {time.monotonic() - started:.0f} s: "
        f"{'0 wrong outcomes, 0 orphans, 0 part files, integrity ok' if ok else 'FAILED'} ({tail})"
    )
    if not ok:
        print(done.stdout[-4000:])
    return ok


def seeded_requests(rng: random.Random, ids: dict[str, str]) -> tuple[str, str, bytes, str]:
    paths = [
        "/localrun/v1/runs", f"/localrun/v1/runs/{ids['native']}",
        f"/localrun/v1/runs/{ids['native']}/start", f"/localrun/v1/runs/{ids['native']}/inputs",
        f"/localrun/v1/runs/{ids['native']}/logs", f"/localrun/v1/runs/{ids['native']}/files/x",
        "/localrun/v1/estimate", "/v1/runs", f"/v1/runs/{ids['cloudrun']}",
        f"/v1/runs/{ids['cloudrun']}/start", f"/v1/runs/{ids['cloudrun']}/input",
        f"/v1/runs/{ids['cloudrun']}/output/fields/T2", "/api/v2/jobs/", "/api/v2/files/contents/",
        "/api/v2/files/1/", f"/api/v2/jobs/{ids['job']}/runs/1/tail/x", "/api/v2/analyses/",
    ]  # fmt: skip
    atoms = ['"x"', "1", "-1", "1e999", "null", "true", "[]", "{}", '"\\ud800"', HUGE,
             '"../../localrun.db"', '"' + "y" * 999 + '"']  # fmt: skip
    keys = ["name", "cores", "walltime_s", "model", "version", "oversubscribe", "jobanalyses",
            "op", "path", "url", "limit", "cursor", "offset", "lines", "page"]  # fmt: skip
    method = rng.choice(["GET", "POST", "PATCH", "DELETE", "PUT"])
    path = rng.choice(paths)
    if rng.random() < 0.3:
        path += "?" + "&".join(f"{rng.choice(keys)}={rng.choice(atoms)}" for _ in range(2))
    fields = ", ".join(
        f'"{rng.choice(keys)}": {rng.choice(atoms)}' for _ in range(rng.randint(0, 4))
    )
    shapes = [
        f"{{{fields}}}",
        f"[{fields}]",
        fields,
        rng.randbytes(40).hex(),
        "[" * rng.randint(1, 5000),
    ]
    kind = rng.choice(["application/json", "application/x-www-form-urlencoded", "text/plain",
                       "multipart/form-data", "multipart/form-data; boundary=z"])  # fmt: skip
    return method, path, rng.choice(shapes).encode(), kind


def fuzz(count: int) -> bool:
    with Daemon(sim_speed=50, single_user="true") as daemon:
        daemon.start()
        auth = {"Authorization": f"Bearer {daemon.token}"}
        native = requests.post(daemon.url + "/localrun/v1/runs", json={}, headers=auth, timeout=30)
        cloud = requests.post(daemon.url + "/v1/runs", data={}, headers=auth, timeout=30)
        ids = {"native": native.json()["id"], "cloudrun": cloud.json()["id"], "job": "x"}
        rng = random.Random(10_000)
        errors = html = other = 0
        session = requests.Session()
        started = time.monotonic()
        for _ in range(count):
            method, path, body, kind = seeded_requests(rng, ids)
            scheme = "Token" if path.startswith("/api") else "Bearer"
            headers = {"Authorization": f"{scheme} {daemon.token}", "Content-Type": kind}
            resp = session.request(
                method, daemon.url + path, data=body, headers=headers, timeout=60
            )
            errors += resp.status_code >= 500
            html += "html" in resp.headers.get("Content-Type", "")
            other += not resp.headers.get("Content-Type", "").startswith("application/json")
        allowed = {"runs", "files", "localrun.db", "localrun.db-wal", "localrun.db-shm",
                   "daemon.lock", "disk-reserve"}  # fmt: skip
        stray = [p.name for p in daemon.data_dir.iterdir() if p.name not in allowed]
        elapsed = time.monotonic() - started
        print(
            f"fuzz: {count} requests in {elapsed:.0f} s: {errors} 5xx, {html} HTML, "
            f"{other} not JSON, {len(stray)} files outside the run directories {stray}"
        )
        return errors == html == other == len(stray) == 0


def load(seconds: float, pollers: int = 50) -> bool:
    with Daemon(sim_speed=1, poll_interval_s=0.5) as daemon:
        daemon.start()
        run_ids = []
        for _ in range(2):
            run = daemon.api("POST", "/localrun/v1/runs", {"name": "load"})
            inputs = daemon.data_dir.parent / "case"
            inputs.mkdir(exist_ok=True)
            write_namelist(inputs / "namelist.input", 600)
            shutil.copy(EXAMPLE / "wrfinput_d01", inputs / "wrfinput_d01")
            for name in ("namelist.input", "wrfinput_d01"):
                with (inputs / name).open("rb") as handle:
                    requests.post(f"{daemon.url}/localrun/v1/runs/{run['id']}/inputs",
                                  files={"file": handle}, timeout=60,
                                  headers={"Authorization": f"Bearer {daemon.token}"})  # fmt: skip
            daemon.api("POST", f"/localrun/v1/runs/{run['id']}/start", {"cores": 1})
            run_ids.append(run["id"])
        proc = psutil.Process(daemon.pid)
        time.sleep(2)
        rss0, fds0 = proc.memory_info().rss, proc.num_fds()
        latencies: list[float] = []
        errors = [0]
        lock = threading.Lock()
        end = time.monotonic() + seconds

        def poll(k: int) -> None:
            session = requests.Session()
            headers = {"Authorization": f"Bearer {daemon.token}"}
            mine: list[float] = []
            while time.monotonic() < end:
                path = (
                    f"/localrun/v1/runs/{run_ids[k % 2]}" if k % 3 else "/localrun/v1/runs?limit=50"
                )
                t0 = time.perf_counter()
                try:
                    ok = (
                        session.get(daemon.url + path, headers=headers, timeout=30).status_code
                        == 200
                    )
                except requests.RequestException:
                    ok = False
                mine.append(time.perf_counter() - t0)
                if not ok:
                    with lock:
                        errors[0] += 1
            with lock:
                latencies.extend(mine)

        threads = [threading.Thread(target=poll, args=(k,)) for k in range(pollers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rss1, fds1 = proc.memory_info().rss, proc.num_fds()
        print(
            f"load: {pollers} pollers for {seconds:.0f} s, {len(latencies)} requests, "
            f"{errors[0]} errors, p50 {statistics.median(latencies) * 1e3:.1f} ms, "
            f"p99 {percentile(latencies, 99) * 1e3:.1f} ms; daemon RSS {rss0 >> 20} -> "
            f"{rss1 >> 20} MiB, fds {fds0} -> {fds1}"
        )
        return errors[0] == 0 and rss1 < rss0 * 1.5 + (32 << 20) and fds1 <= fds0 + 10


def schemathesis() -> bool:
    if shutil.which("schemathesis") is None:
        print("schemathesis: not installed (pip install schemathesis), not run")
        return True
    with Daemon(sim_speed=50) as daemon:
        daemon.start()
        done = subprocess.run(
            ["schemathesis", "run", f"{daemon.url}/localrun/v1/openapi.json",
             "-H", f"Authorization: Bearer {daemon.token}", "--checks", "not_a_server_error"],
            capture_output=True, text=True,
        )  # fmt: skip
        print(f"schemathesis: exit {done.returncode}; {done.stdout.strip().splitlines()[-1:]}")
        return done.returncode == 0


def main(argv: list[str]) -> int:
    what = argv[0] if argv else "all"
    number = float(argv[1]) if len(argv) > 1 else None
    results = []
    if what in ("crash", "all"):
        results.append(crash(int(number or 20)))
    if what in ("fuzz", "all"):
        results.append(fuzz(int(number or 10_000)))
    if what in ("load", "all"):
        results.append(load(number or 600))
    if what in ("schemathesis", "all"):
        results.append(schemathesis())
    print(json.dumps({"ok": all(results)}))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
