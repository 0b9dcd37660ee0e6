"""`omnidesk demo`: a working contact center in the tenant `demo`.

What it sets up, each through the owning domain's public service as an administrator would
(no table is written directly):

- the directory's demo tenant (directory/demo.py): an admin, a supervisor and two agents in
  the team Support, with fresh passwords;
- routing (RoutingService): the voice queues support, sales and voicemail, whose workflows
  prefer agents with the skill at level 3+ who speak the caller's language, then anyone who
  speaks it, then any member; 15 s wrap-up; routing profiles for both agents (skills with
  levels, languages, capacity, queue priorities);
- voice (config_service / config_content): the SIP domain, a recording consent prompt, the
  demo's hold music and jingle, recording and announcement policies for the queues, SIP logins
  for the agents and the supervisor, a trunk for callers on this machine (the shipped test
  call and `omnidesk demo traffic`; its outbound side is where `demo traffic` answers as the
  customers called back), the IVR flow (flow.py) and the number DEMO_NUMBER routed to it.

- the CRM (customers.py): the wrap-up codes the demo's agents pick and a few customers with
  history (cases, an order, notes, consent) whose numbers the demo's callers call from.
- knowledge (knowledge/service.py): a troubleshooting script for support, an order-taking
  script for sales and an article for every queue, shown beside the agents' contacts.

Chat and email queues come when those channels exist: `load_center` is where they join.

It runs once: the tenant exists afterwards and a second run is refused (Conflict) without
changing anything. The generated passwords are printed by the CLI and kept in the manifest
(manifest.py) for `omnidesk demo traffic`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from omnidesk.channels.voice import config_content as content
from omnidesk.channels.voice import config_service as voice
from omnidesk.channels.voice.audio import AudioStore, check_wav
from omnidesk.channels.voice.schemas import (
    FlowIn,
    NumberIn,
    QueuePolicyIn,
    SipCredentialIn,
    TrunkIn,
    VoiceSettingsIn,
)
from omnidesk.channels.voice.vault import install_key
from omnidesk.demo import audio
from omnidesk.demo.customers import load_crm
from omnidesk.demo.flow import DEMO_FLOW, FLOW_NAME, SALES, SUPPORT, VOICEMAIL
from omnidesk.directory import repository as directory
from omnidesk.directory.demo import DEMO_SLUG, DemoLogin, load_demo
from omnidesk.knowledge import service as knowledge
from omnidesk.knowledge.schemas import ArticleIn
from omnidesk.platform.auth.passwords import generate_password
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.bus import InProcessBus
from omnidesk.platform.database import Database
from omnidesk.platform.settings import Settings
from omnidesk.platform.uow import UnitOfWork
from omnidesk.routing.api import AddQueue, QueueDef, RoutingService

DEMO_DOMAIN = "demo.omnidesk.test"
# A fictional number (555-0100..0199 are reserved for fiction) that the numbering plan check
# accepts: what a carrier would send for the demo's DID. sipp dials it as 12025550100.
DEMO_NUMBER = "+12025550100"
TRUNK_NAME = "local-callers"
# Where calls out of the demo tenant go (callbacks, agents' own calls): `omnidesk demo traffic`
# answers there as the customers.
CUSTOMERS_PORT = 5080
SIP_USERS = ("agent1", "agent2", "supervisor")
CONSENT = "This call is recorded for quality and training."


def _queue(queue_id: str, name: str, skill: str | None) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"target": None}]
    if skill:
        steps = [
            {"target": f"skills.{skill} >= 3 AND contact.language IN agent.languages",
             "timeout_seconds": 20},
            {"target": "contact.language IN agent.languages", "timeout_seconds": 40},
            {"target": None},
        ]  # fmt: skip
    return {
        "id": queue_id,
        "name": name,
        "channels": ["voice"],
        "service_level_seconds": 20,
        "service_level_target": 0.8,
        "steps": steps,
        "offer_timeout_seconds": 20,
        "wrap_up_seconds": 15,
        "default_handle_seconds": 120,
    }


QUEUES = (
    _queue(SUPPORT, "Support", "support"),
    _queue(SALES, "Sales", "sales"),
    _queue(VOICEMAIL, "Voicemail", None),
)
PROFILES: dict[str, dict[str, Any]] = {
    "agent1": {
        "skills": {"support": 4, "sales": 2, "lang.en": 5, "lang.de": 4},
        "languages": ["en", "de"],
        "queues": {SUPPORT: 2, SALES: 1, VOICEMAIL: 0},
        "capacity": {"voice": 1, "chat": 3, "email": 2},
        "blending": {"voice": []},
    },
    "agent2": {
        "skills": {"support": 3, "sales": 4, "lang.en": 5},
        "languages": ["en"],
        "queues": {SALES: 2, SUPPORT: 1, VOICEMAIL: 0},
        "capacity": {"voice": 1, "chat": 3, "email": 2},
        "blending": {"voice": []},
    },
}


@dataclass(frozen=True)
class SipLogin:
    user: str
    username: str
    password: str


@dataclass(frozen=True)
class DemoCenter:
    tenant: str
    logins: list[DemoLogin]
    sip_logins: list[SipLogin]
    sip_domain: str = DEMO_DOMAIN
    number: str = DEMO_NUMBER
    queues: tuple[str, ...] = (SUPPORT, SALES, VOICEMAIL)


async def load_center(db: Database, settings: Settings) -> DemoCenter:
    """Set the demo center up; Conflict (nothing changed) if the tenant `demo` exists."""
    logins = await load_demo(db, DEMO_SLUG)
    tenant_id, users = await _users(db)
    admin = _admin(tenant_id, users["admin"])
    await _routing(db, tenant_id, admin, users)
    await _knowledge(db, admin)
    sip = await _voice(db, settings, admin, users)
    await _crm(db, admin)
    return DemoCenter(DEMO_SLUG, logins, sip)


async def _users(db: Database) -> tuple[uuid.UUID, dict[str, Any]]:
    from omnidesk.platform.database import SCOPE_KEY, SYSTEM
    from omnidesk.platform.tenancy import tenant_by_slug

    session = db.session(SYSTEM)
    try:
        tenant = await tenant_by_slug(session, DEMO_SLUG)
        assert tenant is not None  # load_demo made it
        session.info[SCOPE_KEY] = tenant.id
        names = ("admin", "supervisor", "agent1", "agent2")
        found = {name: await directory.user_by_username(session, name) for name in names}
        return tenant.id, {name: user for name, user in found.items() if user is not None}
    finally:
        await session.close()


def _admin(tenant_id: uuid.UUID, user: Any) -> Principal:
    return Principal(
        tenant_id=tenant_id,
        user_id=user.id,
        username=user.username,
        role=Role.ADMIN,
        supervised_teams=frozenset(),
        member_teams=frozenset(),
    )


async def _routing(
    db: Database, tenant_id: uuid.UUID, admin: Principal, users: dict[str, Any]
) -> None:
    routing = RoutingService(db, InProcessBus())
    try:
        for queue in QUEUES:
            await routing.execute(tenant_id, AddQueue(QueueDef.from_dict(queue)), admin.user_id)
        for name, profile in PROFILES.items():
            await routing.put_agent(tenant_id, users[name].id, profile, actor_id=admin.user_id)
    finally:
        await routing.stop()


KNOWLEDGE = (
    {
        "kind": "script",
        "title": "Internet does not work",
        "queue_ids": [SUPPORT],
        "body": "Guided troubleshooting: stop at the step that fixes it.",
        "steps": [
            "Confirm the customer's name and address",
            "Ask which lights on the router are on",
            "Power cycle: router off for 30 seconds, then on",
            "Still down after 2 minutes: open a case for a technician",
        ],
    },
    {
        "kind": "script",
        "title": "Taking an order",
        "queue_ids": [SALES],
        "steps": [
            "Ask for the customer number or create the customer",
            "Note the products and quantities",
            "Read the order back with the total",
            "Confirm the delivery address and date",
        ],
    },
    {
        "kind": "article",
        "title": "Refunds and approvals",
        "body": "Refunds up to 100 EUR: give them. Above that: raise your hand, a supervisor "
        "approves. Refunds go back to the original payment within 5 working days.",
        "tags": ["refund", "billing"],
    },
)


async def _knowledge(db: Database, admin: Principal) -> None:
    session = db.session(admin.tenant_id)
    try:
        uow = UnitOfWork(session, InProcessBus(), tenant_id=admin.tenant_id, actor_id=admin.user_id)
        for item in KNOWLEDGE:
            await knowledge.create(uow, admin, ArticleIn.model_validate(item))
        await uow.commit()
    finally:
        await session.close()


async def _crm(db: Database, admin: Principal) -> None:
    session = db.session(admin.tenant_id)
    try:
        uow = UnitOfWork(session, InProcessBus(), tenant_id=admin.tenant_id, actor_id=admin.user_id)
        await load_crm(uow, admin)
        await uow.commit()
    finally:
        await session.close()


async def _voice(
    db: Database, settings: Settings, admin: Principal, users: dict[str, Any]
) -> list[SipLogin]:
    """The tenant's voice set-up, in one transaction."""
    store = AudioStore(settings.data_dir)
    written: list[uuid.UUID] = []
    session = db.session(admin.tenant_id)
    try:
        uow = UnitOfWork(session, InProcessBus(), tenant_id=admin.tenant_id, actor_id=admin.user_id)
        for name, data in (("hold-music.wav", audio.hold_music()),
                           ("welcome-jingle.wav", audio.welcome_jingle())):  # fmt: skip
            _, file_id = await content.add_audio(uow, admin, name, check_wav(data), data, store)
            written.append(file_id)
        await _settings_and_policies(uow, admin)
        sip = await _sip_logins(uow, admin, users)
        trunk = TrunkIn.model_validate(
            {"name": TRUNK_NAME, "allowed_addresses": ["127.0.0.1/32"],
             "outbound": {"host": "127.0.0.1", "port": CUSTOMERS_PORT}}
        )  # fmt: skip
        await voice.create_trunk(uow, admin, trunk, _sealing_key(settings))
        flow = await content.create_flow(uow, admin, FlowIn(name=FLOW_NAME, definition=DEMO_FLOW))
        number = NumberIn(number=DEMO_NUMBER, flow_id=uuid.UUID(flow["id"]))
        await voice.create_number(uow, admin, number)
        await uow.commit()
        return sip
    except BaseException:
        await session.rollback()
        # The rows did not commit: their audio files must not stay behind.
        for file_id in written:
            store.remove(admin.tenant_id, file_id)
        raise
    finally:
        await session.close()


async def _settings_and_policies(uow: UnitOfWork, admin: Principal) -> None:
    consent = {"text": CONSENT, "language": "en"}
    settings = VoiceSettingsIn.model_validate(
        {"sip_domain": DEMO_DOMAIN, "recording_consent_prompt": consent,
         "default_moh": "hold-music.wav"}
    )  # fmt: skip
    await voice.put_settings(uow, admin, settings)
    queues = {q["id"] for q in QUEUES}
    for queue in (SUPPORT, SALES):
        policy = QueuePolicyIn(
            record="always", consent_prompt=True, announce_every_s=30, moh="hold-music.wav",
            voicemail_queue=VOICEMAIL,
        )  # fmt: skip
        await content.put_queue_policy(uow, admin, queue, policy, queues)


async def _sip_logins(uow: UnitOfWork, admin: Principal, users: dict[str, Any]) -> list[SipLogin]:
    logins = []
    for name in SIP_USERS:
        login = SipLogin(name, name, generate_password())
        body = SipCredentialIn(username=login.username, password=login.password)
        await voice.put_sip_credential(uow, admin, users[name].id, body)
        logins.append(login)
    return logins


def _sealing_key(settings: Settings) -> bytes:
    # The install's key, as the API's trunk routes take it (the trunk has no password to seal,
    # but the service wants the key at hand).
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    return install_key(secret, settings.data_dir)
