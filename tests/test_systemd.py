"""The shipped unit and example settings file: the settings file loads, the unit's paths agree."""

from __future__ import annotations

from localrun.config import load
from tests.conftest import REPO


def test_the_example_settings_file_loads() -> None:
    settings = load(environ={}, config_file=str(REPO / "systemd" / "localrun.toml.example"))
    assert settings.data_dir == "/var/lib/localrun/data" and settings.port == 8080


def test_the_unit_reads_the_example_and_keeps_runs_alive() -> None:
    unit = (REPO / "systemd" / "localrun.service").read_text()
    assert "Environment=LOCALRUN_CONFIG=/etc/localrun/localrun.toml" in unit
    assert "KillMode=process" in unit and "Type=notify" in unit
    assert "ExecStart=/opt/localrun/venv/bin/localrun serve" in unit
    assert "localrun.toml.example /etc/localrun/localrun.toml" in unit
