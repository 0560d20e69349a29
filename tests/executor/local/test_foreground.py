"""A command run to its end from inside a run."""

from __future__ import annotations

from pathlib import Path

from localrun.executor.local.foreground import run_to_end


def test_status_and_output(tmp_path: Path) -> None:
    out, err = tmp_path / "out", tmp_path / "err"
    status = run_to_end(["/bin/sh", "-c", "pwd; echo oops >&2; exit 3"], tmp_path, out, err)
    assert status == 3
    assert out.read_text() == f"{tmp_path}\n" and err.read_text() == "oops\n"
    assert run_to_end(["/bin/sh", "-c", "kill -TERM $$"], tmp_path, out, err) == -15
