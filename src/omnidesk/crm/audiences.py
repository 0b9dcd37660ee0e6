"""Who sees a CRM event besides the tenant's admins (who see everything).

Cheap by design: no customer change fans out to every agent. A customer event goes to the user
who made the change and to the agents handling one of the customer's open interactions (their
desktop shows the customer right now), with the supervisors of those agents' teams; a case event
also to its owner; an interaction event to the agents who handled it and their supervisors.
Everyone else reads the customer when they open it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.crm import repository as repo
from omnidesk.platform.events import Audience


def _uuids(values: Iterable[str | uuid.UUID | None]) -> set[uuid.UUID]:
    found: set[uuid.UUID] = set()
    for value in values:
        if value is None:
            continue
        try:
            found.add(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
        except ValueError:
            continue  # an agent id that is not a user (a routing-only test agent)
    return found


async def of_users(session: AsyncSession, users: Iterable[str | uuid.UUID | None]) -> Audience:
    ids = _uuids(users)
    return Audience.of(users=ids, teams=await repo.teams_of(session, ids))


class Audiences:
    """`of_users` for many sets of users at once: one query of their teams for a whole batch
    (the interaction projection announces every record a batch of events touched; a query per
    record was a measurable share of the server's CPU per contact)."""

    def __init__(self, teams: dict[uuid.UUID, set[uuid.UUID]]) -> None:
        self._teams = teams

    @classmethod
    async def load(
        cls, session: AsyncSession, users: Iterable[str | uuid.UUID | None]
    ) -> Audiences:
        return cls(await repo.teams_by_user(session, _uuids(users)))

    def of_users(self, users: Iterable[str | uuid.UUID | None]) -> Audience:
        ids = _uuids(users)
        teams = {team for user in ids for team in self._teams.get(user, ())}
        return Audience.of(users=ids, teams=teams)


async def of_customer(
    session: AsyncSession, customer_id: uuid.UUID, actor: uuid.UUID | None, *more: uuid.UUID | None
) -> Audience:
    agents = await repo.handling_agents(session, customer_id)
    return await of_users(session, [*agents, actor, *more])
