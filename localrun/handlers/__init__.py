"""What a handler (a function's `handler(event)`) can import: run_case runs a WRF case with
edited namelist values and returns localrun's diagnosis (see casework)."""

from localrun.handlers.casework import edit_namelist, run_case

__all__ = ["edit_namelist", "run_case"]
