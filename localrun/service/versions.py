"""Which executable a run's model version names: the configured real models first, the
built-in simulator only when asked for by name or when no real model is configured."""

from __future__ import annotations

import re

from localrun.errors import Invalid

SIMULATOR = "simulator"  # the version name of the built-in WRF simulator
SIMULATOR_NAMES = frozenset({"sim", "simulator"})
LATEST = frozenset({"", "latest"})
FALLBACKS = ("auto", "refuse", "simulator", "newest")


def newest_first(versions: set[str] | list[str]) -> list[str]:
    return sorted(
        set(versions), key=lambda v: [int(n) for n in re.findall(r"\d+", v)], reverse=True
    )


def resolve(asked: str, configured: list[str], fallback: str = "auto") -> str:
    """The version a run gets: `configured` are the real versions of its model; the answer
    is one of them, or SIMULATOR. `fallback` says what an unknown version gets: "auto" the
    simulator when nothing real is configured and a refusal otherwise, "refuse", "simulator"
    or "newest" (the newest real one)."""
    asked = asked.strip()
    real = newest_first(configured)
    if asked.lower() in SIMULATOR_NAMES:
        return SIMULATOR
    if asked.lower() in LATEST:
        return real[0] if real else SIMULATOR
    if asked in real:
        return asked
    matching = [v for v in real if v.startswith(asked + ".")]
    if matching:
        return matching[0]
    if fallback == "simulator" or (fallback == "auto" and not real):
        return SIMULATOR
    if fallback == "newest" and real:
        return real[0]
    there = ", ".join([*real, SIMULATOR]) if real else SIMULATOR
    raise Invalid(
        f"version {asked!r} is not configured here; the versions are {there} "
        "(latest = the newest; the version_fallback setting can map unknown versions)"
    )
