"""Every setting in one table; values come from defaults < TOML file < LOCALRUN_* env < flags."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any, get_type_hints

import platformdirs

from localrun.executor.local.machine import physical_cores

SCHEDULER_CORES = 1 << 20  # no limit of localrun's own: the scheduler refuses what it cannot give
MAX_CFL_RETRIES = 10


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the setting and its source."""


def _default_data_dir() -> str:
    return platformdirs.user_data_dir("localrun", appauthor=False)


def _default_config_file() -> str:
    return str(Path(platformdirs.user_config_dir("localrun", appauthor=False)) / "localrun.toml")


def default_mpirun() -> str:
    beside = Path(sys.executable).parent / "mpiexec"
    if beside.exists():
        return str(beside)
    return shutil.which("mpiexec") or shutil.which("mpirun") or "mpiexec"


def setting(default: Any, help: str) -> Any:
    """A field of Settings: its default (a callable is called for each Settings) and its help."""
    if callable(default):
        return field(default_factory=default, metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    """Every setting, declared once: a new setting is one field here."""

    host: str = setting("127.0.0.1", "Address to listen on.")
    port: int = setting(8080, "TCP port to listen on (0 picks a free one).")
    allow_remote: bool = setting(
        False, "Allow a non-loopback host without TLS (only behind a trusted network)."
    )
    tls_cert: str = setting("", "PEM certificate file; with tls_key the daemon speaks HTTPS.")
    tls_key: str = setting("", "PEM private key file for tls_cert.")
    data_dir: str = setting(_default_data_dir, "Where the database and run directories live.")
    cores: int = setting(0, "Cores the daemon may hand out to runs (0 = physical cores).")
    mpirun: str = setting(default_mpirun, "MPI launcher (mpiexec/mpirun) used for every run.")
    executor: str = setting(
        "local", "Where runs run: local (this machine) or slurm (one batch job per run)."
    )
    slurm_partition: str = setting("", "Slurm partition of every job (empty = the default).")
    slurm_account: str = setting("", "Slurm account charged for every job (empty = yours).")
    slurm_mpi: str = setting(
        "pmi2", "srun's --mpi plugin for the model (pmi2, pmix, ...), or mpirun to use mpirun."
    )
    slurm_extra_args: str = setting("", "More sbatch arguments, shell-quoted (e.g. --qos=low).")
    slurm_sbatch: str = setting("sbatch", "The sbatch command.")
    slurm_squeue: str = setting("squeue", "The squeue command.")
    slurm_scancel: str = setting("scancel", "The scancel command.")
    slurm_sacct: str = setting("sacct", "The sacct command (used when accounting is there).")
    slurm_scontrol: str = setting("scontrol", "The scontrol command.")
    slurm_sinfo: str = setting("sinfo", "The sinfo command.")
    models: str = setting(
        "",
        "Real model executables, 'wrf:4.7.1=/path/wrf.exe' separated by commas; "
        "empty = the built-in simulator for every version.",
    )
    version_fallback: str = setting(
        "auto",
        "What a model version that is not configured gets: auto (the simulator when no real "
        "model is configured, else refused), refuse, simulator or newest.",
    )
    walltime_s: int = setting(24 * 3600, "Default wall-clock limit of a run, in seconds.")
    run_disk_bytes: int = setting(
        0,
        "Bytes a run's folder may hold (its inputs, outputs and logs); past it the run is "
        "stopped and fails with disk_limit (0 = no limit).",
    )
    cfl_retries: int = setting(
        0,
        "Times a WRF run that fails with CFL is retried with a smaller time_step, as a linked "
        "run (0 = never); a run may ask for its own number.",
    )
    cfl_retry_factor: float = setting(
        0.75, "Each CFL retry's time_step, as a fraction of the one before (between 0 and 1)."
    )
    stop_grace_s: float = setting(10.0, "Seconds between SIGTERM and SIGKILL when stopping.")
    stall_floor_s: float = setting(120.0, "Least silence before the stall watchdog acts.")
    poll_interval_s: float = setting(1.0, "How often the supervisor samples live runs.")
    max_upload_bytes: int = setting(50 * 1024**3, "Largest single upload accepted, in bytes.")
    sim_speed: float = setting(1.0, "Speed factor of the built-in simulator (10 = 10x faster).")
    cost_per_core_hour: float = setting(0.0, "Price of one core-hour, used in estimates.")
    handler_timeout_s: int = setting(
        600, "Time limit of one handler call (a Sharedcloud job), in seconds."
    )
    open_signup: bool = setting(
        False, "Let anyone who reaches the port create an account (POST /api/v1/users/)."
    )
    input_url_dirs: str = setting(
        "",
        "Directories, separated by commas, that file:// input URLs may read from "
        "(empty = file:// URLs refused).",
    )
    wherobots_prefix: str = setting(
        "", "Path the Wherobots API is served under (e.g. /wb); empty = at the root."
    )
    s3_prefix: str = setting(
        "/s3", "Path the S3-compatible object endpoint is served under (e.g. /s3)."
    )
    s3_credentials_ttl_s: int = setting(
        3600, "Lifetime of the temporary object-store credentials handed out, in seconds."
    )
    quota_bytes: int = setting(
        0, "Bytes an owner's uploads, inputs and stored objects may take in all (0 = no quota)."
    )
    fetch_private_addresses: bool = setting(
        False, "Let inputs by URL come from loopback, link-local and private addresses."
    )
    sandbox: str = setting(
        "auto",
        "Run isolation: bubblewrap (required), auto (bubblewrap when it works) or none.",
    )
    sandbox_network: bool = setting(
        False, "Let sandboxed runs use the network (by default they have none)."
    )
    single_user: bool = setting(
        False, "Declare the host single-user: shell jobs from several owners run unsandboxed."
    )
    script_python: str = setting(
        "", "Python interpreter of script runs (Wherobots runPython); empty = the daemon's own."
    )
    package_index: str = setting(
        "",
        "Where script runs may install PyPI packages from: an index URL or a folder of wheels "
        "(empty = installing packages is refused).",
    )
    metrics_token: str = setting(
        "", "Bearer token GET /metrics asks for; empty = /metrics answers loopback clients only."
    )
    admin_token: str = setting(
        "", "Bearer token of the loopback-only test admin API (empty = that API is off)."
    )
    log_level: str = setting("info", "debug, info, warning or error.")

    @cached_property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser()

    @property
    def total_cores(self) -> int:
        """Cores localrun hands out; under Slurm with no cores setting, Slurm alone decides."""
        if self.cores > 0:
            return self.cores
        return SCHEDULER_CORES if self.executor == "slurm" else physical_cores()

    @property
    def model_paths(self) -> dict[tuple[str, str], str]:
        """{("wrf", "4.7.1"): "/path/wrf.exe"} from the models setting."""
        table: dict[tuple[str, str], str] = {}
        for item in filter(None, (p.strip() for p in self.models.split(","))):
            key, _, path = item.partition("=")
            model, _, version = key.partition(":")
            if not path or not version:
                raise SettingsError(f"models: {item!r} is not of the form model:version=/path")
            table[(model.strip().lower(), version.strip())] = path.strip()
        return table

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert and self.tls_key)


@dataclass(frozen=True)
class Setting:
    """A setting as the CLI, the environment and the config file see it."""

    name: str
    type: type
    help: str

    @property
    def env(self) -> str:
        return "LOCALRUN_" + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


_TYPES = get_type_hints(Settings)
SETTINGS: tuple[Setting, ...] = tuple(
    Setting(f.name, _TYPES[f.name], f.metadata["help"]) for f in fields(Settings)
)
_BY_NAME = {s.name: s for s in SETTINGS}


def cast(setting: Setting, raw: Any, source: str) -> Any:
    if setting.type is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off", ""}:
            return False
        raise SettingsError(f"{setting.name} from {source}: {raw!r} is not true or false")
    try:
        return setting.type(raw)
    except (TypeError, ValueError):
        kind = setting.type.__name__
        raise SettingsError(
            f"{setting.name} from {source}: {raw!r} is not a valid {kind}"
        ) from None


def load(
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: str | None = None,
) -> Settings:
    """Resolve every setting; later sources win: default, file, environment, flags."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    named = config_file or environ.get("LOCALRUN_CONFIG")
    if named:  # a file asked for by name must be there
        values.update(_read_file(Path(named)))
    elif named is None and Path(_default_config_file()).exists():  # LOCALRUN_CONFIG="": none
        values.update(_read_file(Path(_default_config_file())))
    for setting in SETTINGS:
        if setting.env in environ and environ[setting.env] != "":
            values[setting.name] = cast(setting, environ[setting.env], setting.env)
    for name, raw in (flags or {}).items():
        if raw is not None:
            values[name] = cast(_BY_NAME[name], raw, _BY_NAME[name].flag)
    settings = Settings(**values)
    _validate(settings)
    return settings


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise SettingsError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path}: {exc}") from None
    section = data.get("localrun", data)
    unknown = sorted(set(section) - set(_BY_NAME))
    if unknown:
        raise SettingsError(f"config file {path}: unknown settings {', '.join(unknown)}")
    return {k: cast(_BY_NAME[k], v, str(path)) for k, v in section.items()}


def _validate(settings: Settings) -> None:
    if not 0 <= settings.port <= 65535:
        raise SettingsError(f"port: {settings.port} is not a TCP port")
    if settings.cores < 0:
        raise SettingsError("cores: must be 0 (all physical cores) or more")
    if bool(settings.tls_cert) != bool(settings.tls_key):
        raise SettingsError("tls_cert and tls_key go together: give both or neither")
    if settings.log_level not in {"debug", "info", "warning", "error"}:
        raise SettingsError(f"log_level: {settings.log_level!r} is not debug/info/warning/error")
    prefix = settings.wherobots_prefix
    if prefix and (not prefix.startswith("/") or prefix.rstrip("/") == "" or "//" in prefix):
        raise SettingsError(f"wherobots_prefix: {prefix!r} must be empty or a path like /wb")
    s3 = settings.s3_prefix
    if not s3.startswith("/") or s3.rstrip("/") == "" or "//" in s3:
        raise SettingsError(f"s3_prefix: {s3!r} must be a path like /s3")
    if settings.sandbox not in {"auto", "bubblewrap", "none"}:
        raise SettingsError(f"sandbox: {settings.sandbox!r} is not auto, bubblewrap or none")
    for name in (
        "walltime_s",
        "stop_grace_s",
        "poll_interval_s",
        "sim_speed",
        "max_upload_bytes",
        "s3_credentials_ttl_s",
    ):
        if getattr(settings, name) <= 0:
            raise SettingsError(f"{name}: must be positive")
    if settings.run_disk_bytes < 0:
        raise SettingsError("run_disk_bytes: must be 0 (no limit) or more")
    if not 0 <= settings.cfl_retries <= MAX_CFL_RETRIES:
        raise SettingsError(f"cfl_retries: must be between 0 and {MAX_CFL_RETRIES}")
    if not 0 < settings.cfl_retry_factor < 1:
        raise SettingsError("cfl_retry_factor: must be between 0 and 1 (0.75 is usual)")
    if settings.handler_timeout_s <= 0:
        raise SettingsError("handler_timeout_s: must be positive")
    settings.model_paths  # noqa: B018 - raises SettingsError on a malformed value
    if settings.version_fallback not in ("auto", "refuse", "simulator", "newest"):
        raise SettingsError(
            f"version_fallback: {settings.version_fallback!r} is not auto, refuse, simulator "
            "or newest"
        )
    if settings.executor not in {"local", "slurm"}:
        raise SettingsError(f"executor: {settings.executor!r} is not local or slurm")
    try:
        shlex.split(settings.slurm_extra_args)
    except ValueError as exc:
        raise SettingsError(f"slurm_extra_args: {exc}") from None
