"""The demo tenant: an admin, a supervisor and two agents in one team, with fresh passwords."""

from __future__ import annotations

from dataclasses import dataclass

from omnidesk.directory import service
from omnidesk.directory.models import Role, TeamRole
from omnidesk.directory.schemas import MemberSet, TeamCreate, UserCreate
from omnidesk.platform.auth.passwords import generate_password
from omnidesk.platform.bus import InProcessBus
from omnidesk.platform.database import SCOPE_KEY, SYSTEM, Database
from omnidesk.platform.tenancy import create_tenant
from omnidesk.platform.uow import UnitOfWork

DEMO_SLUG = "demo"
DEMO_USERS = (
    ("admin", "Ada Admin", Role.ADMIN, None),
    ("supervisor", "Sam Supervisor", Role.SUPERVISOR, TeamRole.SUPERVISOR),
    ("agent1", "Alex Agent", Role.AGENT, TeamRole.MEMBER),
    ("agent2", "Bea Agent", Role.AGENT, TeamRole.MEMBER),
)


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    password: str


async def load_demo(db: Database, slug: str = DEMO_SLUG) -> list[DemoLogin]:
    """Create the demo tenant; raises Conflict if it exists."""
    session = db.session(SYSTEM)
    try:
        tenant = await create_tenant(session, slug, "Demo Company")
        session.info[SCOPE_KEY] = tenant.id
        uow = UnitOfWork(session, InProcessBus(), tenant_id=tenant.id)
        team = await service.create_team(uow, None, TeamCreate(name="Support"))
        logins = []
        for username, name, role, team_role in DEMO_USERS:
            password = generate_password()
            user = await service.create_user(
                uow,
                None,
                UserCreate(username=username, display_name=name, role=role, password=password),
            )
            if team_role is not None:
                await service.set_member(uow, None, team.id, user.id, MemberSet(role=team_role))
            logins.append(DemoLogin(username, role.value, password))
        await uow.commit()
        return logins
    finally:
        await session.close()
