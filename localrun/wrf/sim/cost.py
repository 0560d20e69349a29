"""The simulator's own cost model: what its output costs and how its step time grows.

Real WRF's step time grows as the em_quarter_ss supercell develops (WRF.md §9): the real runs in
the fixtures step at a flat rate for the first ten model minutes, about a fifth slower by 25
minutes (killed_sigterm, killed_sigkill: 0.063 s to 0.074 s at np=2), and the 2-hour runs' mean
step is 16–23 % above the first minutes' (0.1543 against 0.1326 s at np=1, 0.0775 against
0.0636 s at np=2). The simulator paces its steps by `storm_factor` of the model time since the
simulation start: flat to STORM_FROM_H, then a linear rise of STORM_GROWTH to STORM_FULL_H, then
flat again. A prediction from the recent median step then starts 10–18 % short, as with WRF.
"""

from __future__ import annotations

HISTORY_US, RESTART_US = 0.6, 3.2  # serial output cost per grid point (WRF.md §7's w)
STORM_GROWTH = 0.25
STORM_FROM_H, STORM_FULL_H = 10 / 60, 40 / 60


def storm_factor(hours: float) -> float:
    """How much longer a step takes `hours` of model time after the simulation start."""
    ramp = (hours - STORM_FROM_H) / (STORM_FULL_H - STORM_FROM_H)
    return 1.0 + STORM_GROWTH * min(1.0, max(0.0, ramp))


def mean_storm_factor(h0: float, h1: float) -> float:
    """The mean of storm_factor over model hours h0..h1 (the exact integral of the ramp)."""
    if h1 <= h0:
        return storm_factor(h0)
    return (_integral(h1) - _integral(h0)) / (h1 - h0)


def _integral(h: float) -> float:
    """∫₀ʰ storm_factor."""
    width = STORM_FULL_H - STORM_FROM_H
    rise = min(max(h - STORM_FROM_H, 0.0), width)
    flat_after = max(h - STORM_FULL_H, 0.0)
    return h + STORM_GROWTH * (rise * rise / (2.0 * width) + flat_after)
