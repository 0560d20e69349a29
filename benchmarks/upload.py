"""A 2 GB input upload: throughput against cp on the same disk, and the daemon's memory meanwhile.

Makes a --gb file in the temp directory (a 16 MiB random block repeated, or with --sparse a
sparse file of zeros), then on the same file system:

  cp         `cp big.bin copy.bin`, timed to its exit, then with a sync after it
  upload     `PUT /localrun/v1/runs/{id}/inputs/{name}` through localrun.client.Client.upload
             (the file's bytes as the body, sent with sendfile), or with --multipart
             `POST /localrun/v1/runs/{id}/inputs` through Client.upload_multipart (a streamed
             multipart body, 1 MiB reads); timed to the 201, then with a sync after it

The page cache is flushed (sync) before each. While the upload runs, the daemon's RSS is sampled
every 0.2 s (it must stay flat: the body is streamed to disk, never held) and GET /healthz is
timed every 0.2 s from another connection (how long the event loop is kept busy). Checks the
stored size and md5 against the file's. Everything it writes is removed at the end.

python benchmarks/upload.py [--gb 2] [--sparse] [--multipart]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from _harness import Daemon, median, percentile, run_benchmark, temp_dir

from localrun.client import Client

BLOCK = 16 * 1024 * 1024
MARGIN = 1 << 30
SAMPLE_S = 0.2


@dataclass
class Samples:
    rss: list[tuple[float, int]] = field(default_factory=list)
    health_ms: list[tuple[float, float]] = field(default_factory=list)


def sized(gb: float, where: Path) -> int:
    """The bytes to use: --gb, or less when three copies and a margin do not fit."""
    wanted = int(gb * (1 << 30))
    free = shutil.disk_usage(where).free
    fits = (free - MARGIN) // 3
    if wanted <= fits:
        return wanted
    size = max(0, fits) // BLOCK * BLOCK
    if size < BLOCK:
        raise SystemExit(f"only {free / 2**30:.1f} GiB free in {where}; not enough for a test")
    print(
        f"only {free / 2**30:.1f} GiB free in {where}: the source, the upload and the cp copy "
        f"need 3 × {gb:g} GiB; scaling down to {size / 2**30:.2f} GiB"
    )
    return size


def make_file(path: Path, size: int, sparse: bool) -> str:
    """Write the file; returns its md5."""
    digest = hashlib.md5(usedforsecurity=False)
    if sparse:
        with path.open("wb") as out:
            out.truncate(size)
        zeros = bytes(BLOCK)
        for start in range(0, size, BLOCK):
            digest.update(zeros[: min(BLOCK, size - start)])
        return digest.hexdigest()
    block = os.urandom(BLOCK)
    with path.open("wb") as out:
        for start in range(0, size, BLOCK):
            piece = block[: min(BLOCK, size - start)]
            out.write(piece)
            digest.update(piece)
    return digest.hexdigest()


def sample(pid: int, health_url: str, stop: threading.Event, into: Samples) -> None:
    """RSS of the daemon and the latency of GET /healthz, every SAMPLE_S until stop."""
    proc = psutil.Process(pid)
    while not stop.is_set():
        into.rss.append((time.monotonic(), proc.memory_info().rss))
        began = time.perf_counter()
        with urllib.request.urlopen(health_url, timeout=30) as resp:
            resp.read()
        into.health_ms.append((time.monotonic(), (time.perf_counter() - began) * 1000))
        stop.wait(SAMPLE_S)


def timed(action: list[str]) -> tuple[float, float]:
    """Seconds until the command exits, and until a sync after it returns."""
    began = time.perf_counter()
    subprocess.run(action, check=True)
    done = time.perf_counter() - began
    os.sync()
    return done, time.perf_counter() - began


def rate(size: int, seconds: float) -> str:
    return f"{size / 2**20 / seconds:8.0f} MiB/s ({seconds:6.2f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=2.0, help="file size in GiB")
    parser.add_argument("--sparse", action="store_true", help="a sparse file of zeros")
    parser.add_argument("--multipart", action="store_true", help="POST multipart, not PUT")
    args = parser.parse_args()
    size = sized(args.gb, Path(tempfile.gettempdir()))
    samples = Samples()
    stop = threading.Event()
    with temp_dir("localrun-bench-upload-") as scratch, Daemon(cores=2) as daemon:
        source, copy = scratch / "big.bin", scratch / "copy.bin"
        began = time.perf_counter()
        md5 = make_file(source, size, args.sparse)
        os.sync()
        print(f"wrote {source} ({size / 2**30:.2f} GiB) in {time.perf_counter() - began:.1f} s")
        if os.stat(scratch).st_dev != os.stat(daemon.data_dir).st_dev:
            print("warning: the data directory is on another file system than the source")
        cp_s, cp_sync_s = timed(["cp", str(source), str(copy)])
        copy.unlink()
        os.sync()
        daemon.start()
        client = Client(daemon.url, daemon.token, timeout=120)
        run = client.create_run(name="upload")
        time.sleep(1.0)
        sampler = threading.Thread(
            target=sample, args=(daemon.pid, daemon.url + "/healthz", stop, samples)
        )
        sampler.start()
        try:
            time.sleep(10 * SAMPLE_S)
            daemon_cpu = psutil.Process(daemon.pid).cpu_times()
            own_cpu = time.process_time()
            upload_from = time.monotonic()
            began = time.perf_counter()
            send = client.upload_multipart if args.multipart else client.upload
            answer = send(run["id"], [source])
            up_s = time.perf_counter() - began
            upload_to = time.monotonic()
            own_cpu = time.process_time() - own_cpu
            after = psutil.Process(daemon.pid).cpu_times()
            daemon_busy = after.user - daemon_cpu.user + after.system - daemon_cpu.system
            os.sync()
            up_sync_s = time.perf_counter() - began
            time.sleep(5 * SAMPLE_S)
        finally:
            stop.set()
            sampler.join(timeout=60)
        stored = answer["files"][0]
        on_disk = daemon.data_dir / "runs" / run["id"] / "input" / source.name
        if stored["size"] != size or stored["md5"] != md5 or on_disk.stat().st_size != size:
            raise SystemExit(f"upload stored {stored} ({on_disk.stat().st_size} B on disk)")
        leftovers = [p.name for p in on_disk.parent.iterdir() if p.name.startswith(".upload-")]
        rss_start = [r for t, r in samples.rss if t <= upload_from][-1]
        during = [r for t, r in samples.rss if upload_from < t <= upload_to]
        rss_peak = max(r for _, r in samples.rss)
        rss_end = samples.rss[-1][1]
        health = [ms for t, ms in samples.health_ms if upload_from < t <= upload_to]
        health_idle = [ms for t, ms in samples.health_ms if t <= upload_from]
        kind = "sparse zeros" if args.sparse else "random 16 MiB block repeated"
        print(f"\n{size / 2**30:.2f} GiB ({kind}), one file system, page cache flushed before each")
        print(
            f"  cp                          {rate(size, cp_s)}   with sync {rate(size, cp_sync_s)}"
        )
        print(
            f"  upload ({'multipart' if args.multipart else 'raw PUT':9})"
            f"       {rate(size, up_s)}   with sync {rate(size, up_sync_s)}"
        )
        print(
            f"  CPU during the upload: daemon {100 * daemon_busy / up_s:.0f} % of a core, "
            f"client (this process) {100 * own_cpu / up_s:.0f} %"
        )
        print(f"  upload / cp                 {cp_s / up_s:8.2f} × the speed of cp")
        print(f"  stored size and md5 match; temporary files left: {leftovers or 'none'}")
        print(
            f"daemon RSS every {SAMPLE_S:g} s ({len(samples.rss)} samples, "
            f"{len(during)} during the upload):"
        )
        mib = [r / 2**20 for r in (rss_start, rss_peak, rss_end, rss_peak - rss_start)]
        print(
            f"  start {mib[0]:.1f} MiB   peak {mib[1]:.1f} MiB   end {mib[2]:.1f} MiB   "
            f"(peak − start {mib[3]:+.1f} MiB)"
        )
        for label, probes in (("before", health_idle), ("during", health)):
            print(
                f"GET /healthz {label} the upload ({len(probes)} probes): "
                f"median {median(probes):.1f} ms, p90 {percentile(probes, 90):.1f} ms, "
                f"max {max(probes):.1f} ms"
            )


if __name__ == "__main__":
    run_benchmark(main)
