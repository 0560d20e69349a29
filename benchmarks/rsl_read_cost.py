"""Reading the tail of a huge rsl.out.0000 costs what the new bytes cost, not the file's size.

python benchmarks/rsl_read_cost.py [--gib 1.0]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from localrun.wrf.rsl import RslReader

LINE = (
    "Timing for main: time 0001-01-01_00:{m:02d}:{s:02d} on domain   1:"
    "    0.06714 elapsed seconds\n"
)


def build(path: Path, size: int) -> None:
    block = "".join(LINE.format(m=(i // 5) % 60, s=(i * 12) % 60) for i in range(5000)).encode()
    with open(path, "wb") as out:
        written = 0
        while written < size:
            out.write(block)
            written += len(block)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gib", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        log = work / "rsl.out.0000"
        started = time.perf_counter()
        build(log, int(args.gib * 1024**3))
        size = log.stat().st_size
        print(f"built {size / 1e9:.2f} GB in {time.perf_counter() - started:.1f} s")
        new = "".join(LINE.format(m=i % 60, s=0) for i in range(1000)).encode()
        reader = RslReader(work, offset=size)
        with open(log, "ab") as out:
            out.write(new)
        started = time.perf_counter()
        steps = reader.poll()
        reader_s = time.perf_counter() - started
        started = time.perf_counter()
        with open(log, "rb") as handle:
            handle.seek(size)
            raw = handle.read()
        raw_s = time.perf_counter() - started
        small = work / "small"
        small.mkdir()
        (small / "rsl.out.0000").write_bytes(new)
        started = time.perf_counter()
        RslReader(small).poll()
        small_s = time.perf_counter() - started
        print(f"new bytes: {len(raw)} ({steps} Timing lines)")
        print(f"reader from offset near the end of the big file: {reader_s * 1e3:.2f} ms")
        print(f"reader on a file holding only the new bytes:     {small_s * 1e3:.2f} ms")
        print(f"plain read of the new bytes (no parsing):        {raw_s * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
