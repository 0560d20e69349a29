"""Each rank's patch of a domain, the domain's lat/lon grid, and the numerical work on a patch."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from localrun.wrf.decomposition import Layout
from localrun.wrf.namelist import Case, Domain

Array = npt.NDArray[np.float32]

EARTH_RADIUS = 6370000.0
CEN_LAT, CEN_LON = 40.0, -100.0
EDGE_PAD, INNER_PAD = 5, 7
WIND = 10.0  # m/s, the westerly that carries the warm bubble
KHDIF = 500.0  # m2/s, horizontal diffusion
THETA0 = 300.0  # K; the state is full potential temperature (no denormal floats near zero)
EFFICIENCY_K = 1.8


def split(n: int, parts: int) -> list[tuple[int, int]]:
    """1-based inclusive ranges of n points over parts tasks, the larger parts first."""
    size, extra = divmod(n, parts)
    ranges, start = [], 1
    for p in range(parts):
        count = size + (1 if p < extra else 0)
        ranges.append((start, start + count - 1))
        start += count
    return ranges


@dataclass(frozen=True)
class Patch:
    """One rank's part of a domain: staggered 1-based ranges as WRF prints them, and neighbours."""

    rank: int
    ips: int
    ipe: int
    jps: int
    jpe: int
    e_we: int
    e_sn: int
    west: int | None
    east: int | None
    south: int | None
    north: int | None

    @property
    def mass(self) -> tuple[slice, slice]:
        """0-based (j, i) slices of this patch on the mass grid ((e_sn-1) x (e_we-1))."""
        return (
            slice(self.jps - 1, min(self.jpe, self.e_sn - 1)),
            slice(self.ips - 1, min(self.ipe, self.e_we - 1)),
        )

    @property
    def shape(self) -> tuple[int, int]:
        j, i = self.mass
        return j.stop - j.start, i.stop - i.start

    def memory(self) -> tuple[int, int, int, int]:
        ims = self.ips - (INNER_PAD if self.west is not None else EDGE_PAD)
        ime = self.ipe + (INNER_PAD if self.east is not None else EDGE_PAD)
        jms = self.jps - (INNER_PAD if self.south is not None else EDGE_PAD)
        jme = self.jpe + (INNER_PAD if self.north is not None else EDGE_PAD)
        return ims, ime, jms, jme


def patches(domain: Domain, lay: Layout) -> list[Patch]:
    xs, ys = split(domain.e_we, lay.nproc_x), split(domain.e_sn, lay.nproc_y)
    result = []
    for rank in range(lay.nproc_x * lay.nproc_y):
        px, py = rank % lay.nproc_x, rank // lay.nproc_x
        result.append(
            Patch(
                rank=rank,
                ips=xs[px][0],
                ipe=xs[px][1],
                jps=ys[py][0],
                jpe=ys[py][1],
                e_we=domain.e_we,
                e_sn=domain.e_sn,
                west=rank - 1 if px > 0 else None,
                east=rank + 1 if px < lay.nproc_x - 1 else None,
                south=rank - lay.nproc_x if py > 0 else None,
                north=rank + lay.nproc_x if py < lay.nproc_y - 1 else None,
            )
        )
    return result


def efficiency(domain: Domain, lay: Layout) -> float:
    """WRF.md §7: E = 1 / (1 + k (a+b)/(a b)) for the smallest patch a x b."""
    a, b = max(1, domain.e_we // lay.nproc_x), max(1, domain.e_sn // lay.nproc_y)
    return 1.0 / (1.0 + EFFICIENCY_K * (a + b) / (a * b))


def step_seconds(domain: Domain, lay: Layout, cost_us: float, speed: float) -> float:
    """Wall seconds one step of this domain takes: c N / (P E), divided by the speed factor."""
    return cost_us * 1e-6 * domain.points / (lay.ranks * efficiency(domain, lay)) / speed


def per_domain(raw: Mapping[str, Mapping[str, Any]], group: str, name: str, i: int) -> Any:
    value = raw.get(group, {}).get(name)
    values = value if isinstance(value, list) else [value]
    return values[i] if i < len(values) and values[i] is not None else None


@dataclass(frozen=True)
class Geo:
    """Where a domain's first mass point lies, in metres east/north of domain 1's first one."""

    x0: float
    y0: float
    dx: float
    dy: float
    width: float  # domain 1's extent, which places the bubble
    height: float


def geometry(case: Case) -> dict[int, Geo]:
    first = case.domains[0]
    width, height = (first.e_we - 1) * first.dx, (first.e_sn - 1) * first.dy
    geos = {first.id: Geo(0.0, 0.0, first.dx, first.dy, width, height)}
    for index, domain in enumerate(case.domains[1:], start=1):
        parent = geos[domain.parent_id]
        i0 = int(per_domain(case.raw, "domains", "i_parent_start", index) or 1)
        j0 = int(per_domain(case.raw, "domains", "j_parent_start", index) or 1)
        geos[domain.id] = Geo(
            x0=parent.x0 + (i0 - 1) * parent.dx,
            y0=parent.y0 + (j0 - 1) * parent.dy,
            dx=domain.dx,
            dy=domain.dy,
            width=width,
            height=height,
        )
    return geos


def coordinates(geo: Geo, shape: tuple[int, int], offset: tuple[int, int]) -> tuple[Array, Array]:
    """(y, x) metres of the mass points of a block starting at 0-based (j, i) = offset."""
    j = np.arange(offset[0], offset[0] + shape[0], dtype=np.float64)
    i = np.arange(offset[1], offset[1] + shape[1], dtype=np.float64)
    y, x = np.meshgrid(geo.y0 + (j + 0.5) * geo.dy, geo.x0 + (i + 0.5) * geo.dx, indexing="ij")
    return y.astype(np.float32), x.astype(np.float32)


def latlon(
    geo: Geo, shape: tuple[int, int], offset: tuple[int, int] = (0, 0)
) -> tuple[Array, Array]:
    """Mercator (true at 40N) around 40N, 100W at domain 1's centre."""
    y, x = coordinates(geo, shape, offset)
    scale = EARTH_RADIUS * math.cos(math.radians(CEN_LAT))
    y_centre = scale * math.log(math.tan(math.pi / 4 + math.radians(CEN_LAT) / 2))
    ym = y_centre + (y.astype(np.float64) - geo.height / 2)
    lat = np.degrees(2 * np.arctan(np.exp(ym / scale)) - math.pi / 2)
    lon = CEN_LON + np.degrees((x.astype(np.float64) - geo.width / 2) / scale)
    return lat.astype(np.float32), lon.astype(np.float32)


def initial_state(geo: Geo, levels: int, patch: Patch) -> Array:
    """Potential temperature with a one-cell halo: a warm bubble, decaying upward."""
    j, i = patch.mass
    y, x = coordinates(geo, patch.shape, (j.start, i.start))
    radius = 0.15 * min(geo.width, geo.height)
    r2 = ((x - 0.3 * geo.width) ** 2 + (y - 0.5 * geo.height) ** 2) / radius**2
    surface = 4.0 * np.exp(-r2)
    decay = np.exp(-3.0 * np.arange(levels, dtype=np.float32) / max(levels, 1))
    state = np.full((levels, patch.shape[0] + 2, patch.shape[1] + 2), THETA0, dtype=np.float32)
    state[:, 1:-1, 1:-1] += decay[:, None, None] * surface[None, :, :]
    return state


def coefficients(domain: Domain, dt: float) -> tuple[float, float]:
    """Per-step diffusion and upwind Courant numbers, kept inside the explicit scheme's range."""
    cu = min(WIND * dt / domain.dx, 0.5) if domain.dx > 0 else 0.0
    kd = min(KHDIF * dt / domain.dx**2, 0.1) if domain.dx > 0 else 0.0
    return kd, cu


def sweep(state: Array, kd: float, cu: float) -> None:
    """One explicit diffusion + upwind advection update of the patch interior."""
    centre = state[:, 1:-1, 1:-1]
    west = state[:, 1:-1, :-2]
    lap = state[:, :-2, 1:-1] + state[:, 2:, 1:-1] + west + state[:, 1:-1, 2:] - 4.0 * centre
    centre += np.float32(kd) * lap - np.float32(cu) * (centre - west)


def close_edges(state: Array, patch: Patch) -> None:
    """Zero-gradient halo where the patch touches the domain boundary."""
    if patch.west is None:
        state[:, :, 0] = state[:, :, 1]
    if patch.east is None:
        state[:, :, -1] = state[:, :, -2]
    if patch.south is None:
        state[:, 0, :] = state[:, 1, :]
    if patch.north is None:
        state[:, -1, :] = state[:, -2, :]


def surface_fields(state: Array, lat: Array, hours: float) -> Array:
    """T2, U10, V10 (stacked) on the patch: a background plus the bubble and its thermal wind."""
    t0 = state[0] - np.float32(THETA0)
    ddx = 0.5 * (t0[1:-1, 2:] - t0[1:-1, :-2])
    ddy = 0.5 * (t0[2:, 1:-1] - t0[:-2, 1:-1])
    diurnal = 1.5 * math.sin(2 * math.pi * hours / 24.0)
    t2 = 288.15 - 0.6 * (lat - CEN_LAT) + t0[1:-1, 1:-1] + diurnal
    u10 = 6.0 + 0.3 * (lat - CEN_LAT) - 8.0 * ddy
    v10 = 2.0 + 8.0 * ddx
    return np.stack([t2, u10, v10]).astype(np.float32)
