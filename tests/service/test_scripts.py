from __future__ import annotations

import shutil
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from localrun.errors import Invalid, NotFound
from localrun.service import Service
from localrun.service.scripts import Script, _LineIndex, _read_lines


def test_lines_are_numbered_from_one_and_a_partial_line_waits_for_the_end(tmp_path: Path) -> None:
    log = tmp_path / "mpirun.stdout"
    log.write_bytes(b"one\ntwo\r\nthr")
    index = _LineIndex()
    assert _read_lines(log, index, 0, 10, ended=False) == [(1, "one"), (2, "two")]
    assert _read_lines(log, index, 1, 1, ended=False) == [(2, "two")]
    assert _read_lines(log, index, 2, 10, ended=False) == []
    with log.open("ab") as handle:
        handle.write(b"ee\nfour")
    assert _read_lines(log, index, 2, 10, ended=False) == [(3, "three")]
    assert _read_lines(log, index, 3, 10, ended=True) == [(4, "four")]
    assert _read_lines(tmp_path / "absent", _LineIndex(), 0, 10, ended=True) == []


def test_reads_of_one_log_at_once_keep_its_index_whole(tmp_path: Path) -> None:
    """Two clients reading a run's log at the same time (each read in a worker thread)."""
    log = tmp_path / "mpirun.stdout"
    log.write_bytes(b"".join(b"line %d\n" % k for k in range(100_000)))
    index = _LineIndex()
    pages: list[list[tuple[int, str]]] = []

    def read() -> None:
        pages.append(_read_lines(log, index, 49_999, 2, ended=False))

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    assert len(index.starts) == 100_001 and index.starts == sorted(set(index.starts))
    assert pages == [[(50_000, "line 49999"), (50_001, "line 50000")]] * 4


async def _one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_a_run_that_needs_what_the_host_lacks_is_refused_and_not_stored(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    await service.put_object("alice", "s/a.py", _one_chunk(b"print(1)"))
    await service.put_object("alice", "s/a.jar", _one_chunk(b"PK"))
    base = "s3://localrun/alice/s/"

    async def create(script: Script) -> None:
        await service.create_script_run(
            "alice", "wherobots", name="refused", script=script, walltime_s=60, cores=1, extra={}
        )

    with pytest.raises(Invalid, match=r"packages \(numpy==2.0\).*not enabled"):
        await create(Script(base + "a.py", requirements=("numpy==2.0",)))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(Invalid, match="java"):
        await create(Script(base + "a.jar", main_class="Main"))
    with pytest.raises(NotFound):
        await create(Script(base + "absent.py"))
    with pytest.raises(Invalid, match="same name"):
        await create(Script(base + "a.py", file_uris=(base + "a.py",)))
    await service.put_object("alice", "s/.hidden.py", _one_chunk(b"print(1)"))
    with pytest.raises(Invalid, match=r"\.hidden\.py.*starts with '\.'"):
        await create(Script(base + ".hidden.py"))  # it would not be staged into work/
    assert await service.list_runs("alice") == []
