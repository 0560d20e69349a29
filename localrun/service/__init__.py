"""The use cases every API family and the CLI share; validation and transitions live here.

One facade, Service, over a module per use case: inputs, runs, outputs, estimates, jobs.
Tokens (auth) stand alone, so that the CLI can use them without a running supervisor.
"""

from __future__ import annotations

from localrun.config import Settings
from localrun.service.accounts import Accounts
from localrun.service.auth import Tokens, hash_token, new_token
from localrun.service.base import NAMELIST
from localrun.service.chains import Chains
from localrun.service.credentials import Credentials
from localrun.service.drive import Drive
from localrun.service.estimates import ComputeOption, Estimates
from localrun.service.handlers import Handlers
from localrun.service.jobs import Jobs
from localrun.service.outputs import LogChunk
from localrun.service.scripts import Scripts
from localrun.store import Store
from localrun.supervisor import Supervisor

__all__ = ["NAMELIST", "ComputeOption", "LogChunk", "Service", "hash_token", "new_token"]


class Service(Jobs, Drive, Estimates, Scripts, Credentials, Handlers, Chains):
    def __init__(self, settings: Settings, store: Store, supervisor: Supervisor) -> None:
        super().__init__(settings, store, supervisor)
        supervisor.ended.append(self.after_end)
        supervisor.started.append(self.retry_pending)
        supervisor.started.append(self.settle_at_start)
        self.tokens = Tokens(store)
        self.accounts = Accounts(store, self.tokens)

    async def owner_of(self, token: str | None) -> str:
        return await self.tokens.owner_of(token)

    async def create_token(self, name: str, owner: str | None = None) -> str:
        return await self.tokens.create(name, owner)
