"""The environment a run starts with: what the system, the locale and MPI need from the
daemon's own, never the rest. The daemon's environment can hold secrets (LOCALRUN_TOKEN,
LOCALRUN_METRICS_TOKEN, AWS_SECRET_ACCESS_KEY, a CI's tokens) that a run must not read."""

from __future__ import annotations

import os
from collections.abc import Mapping

KEPT = frozenset(
    {
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "HOSTNAME",
        "TERM",
        "TZ",
        "TMPDIR",
        "LANG",
        "LANGUAGE",
        "LD_LIBRARY_PATH",
        "PYTHONPATH",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
    }
)
# the locale, the MPI libraries' and the model's own tuning, Slurm's configuration, and the
# simulator's knobs
KEPT_PREFIXES = (
    "LC_",
    "MPICH_",
    "HYDRA_",
    "I_MPI_",
    "OMPI_",
    "PMIX_",
    "UCX_",
    "FI_",
    "OMP_",
    "HDF5_",
    "NETCDF",
    "SLURM_CONF",
    "LOCALRUN_SIM_",
)


def run_environment(
    own: Mapping[str, str], daemon: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The daemon's variables a run may see, then the run's own on top."""
    source = os.environ if daemon is None else daemon
    kept = {k: v for k, v in source.items() if k in KEPT or k.startswith(KEPT_PREFIXES)}
    return {**kept, **own}
