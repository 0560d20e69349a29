"""One handler call: the result is repr of the return, a raise is a traceback and status 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from localrun.handlers.runner import call, main


def files(tmp_path: Path, code: str, event: str = "(1, 'a')") -> tuple[Path, Path, Path]:
    (tmp_path / "function.py").write_text(code)
    (tmp_path / "event.txt").write_text(event)
    return tmp_path / "function.py", tmp_path / "event.txt", tmp_path / "result"


def test_a_call_writes_repr_of_its_return(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code = "def handler(event):\n    print('got', event)\n    return {'n': event[0], 'x': [1.5]}\n"
    assert call(*files(tmp_path, code)) == 0
    assert (tmp_path / "result").read_text() == "{'n': 1, 'x': [1.5]}"
    assert capsys.readouterr().out == "got (1, 'a')\n"


def test_a_raise_is_its_traceback_without_the_runner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code = "def handler(event):\n    raise ValueError('bad %s' % (event,))\n"
    assert call(*files(tmp_path, code)) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):\n")
    assert 'function.py", line 2, in handler' in err and "ValueError: bad (1, 'a')" in err
    assert "runner.py" not in err and "runpy" not in err
    assert not (tmp_path / "result").exists()


@pytest.mark.parametrize("code", ["x = 1\n", "raise SystemError('at import')\n", "def handler(:"])
def test_code_without_a_working_handler_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: str
) -> None:
    monkeypatch.chdir(tmp_path)
    assert call(*files(tmp_path, code)) == 1


def test_usage() -> None:
    assert main(["one"]) == 2


def test_an_async_handler_is_awaited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code = (
        "import asyncio\n\nasync def handler(event):\n"
        "    await asyncio.sleep(0)\n    print('awaited')\n    return event[0] * 2\n"
    )
    assert call(*files(tmp_path, code)) == 0
    assert (tmp_path / "result").read_text() == "2"
    captured = capsys.readouterr()
    assert captured.out == "awaited\n" and "never awaited" not in captured.err


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        ("sys.exit(0)", "SystemExit: 0"),
        ("sys.exit('why')", "SystemExit: why"),
        ("raise KeyboardInterrupt", "KeyboardInterrupt"),
    ],
)
def test_exiting_instead_of_returning_fails_with_its_traceback(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    body: str,
    shown: str,
) -> None:
    """A handler that exits never returned: the job fails (it does not succeed with no
    result, nor end by a signal), with the traceback in stderr like any raise."""
    monkeypatch.chdir(tmp_path)
    code = f"import sys\n\ndef handler(event):\n    {body}\n"
    assert call(*files(tmp_path, code)) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):\n") and shown in err
    assert 'function.py", line 4, in handler' in err
    assert not (tmp_path / "result").exists()


def test_an_async_raise_shows_only_the_handlers_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code = "async def handler(event):\n    raise ValueError('async bad')\n"
    assert call(*files(tmp_path, code)) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):\n")
    assert 'function.py", line 2, in handler' in err and "ValueError: async bad" in err
    assert "asyncio" not in err and "runner.py" not in err


def test_a_chained_raise_keeps_its_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code = (
        "def handler(event):\n    try:\n        {}['k']\n"
        "    except KeyError as exc:\n        raise RuntimeError('wrapped') from exc\n"
    )
    assert call(*files(tmp_path, code)) == 1
    err = capsys.readouterr().err
    assert "KeyError: 'k'" in err and "direct cause" in err and "RuntimeError: wrapped" in err
    assert "runner.py" not in err
