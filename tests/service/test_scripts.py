from __future__ import annotations

from pathlib import Path

from localrun.service.scripts import _LineIndex, _read_lines


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
