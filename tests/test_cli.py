from __future__ import annotations

from pathlib import Path

import pytest

from localrun.cli import build_parser, main
from localrun.cli.example import copy_example
from localrun.cli.progress import progress_line
from localrun.cli.serve import check_bind
from localrun.config import SettingsError
from tests.conftest import FIXTURES, make_settings


def test_non_loopback_bind_needs_tls_or_a_flag(tmp_path: Path) -> None:
    check_bind(make_settings(tmp_path, host="127.0.0.1"))
    check_bind(make_settings(tmp_path, host="::1"))
    with pytest.raises(SettingsError, match="loopback"):
        check_bind(make_settings(tmp_path, host="0.0.0.0"))
    check_bind(make_settings(tmp_path, host="0.0.0.0", allow_remote=True))
    check_bind(make_settings(tmp_path, host="0.0.0.0", tls_cert="c", tls_key="k"))


def test_serve_refuses_a_public_bind_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--host", "0.0.0.0", "--data-dir", "/tmp/never-used"]) == 2
    assert "loopback" in capsys.readouterr().err


def test_progress_line() -> None:
    line = progress_line(
        {"state": "running", "progress": {"percent": 50, "remaining_s": 75, "model_time": "t"}}
    )
    assert "50.0%" in line and "left 75.0 s" in line and "#" * 15 in line


def test_every_data_command_takes_json() -> None:
    parser = build_parser()
    for command in ("submit x", "list", "status x", "stop x", "check", "inspect d", "estimate n"):
        args = parser.parse_args([*command.split(), "--json"])
        assert args.json is True


def test_example_copies_a_runnable_case(tmp_path: Path) -> None:
    paths = copy_example(tmp_path / "case")
    assert sorted(p.name for p in paths) == ["namelist.input", "wrfinput_d01"]


def test_inspect_prints_the_diagnosis(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(FIXTURES / "fatal_namelist_typo")]) == 0
    out = capsys.readouterr().out
    assert "failed (namelist)" in out and "histroy_interval" in out


def test_estimate_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", str(FIXTURES / "case_quarter_ss" / "namelist.input")]) == 0
    assert "cores" in capsys.readouterr().out
    assert main(["estimate", "/nonexistent/namelist.input"]) == 2


def test_estimate_uses_this_hosts_calibration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio
    import socket
    from dataclasses import asdict

    from localrun.store import Store
    from localrun.wrf.estimate import make_sample
    from localrun.wrf.namelist import read_case

    namelist = FIXTURES / "case_quarter_ss" / "namelist.input"
    case = read_case(namelist)
    host = socket.gethostname()
    sample = make_sample(
        case, host=host, cores=2, median_step_s={1: 0.5}, wall_s=300.0, model="real"
    )

    async def record() -> None:
        store = await Store.open(tmp_path / "localrun.db")
        await store.add_sample("r1", host, asdict(sample))
        await store.close()

    asyncio.run(record())
    assert main(["estimate", str(namelist), "--data-dir", str(tmp_path), "--cores", "2"]) == 0
    out = capsys.readouterr().out
    assert "calibrated on 1 run(s)" in out


def test_progress_line_shows_long_waits_in_minutes() -> None:
    line = progress_line({"state": "running", "progress": {"percent": 5, "remaining_s": 3725}})
    assert "left 1h 02m" in line
