"""Issue 17: reset of 100 runs, through the admin API of a real daemon (LocalrunServer).

    python benchmarks/reset.py [--runs 100] [--rounds 5] [--finished 10]

Each round makes `runs` Cloudrun runs of one owner, each with the example case's two inputs
uploaded (1 MiB), of which `finished` ran to their end at instant speed (outputs, logs, rsl
files), plus one run of another owner that must survive; then POST /localrun/admin/v1/reset
for the owner. Prints the daemon's own time for the reset (the figure the goal of 100 ms is
about) and the client's wall time of the call, per round and their medians.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from localrun.cli.example import copy_example
from localrun.testing import LocalrunServer


def make_runs(
    server: LocalrunServer, owner: str, count: int, finished: int, case: list[Path]
) -> list[str]:
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + server.token(owner)
    base = server.cloudrun_url()
    ids: list[str] = []
    for i in range(count):
        run = session.post(base + "/runs", data={"model": "wrf", "version": "4.5"}).json()
        for path in case:
            with path.open("rb") as handle:
                files = {"file": (path.name, handle, "application/octet-stream")}
                answer = session.post(f"{base}/runs/{run['id']}/input", files=files)
                answer.raise_for_status()
        ids.append(run["id"])
        if i < finished:
            body = session.get(f"{base}/runs/{run['id']}").json()
            option = body["compute_options"][0]["compute_option_id"]
            patch = [
                {
                    "op": "replace",
                    "path": "/selected_compute_option",
                    "value": {"compute_option_id": option},
                }
            ]
            server.script("succeed", run_id=run["id"], speed="instant")
            session.patch(f"{base}/runs/{run['id']}", json=patch).raise_for_status()
            session.post(f"{base}/runs/{run['id']}/start").raise_for_status()
    deadline = time.monotonic() + 120
    for run_id in ids[:finished]:
        while session.get(f"{base}/runs/{run_id}").json()["status"] not in ("done", "error"):
            if time.monotonic() > deadline:
                raise SystemExit("the finished runs did not end in 120 s")
            time.sleep(0.1)
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--finished", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, LocalrunServer(Path(tmp) / "srv") as server:
        case = copy_example(Path(tmp) / "case")
        other = make_runs(server, "bob", 1, 0, case)
        daemon_ms, wall_ms = [], []
        for round_ in range(args.rounds):
            make_runs(server, "alice", args.runs, args.finished, case)
            began = time.perf_counter()
            done = server.admin("POST", "/reset", {"owner": "alice"})
            wall = (time.perf_counter() - began) * 1000
            assert done["runs"] == args.runs, done
            daemon_ms.append(done["ms"])
            wall_ms.append(wall)
            print(
                f"round {round_ + 1}: {done['runs']} runs reset in {done['ms']:.1f} ms "
                f"(daemon), {wall:.1f} ms (client)"
            )
        left = requests.get(
            server.url + "/localrun/v1/runs",
            headers={"Authorization": "Bearer " + server.token("bob")},
        ).json()["runs"]
        assert [r["id"] for r in left] == other, "another owner's run stays"
        print(
            f"median of {args.rounds}: {statistics.median(daemon_ms):.1f} ms (daemon), "
            f"{statistics.median(wall_ms):.1f} ms (client); goal: under 100 ms"
        )


if __name__ == "__main__":
    main()
