"""Where a status request's time goes: cProfile of the daemon's app in this process.

Seeds --runs runs as status_throughput does, builds the app with init_app, and sends --requests
requests of one path through aiohttp's test client (the client's own work is in the profile too,
under aiohttp.client). Prints the top functions by cumulative and by own time.

python benchmarks/profile_status.py [--runs 10000] [--requests 300]
    [--path list|get|cloudrun|rescale|statuses]

cloudrun, rescale and statuses make one run of that family (created, not started) and ask for it.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sqlite3
import tempfile
from pathlib import Path

import status_throughput as st
from _harness import rescale_job
from aiohttp.test_utils import TestClient, TestServer

from localrun.app import init_app
from localrun.config import Settings


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument(
        "--path", choices=["list", "get", "cloudrun", "rescale", "statuses"], default="list"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="localrun-prof-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        progress = st.simulated_progress()
        token, _ = await st.fill(data / "localrun.db", data, args.runs, progress)
        with sqlite3.connect(data / "localrun.db") as conn:
            one = conn.execute("SELECT id FROM runs WHERE state = 'succeeded' LIMIT 1").fetchone()
        path = f"/localrun/v1/runs/{one[0]}"
        if args.path == "list":
            path = "/localrun/v1/runs?limit=50"
        settings = Settings(data_dir=str(data), port=0, cores=2, poll_interval_s=1.0)
        client = TestClient(TestServer(init_app(settings)))
        await client.start_server()
        headers = {"Authorization": f"Bearer {token}"}
        try:
            if args.path == "cloudrun":
                made = await client.post("/v1/runs", json={"model": "wrf"}, headers=headers)
                path = f"/v1/runs/{(await made.json())['id']}"
            if args.path in ("rescale", "statuses"):
                headers = {"Authorization": f"Token {token}"}
                made = await client.post(
                    "/api/v2/jobs/", json=rescale_job("true", name="t"), headers=headers
                )
                path = f"/api/v2/jobs/{(await made.json())['id']}/"
                if args.path == "statuses":
                    path += "statuses/"
            for _ in range(20):
                (await client.get(path, headers=headers)).release()
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.requests):
                resp = await client.get(path, headers=headers)
                await resp.read()
            profile.disable()
        finally:
            await client.close()
        stats = pstats.Stats(profile).strip_dirs()
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    asyncio.run(main())
