"""The command line a local run starts: `mpirun -np N exe`, or the shell command, inside the
launch wrapper."""

from __future__ import annotations

from localrun.executor.base import LaunchRequest

# What `ulimit -s unlimited` does (up to the hard limit), then the run; its exit status goes to
# the file named by $0 before the wrapper ends, so that a run adopted after a daemon restart
# still has one. A run killed by a signal kills the wrapper with the same signal, so that the
# wrapper's own status reads like the run's. A shell rather than preexec_fn, which is unsafe
# while the daemon has worker threads.
# `trap : TERM` keeps the wrapper alive through a stop's SIGTERM (which every process of the
# run gets) so that it still records the status; a caught signal is reset in the children.
# The stack is set to unlimited at once where the hard limit allows it (no subshell: a fork
# less on every launch, 1.6 ms under load), else to the hard limit.
_STACK = 'ulimit -s unlimited 2>/dev/null || ulimit -s "$(ulimit -H -s)" 2>/dev/null; '
_RUN = "trap : TERM; " + _STACK + '"$@"; s=$?; echo "$s" > "$0"; '
_EARLIER_RUN = (
    'trap : TERM; ulimit -s "$(ulimit -H -s)" 2>/dev/null; "$@"; s=$?; echo "$s" > "$0"; '
)
_END = (
    'trap - TERM; if [ "$s" -gt 128 ] && [ "$s" -lt 160 ]; then kill -s "$((s - 128))" $$; fi; '
    'exit "$s"'
)
WRAPPER = _RUN + _END
# Inside the sandbox's own PID namespace the wrapper also kills whatever the run left behind
# (kill -1 reaches every process of the namespace but its init and the wrapper). Never outside.
SANDBOXED_WRAPPER = _RUN + "kill -KILL -1 2>/dev/null; " + _END
# what versions before this one spawned, so that their runs are still adopted
EARLIER_WRAPPERS = (_EARLIER_RUN + _END, _EARLIER_RUN + "kill -KILL -1 2>/dev/null; " + _END)


def run_argv(request: LaunchRequest, mpirun: str) -> list[str]:
    """The run itself: the model under the MPI launcher, or the shell command."""
    if request.command is not None:
        return ["/bin/sh", "-c", request.command]
    assert request.executable is not None
    return [mpirun, "-np", str(request.cores), request.executable]


def wrapped(
    argv: list[str], exit_file: str, sandbox: list[str] | None = None, earlier: bool = False
) -> list[str]:
    """argv inside the launch wrapper; inside the sandbox given by its bwrap options.
    earlier: the wrapper of earlier versions (see EARLIER_WRAPPERS)."""
    plain, sandboxed = EARLIER_WRAPPERS if earlier else (WRAPPER, SANDBOXED_WRAPPER)
    if sandbox is None:
        return ["/bin/sh", "-c", plain, exit_file, *argv]
    return [*sandbox, "/bin/sh", "-c", sandboxed, exit_file, *argv]


def status_from_file(text: str) -> int | None:
    """The exit status the wrapper wrote, as Popen reports it (-N for signal N)."""
    try:
        status = int(text.strip())
    except ValueError:
        return None
    return -(status - 128) if 128 < status < 160 else status
