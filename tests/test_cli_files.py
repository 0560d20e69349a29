"""The commands on local files: example, inspect, estimate, completion; and a closed pipe."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from localrun.cli import main
from tests.conftest import FIXTURES


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_example_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["example", str(tmp_path / "case")]) == 0
    capsys.readouterr()
    (tmp_path / "case" / "namelist.input").write_text("mine")
    assert main(["example", str(tmp_path / "case")]) == 1
    assert "exists" in one_line(capsys)
    assert (tmp_path / "case" / "namelist.input").read_text() == "mine"
    assert main(["example", str(tmp_path / "case"), "--force"]) == 0
    assert (tmp_path / "case" / "namelist.input").read_text() != "mine"
    assert main(["example", "/proc/nope"]) == 1
    capsys.readouterr()


def test_inspect_bad_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", "/nonexistent"]) == 2
    assert "does not exist" in one_line(capsys)
    (tmp_path / "f").write_text("x")
    assert main(["inspect", str(tmp_path / "f")]) == 2
    assert "is a file" in one_line(capsys)
    (tmp_path / "empty").mkdir()
    assert main(["inspect", str(tmp_path / "empty")]) == 1
    assert "found no WRF run" in one_line(capsys)
    run = str(FIXTURES / "fatal_namelist_typo")
    assert main(["inspect", run, "--stdout", str(tmp_path / "none")]) == 2
    assert "--stdout" in one_line(capsys)


def test_estimate_of_a_binary_or_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", sys.executable]) == 2
    assert "not a namelist" in one_line(capsys)
    assert main(["estimate", "/nonexistent/namelist.input"]) == 2
    assert "does not exist" in one_line(capsys)
    assert main(["estimate", "/"]) == 2
    assert "directory" in one_line(capsys)


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_is_generated(shell: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert "localrun" in script and "submit" in script and "--oversubscribe" in script


def test_bash_completion_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "bash"]) == 0
    (tmp_path / "c.sh").write_text(capsys.readouterr().out)
    done = subprocess.run(
        ["bash", "-c", f"source {tmp_path / 'c.sh'} && complete -p localrun"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "localrun" in done.stdout, done.stderr


def test_a_closed_pipe_is_quiet() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "localrun", "completion", "zsh"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # as `| head` does once it has what it wants
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert err == ""
