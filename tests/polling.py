"""The one way tests wait for something: poll a condition until it holds or time runs out."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar, overload

T = TypeVar("T")


def wait_for(
    predicate: Callable[[], T | Literal[False] | None], timeout: float = 60.0, interval: float = 0.1
) -> T:
    """predicate's first truthy value, polled every interval seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@overload
async def eventually(
    predicate: Callable[[], Awaitable[T | None]], timeout: float = ..., interval: float = ...
) -> T: ...


@overload
async def eventually(
    predicate: Callable[[], T | None], timeout: float = ..., interval: float = ...
) -> T: ...


async def eventually(
    predicate: Callable[[], Any],
    timeout: float = 60.0,
    interval: float = 0.05,
) -> Any:
    """wait_for for async tests: predicate may be a coroutine function."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
