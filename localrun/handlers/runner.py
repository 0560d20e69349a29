"""python -m localrun.handlers.runner CODE EVENT RESULT: one handler call, as a job runs it.

Runs CODE (a Python file defining handler), reads EVENT (a Python literal, by ast.literal_eval)
and calls handler(event) (awaited when handler is async). repr of the return value is written
whole to RESULT and the exit status is 0; an exception (SystemExit and KeyboardInterrupt too:
the call never returned) prints its traceback on stderr, without the runner's, runpy's or
asyncio's frames, and the exit status is 1.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import os
import runpy
import sys
import traceback
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

OWN_FRAMES = (__file__, runpy.__file__)
ASYNCIO = str(Path(asyncio.__file__).parent)


def _report(exc: BaseException) -> None:
    """The traceback (with what it was raised from or during) from the handler's code on: the
    runner's, runpy's and asyncio's frames (which run an async handler) are left out."""
    shown = traceback.TracebackException.from_exception(exc)
    seen: set[int] = set()
    part: traceback.TracebackException | None = shown
    while part is not None and id(part) not in seen:
        seen.add(id(part))
        part.stack = traceback.StackSummary.from_list(
            [f for f in part.stack if not _own(f.filename)]
        )
        part = part.__cause__ or part.__context__
    print("".join(shown.format()), end="", file=sys.stderr)


def _own(filename: str) -> bool:
    return filename in OWN_FRAMES or filename.startswith(ASYNCIO)


async def _wait(result: Awaitable[Any]) -> Any:
    return await result


def call(code_file: Path, event_file: Path, result_file: Path) -> int:
    event = ast.literal_eval(event_file.read_text(encoding="utf-8"))
    sys.path.insert(0, str(Path.cwd()))
    try:
        namespace = runpy.run_path(str(code_file), run_name="__handler__")
        handler = namespace.get("handler")
        if not callable(handler):
            print(f"{code_file.name} defines no handler(event)", file=sys.stderr)
            return 1
        result = handler(event)
        if inspect.isawaitable(result):  # async def handler
            result = asyncio.run(_wait(result))
        text = repr(result)
    except BaseException as exc:  # SystemExit and KeyboardInterrupt too: it never returned
        _report(exc)
        return 1
    finally:
        sys.stdout.flush()
    part = result_file.with_name(f".{result_file.name}.part")
    part.write_text(text, encoding="utf-8", errors="backslashreplace")
    os.replace(part, result_file)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print("usage: python -m localrun.handlers.runner CODE EVENT RESULT", file=sys.stderr)
        return 2
    return call(*(Path(a) for a in args))


if __name__ == "__main__":
    sys.exit(main())
