"""A reader made at an offset near the end of a ~1 GB rsl.out.0000 costs what the new bytes cost.

Builds the file by repeating the Timing lines of a real run, then times
`RslReader(work, offset=...).poll()` over the last bytes against a plain read of the same bytes,
and against a reader over a small file that holds only those bytes.

python benchmarks/rsl_tail.py [--gb 1.0] [--new-kib 256] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from localrun.wrf.rsl import RslReader

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("LOCALRUN_FIXTURES", REPO / "tests" / "fixtures" / "wrf"))
SAMPLE = FIXTURES / "killed_sigterm" / "rsl.out.0000"
FALLBACK = (
    b"Timing for main: time 0001-01-01_00:27:48 on domain   1:    0.07273 elapsed seconds\n"
    b"Timing for Writing wrfout_d01_0001-01-01_00:20:00 for domain        1:"
    b"    0.12305 elapsed seconds\n"
)


def block(target: int = 1 << 20) -> bytes:
    """About `target` bytes of real Timing lines, whole lines only."""
    if SAMPLE.is_file():
        lines = SAMPLE.read_bytes().splitlines(keepends=True)
        lines = [x for x in lines if x.startswith(b"Timing")]
    else:
        lines = FALLBACK.splitlines(keepends=True)
    one = b"".join(lines)
    return one * max(1, target // len(one))


def build(path: Path, size: int, chunk: bytes) -> None:
    with open(path, "wb") as out:
        for _ in range(max(1, size // len(chunk))):
            out.write(chunk)


def best_of(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.0, help="size of the log, in GB")
    parser.add_argument("--new-kib", type=int, default=256, help="bytes the reader reads, in KiB")
    parser.add_argument("--repeat", type=int, default=5, help="timings taken; the best is shown")
    args = parser.parse_args()
    chunk = block()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        log = work / "rsl.out.0000"
        started = time.perf_counter()
        build(log, int(args.gb * 1e9), chunk)
        built_s = time.perf_counter() - started
        size = log.stat().st_size
        with open(log, "rb") as handle:  # start at a line boundary near the end
            handle.seek(size - args.new_kib * 1024)
            offset = handle.tell() + len(handle.readline())
        new = size - offset

        def reader() -> int:
            return RslReader(work, offset=offset).poll()

        def plain() -> int:
            with open(log, "rb") as handle:
                handle.seek(offset)
                return len(handle.read())

        small = work / "small"
        small.mkdir()
        with open(log, "rb") as handle:
            handle.seek(offset)
            (small / "rsl.out.0000").write_bytes(handle.read())

        def alone() -> int:
            return RslReader(small).poll()

        steps = reader()
        assert alone() == steps
        reader_s = best_of(args.repeat, reader)
        plain_s = best_of(args.repeat, plain)
        alone_s = best_of(args.repeat, alone)
    print(f"log: {size / 1e9:.2f} GB, written in {built_s:.1f} s ({size / built_s / 1e9:.2f} GB/s)")
    print(f"new bytes after the offset: {new} ({new / 1024:.0f} KiB, {steps} Timing lines)")
    print(f"RslReader at the offset in the big file: {reader_s * 1e3:8.3f} ms")
    print(f"RslReader on a file of just those bytes: {alone_s * 1e3:8.3f} ms")
    print(f"plain seek + read of the same bytes:     {plain_s * 1e3:8.3f} ms")
    print(f"big file / small file:                   {reader_s / alone_s:8.2f}x")
    print(f"reader throughput:                       {new / reader_s / 1e6:8.1f} MB/s")


if __name__ == "__main__":
    main()
