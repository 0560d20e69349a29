"""Time and cost per core count for a namelist, and the compute option a run is started on."""

from __future__ import annotations

import asyncio
import math
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from localrun.errors import Conflict, Invalid
from localrun.runs import Run
from localrun.service.base import NAMELIST
from localrun.service.runs import NOT_STARTED, Runs
from localrun.store import Store
from localrun.wrf.estimate import CostModel, Sample, estimate, fit, options_json
from localrun.wrf.namelist import Case

_OPTION_IDS = uuid.UUID("6f1c0b7e-2d4a-4c1e-9b1a-5d3c2b1a0f9e")
SELECTED = "selected_option"  # the run's extra key for its chosen option


@dataclass(frozen=True)
class ComputeOption:
    """One valid core count for a run: a stable id, its estimated time and cost."""

    id: str
    cores: int
    cost: float
    time_s: int | None
    recommended: bool

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ComputeOption:
        return cls(
            str(data["id"]),
            int(data["cores"]),
            float(data["cost"]),
            None if data.get("time_s") is None else int(data["time_s"]),
            bool(data.get("recommended")),
        )


def option_id(run_id: str, cores: int) -> str:
    return str(uuid.uuid5(_OPTION_IDS, f"{run_id}/{cores}"))


async def calibrated_model(store: Store, host: str) -> CostModel:
    """The cost model fitted on the host's recent successful runs."""
    samples = [Sample.from_dict(d) for d in await store.samples(host)]
    return fit(samples, host=host)


class Estimates(Runs):
    async def estimate(self, case: Case, max_cores: int | None = None) -> list[dict[str, Any]]:
        options = await asyncio.to_thread(
            estimate,
            case,
            max_cores or await self.offered_cores(),
            self.supervisor.cost_model,
            self.settings.cost_per_core_hour,
        )
        result: list[dict[str, Any]] = options_json(options)
        return result

    async def offered_cores(self) -> int:
        """The most cores an option may have: the cores setting, or what the scheduler's
        partition holds (its cores per node times its nodes) when there is one."""
        capacity = await self.supervisor.executor.capacity()
        if capacity is None:
            return self.settings.total_cores
        return min(capacity, self.settings.total_cores)

    async def offered_estimate(self, run: Run) -> list[dict[str, Any]]:
        """The estimate for the run's current namelist, worked out once per namelist upload and
        kept in the run record; [] while the run has no readable namelist."""
        stored = [f for f in await self.store.files(run.id, "input") if f.name == NAMELIST]
        if not stored:
            return []
        cached = run.extra.get("estimate")
        if isinstance(cached, dict) and cached.get("namelist_file") == stored[-1].id:
            return list(cached.get("options") or [])
        case = self.case(run)
        if case is None:
            return []
        options = await self.estimate(case)
        fresh = await self.get_run(run.owner, run.id)
        await self.update_extra(
            fresh, estimate={"namelist_file": stored[-1].id, "options": options}
        )
        return options

    async def compute_options(self, run: Run) -> list[ComputeOption]:
        return [
            ComputeOption(
                option_id(run.id, int(o["cores"])),
                int(o["cores"]),
                float(o["cost"]),
                None if o["time_s"] is None else math.ceil(o["time_s"]),
                bool(o.get("recommended")),
            )
            for o in await self.offered_estimate(run)
            if o.get("valid")
        ]

    def selected_option(self, run: Run) -> ComputeOption | None:
        chosen = run.extra.get(SELECTED)
        return ComputeOption.from_dict(chosen) if isinstance(chosen, dict) and chosen else None

    async def choose_option(
        self, run: Run, *, option: str | None = None, cores: int | None = None
    ) -> ComputeOption:
        """The run's compute option with that id, or with that many cores."""
        options = await self.compute_options(run)
        if not options:
            raise Conflict(
                f"run {run.id} has no compute options yet: they come from its {NAMELIST}, "
                "so upload that first"
            )
        if cores is not None:
            found = [o for o in options if o.cores == cores]
            wanted = f"{cores} cores"
        else:
            found = [o for o in options if o.id == option]
            wanted = f"compute option {option!r}"
        if not found:
            listing = ", ".join(f"{o.id} ({o.cores} cores)" for o in options)
            raise Invalid(f"{wanted} is not available; the compute options are: {listing}")
        return found[0]

    async def select_option(
        self, run: Run, *, option: str | None = None, cores: int | None = None
    ) -> Run:
        """Choose the option the run will start on; neither option nor cores clears it."""
        if run.state not in NOT_STARTED:
            raise Conflict(f"run {run.id} has started; its compute option is fixed")
        if option is None and cores is None:
            return await self.update_extra(run, **{SELECTED: {}})
        chosen = await self.choose_option(run, option=option, cores=cores)
        return await self.update_extra(run, **{SELECTED: asdict(chosen)})

    async def start_on_option(
        self, owner: str, run_id: str, *, option: str | None = None, cores: int | None = None
    ) -> Run:
        """Start the run on the option given, or on the one selected before."""
        run = await self.get_run(owner, run_id)
        if option is None and cores is None:
            selected = self.selected_option(run)
            if selected is None:
                raise Invalid("choose a compute option first")
            option = selected.id
        chosen = await self.choose_option(run, option=option, cores=cores)
        run = await self.start(owner, run.id, cores=chosen.cores)
        return await self.update_extra(run, **{SELECTED: asdict(chosen)})
