from __future__ import annotations

import re
from pathlib import Path

import pytest

from localrun.config import SETTINGS, Settings, SettingsError, load, setting_names

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_is_in_the_table_and_the_dataclass() -> None:
    assert [s.name for s in SETTINGS] == setting_names()


def test_every_setting_is_documented_in_the_readme() -> None:
    text = README.read_text()
    missing = [s.name for s in SETTINGS if not re.search(rf"`{s.name}`", text)]
    assert missing == []


def test_flag_beats_env_beats_file_beats_default(tmp_path: Path) -> None:
    file = tmp_path / "localrun.toml"
    file.write_text("port = 9001\ncores = 3\nsim_speed = 2.5\n")
    env = {"LOCALRUN_PORT": "9002", "LOCALRUN_CORES": "4"}
    settings = load(flags={"port": "9003"}, environ=env, config_file=str(file))
    assert settings.port == 9003
    assert settings.cores == 4
    assert settings.sim_speed == 2.5
    assert settings.walltime_s == Settings().walltime_s


def test_bad_env_value_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="LOCALRUN_PORT"):
        load(environ={"LOCALRUN_PORT": "eighty"}, config_file=None)


def test_unknown_setting_in_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text("prot = 1\n")
    with pytest.raises(SettingsError, match="prot"):
        load(environ={}, config_file=str(file))


def test_booleans_and_tls_pairing() -> None:
    assert load(environ={"LOCALRUN_ALLOW_REMOTE": "yes"}).allow_remote is True
    with pytest.raises(SettingsError, match="tls"):
        load(environ={"LOCALRUN_TLS_CERT": "/x.pem"})


def test_models_setting_parses_and_rejects() -> None:
    settings = load(environ={"LOCALRUN_MODELS": "wrf:4.7.1=/opt/wrf/wrf.exe, wrf:3.9=/w"})
    assert settings.model_paths == {("wrf", "4.7.1"): "/opt/wrf/wrf.exe", ("wrf", "3.9"): "/w"}
    with pytest.raises(SettingsError, match="models"):
        load(environ={"LOCALRUN_MODELS": "wrf=/x"})


def test_defaults_bind_loopback_and_use_physical_cores() -> None:
    settings = Settings()
    assert settings.host == "127.0.0.1"
    assert settings.port == 8080
    assert settings.total_cores >= 1
