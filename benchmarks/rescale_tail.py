"""How long the Rescale `tail/{path}?lines=N` read takes on a 1 GB file, whatever it holds.

Makes sparse files of --gb gigabytes: one ending in short lines, one with no newline at all
(the worst case: a reader that looks for N newlines would scan the whole file), and times
Service.tail_file on each for a few line counts.

python benchmarks/rescale_tail.py [--gb 1.0] [--repeat 5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from localrun import files


def sparse(path: Path, size: int, tail: bytes) -> Path:
    with path.open("wb") as handle:
        handle.truncate(size)
    with path.open("ab") as handle:
        handle.write(tail)
    return path


def best_ms(path: Path, lines: int, repeat: int) -> tuple[float, int]:
    times, got = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        got = len(files.tail_lines(path, lines))
        times.append(time.perf_counter() - start)
    return min(times) * 1000, got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    size = int(args.gb * (1 << 30))
    timing = (
        b"Timing for main: time 0001-01-01_00:27:48 on domain   1:    0.07273 elapsed seconds\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        files = {
            "lines at the end": sparse(Path(tmp) / "lines.log", size, b"\n" + timing * 2000),
            "no newline at all": sparse(Path(tmp) / "zeros.bin", size, b""),
        }
        print(f"file size {size / (1 << 30):.2f} GiB, best of {args.repeat}")
        for label, path in files.items():
            for lines in (10, 1000, 100_000):
                ms, got = best_ms(path, lines, args.repeat)
                print(f"  {label:18s} lines={lines:<7d} -> {got:6d} lines in {ms:8.2f} ms")


if __name__ == "__main__":
    main()
