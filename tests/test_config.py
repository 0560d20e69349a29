from __future__ import annotations

import re
from pathlib import Path

import pytest

from localrun.config import SETTINGS, Settings, SettingsError, load

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_has_help_and_a_type_the_sources_can_cast() -> None:
    assert {s.type for s in SETTINGS} <= {str, int, float, bool}
    assert all(s.help.strip().endswith(")") or s.help.strip().endswith(".") for s in SETTINGS)
    defaults = Settings()
    for s in SETTINGS:
        assert isinstance(getattr(defaults, s.name), s.type), s.name


def test_a_setting_round_trips_through_the_environment() -> None:
    for s in SETTINGS:
        value = getattr(Settings(), s.name)
        text = str(value).lower() if s.type is bool else str(value)
        if s.name in ("tls_cert", "tls_key"):
            continue  # they go together; covered by the TLS tests
        assert getattr(load(environ={s.env: text}, config_file=None), s.name) == value


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
