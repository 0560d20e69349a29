"""The runs the list shows: an owner's, newest first, filtered by state and by a part of the
name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from localrun.api.common import service
from localrun.runs import State
from localrun.web.rows import summary

SCANNED = 500  # the newest runs the name filter looks through
SHOWN = 200
MAX_NAME = 200


@dataclass(frozen=True)
class Filters:
    state: str = ""
    name: str = ""

    @property
    def query(self) -> dict[str, str]:
        return {k: v for k, v in (("state", self.state), ("name", self.name)) if v}


def filters(request: web.Request) -> Filters:
    """The query's filters; an unknown state or an overlong name is dropped, never an error."""
    state = request.query.get("state", "")
    name = request.query.get("name", "").strip()[:MAX_NAME]
    return Filters(state if state in list(State) else "", name)


async def find(request: web.Request, who: str, wanted: Filters) -> list[dict[str, Any]]:
    states = [wanted.state] if wanted.state else None
    found = await service(request).list_runs(who, states=states, limit=SCANNED, newest_first=True)
    needle = wanted.name.lower()
    chosen = [r for r in found if needle in (r.name or "").lower()] if needle else found
    return [summary(r) for r in chosen[:SHOWN]]
