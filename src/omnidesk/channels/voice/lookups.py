"""What the call layer asks per SIP request: which tenant, which credential, which trunk, which
flow, which queue policy. No HTTP; reads only.

Answers come from an in-memory cache in front of indexed queries. The cache is emptied whenever
a voice configuration event (or a user or tenant change) is published on the bus, i.e. after
the change committed, and entries also expire after `ttl_seconds` as a bound for changes that
publish no event (a tenant deactivated from the CLI, a hand edit). A lookup that started before
an invalidation does not store its answer afterwards (generation check), so a slow query can
never put a stale answer back. Unknown names are cached too ("no such user"): SIP scanners
try thousands of them, and each must not cost a query; the cache is bounded in size.
"""

from __future__ import annotations

import ipaddress
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select

from omnidesk.channels.voice.audio import AudioStore, audio_file_name
from omnidesk.channels.voice.config_content import DEFAULT_POLICY
from omnidesk.channels.voice.events import CONFIG_EVENTS
from omnidesk.channels.voice.models import (
    AudioFile,
    Extension,
    Flow,
    FlowVersion,
    Number,
    QueuePolicy,
    SipCredential,
    Trunk,
    VoiceSettings,
)
from omnidesk.channels.voice.vault import Algorithm, unseal
from omnidesk.directory.models import TeamMember, User
from omnidesk.platform.bus import EventBus, Subscription
from omnidesk.platform.database import SYSTEM, Database
from omnidesk.platform.events import PublishedEvent
from omnidesk.platform.tenancy import Tenant

T = TypeVar("T")
# Events outside voice that change an answer here (a user deactivated may no longer register).
_OTHER_EVENTS = frozenset({"user.updated", "user.created"})
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class SipAccount:
    """Who authenticates with a username in a tenant's realm: an agent or an inbound trunk."""

    tenant_id: uuid.UUID
    username: str
    realm: str
    ha1_md5: str
    ha1_sha256: str
    user_id: uuid.UUID | None = None  # set for agents
    trunk_id: uuid.UUID | None = None  # set for trunks

    def ha1(self, algorithm: Algorithm) -> str:
        return self.ha1_md5 if algorithm == "MD5" else self.ha1_sha256


@dataclass(frozen=True)
class TrunkInfo:
    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    networks: tuple[Network, ...]
    inbound_username: str | None
    outbound_host: str | None
    outbound_port: int
    outbound_transport: str
    outbound_username: str | None
    caller_id: str | None


@dataclass(frozen=True)
class NumberRoute:
    tenant_id: uuid.UUID
    number: str
    flow_id: uuid.UUID
    flow_version: int
    definition: dict[str, Any]
    trunk_id: uuid.UUID | None


@dataclass(frozen=True)
class VoicePolicy:
    queue_id: str
    record: str
    consent_prompt: bool
    announce_every_s: int | None
    moh: str | None
    voicemail_queue: str | None
    configured: bool


class VoiceLookups:
    def __init__(
        self,
        db: Database,
        bus: EventBus | None = None,
        *,
        sealing_key: bytes | None = None,
        audio: AudioStore | None = None,
        ttl_seconds: float = 30.0,
        max_entries: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.bus = bus
        self.sealing_key = sealing_key
        self.audio = audio
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self.clock = clock
        self.queries = 0  # database round trips made (tests and metrics)
        self._generation = 0
        self._cache: dict[tuple[Any, ...], tuple[float, Any]] = {}
        self._subscription: Subscription | None = None

    def start(self) -> None:
        if self.bus is not None and self._subscription is None:
            self._subscription = self.bus.subscribe(self._on_event)

    def close(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None

    def invalidate(self) -> None:
        self._generation += 1
        self._cache.clear()

    def _on_event(self, published: PublishedEvent) -> None:
        if published.type in CONFIG_EVENTS or published.type in _OTHER_EVENTS:
            self.invalidate()

    async def _cached(self, key: tuple[Any, ...], load: Callable[[], Awaitable[T]]) -> T:
        hit = self._cache.get(key)
        now = self.clock()
        if hit is not None and hit[0] > now:
            return hit[1]  # type: ignore[no-any-return]
        generation = self._generation
        self.queries += 1
        value = await load()
        if generation == self._generation:
            if len(self._cache) >= self.max_entries:
                self._cache.clear()  # crude, but bounded: a scanner cannot grow it forever
            self._cache[key] = (now + self.ttl_seconds, value)
        return value

    async def _scalar(self, stmt: Any) -> Any:
        session = self.db.session(SYSTEM)
        try:
            return await session.scalar(stmt)
        finally:
            await session.close()

    async def _rows(self, stmt: Any) -> list[Any]:
        session = self.db.session(SYSTEM)
        try:
            return list((await session.execute(stmt)).all())
        finally:
            await session.close()

    # --- tenants and credentials -----------------------------------------------------------

    async def tenant_for_domain(self, domain: str) -> uuid.UUID | None:
        """The active tenant whose SIP domain this is (case-insensitive, no trailing dot)."""
        domain = domain.strip().lower().rstrip(".")

        async def load() -> uuid.UUID | None:
            stmt = (
                select(VoiceSettings.tenant_id)
                .join(Tenant, Tenant.id == VoiceSettings.tenant_id)
                .where(VoiceSettings.sip_domain == domain, Tenant.active)
            )
            found: uuid.UUID | None = await self._scalar(stmt)
            return found

        return await self._cached(("domain", domain), load)

    async def sip_domain(self, tenant_id: uuid.UUID) -> str | None:
        async def load() -> str | None:
            stmt = select(VoiceSettings.sip_domain).where(VoiceSettings.tenant_id == tenant_id)
            found: str | None = await self._scalar(stmt)
            return found

        return await self._cached(("realm", tenant_id), load)

    async def sip_account(self, tenant_id: uuid.UUID, username: str) -> SipAccount | None:
        """An active agent's credential, else an inbound trunk's digest credential."""

        async def load() -> SipAccount | None:
            agent = await self._rows(
                select(SipCredential)
                .join(User, User.id == SipCredential.user_id)
                .where(
                    SipCredential.tenant_id == tenant_id,
                    SipCredential.username == username,
                    User.active,
                )
            )
            if agent:
                row: SipCredential = agent[0][0]
                return SipAccount(
                    tenant_id, row.username, row.realm, row.ha1_md5, row.ha1_sha256, row.user_id
                )
            trunk = await self._rows(
                select(Trunk).where(
                    Trunk.tenant_id == tenant_id,
                    Trunk.inbound_username == username,
                    Trunk.inbound_ha1_md5.is_not(None),
                )
            )
            if trunk:
                t: Trunk = trunk[0][0]
                assert t.inbound_realm and t.inbound_ha1_md5 and t.inbound_ha1_sha256
                return SipAccount(
                    tenant_id,
                    username,
                    t.inbound_realm,
                    t.inbound_ha1_md5,
                    t.inbound_ha1_sha256,
                    trunk_id=t.id,
                )
            return None

        return await self._cached(("account", tenant_id, username), load)

    async def voice_options(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        """The tenant's voice settings beyond the SIP domain (consent prompt, language, ...)."""

        async def load() -> dict[str, Any]:
            stmt = select(VoiceSettings.options).where(VoiceSettings.tenant_id == tenant_id)
            found: dict[str, Any] | None = await self._scalar(stmt)
            return dict(found or {})

        return await self._cached(("voice-options", tenant_id), load)

    async def agent_username(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
        """The SIP username of an agent (whose softphone to ring for an offer)."""

        async def load() -> str | None:
            stmt = select(SipCredential.username).where(
                SipCredential.tenant_id == tenant_id, SipCredential.user_id == user_id
            )
            found: str | None = await self._scalar(stmt)
            return found

        return await self._cached(("agent-username", tenant_id, user_id), load)

    async def agent_for_extension(self, tenant_id: uuid.UUID, extension: str) -> str | None:
        """The user whose extension this is (None: nobody's). Read each time, not cached: an
        extension dialled is one read, and an admin's renumbering then holds at once."""
        stmt = select(Extension.user_id).where(
            Extension.tenant_id == tenant_id, Extension.extension == extension
        )
        found: uuid.UUID | None = await self._scalar(stmt)
        return str(found) if found is not None else None

    async def user_teams(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> frozenset[uuid.UUID]:
        """The teams a user is in (any role), as the directory has them now: not cached, as
        no event here tells of a membership change (asked once per softphone event)."""
        stmt = select(TeamMember.team_id).where(
            TeamMember.tenant_id == tenant_id, TeamMember.user_id == user_id
        )
        return frozenset(row[0] for row in await self._rows(stmt))

    async def ha1_for(
        self, tenant_id: uuid.UUID, username: str, algorithm: Algorithm
    ) -> str | None:
        account = await self.sip_account(tenant_id, username)
        return account.ha1(algorithm) if account is not None else None

    # --- trunks ----------------------------------------------------------------------------

    async def trunks(self) -> list[TrunkInfo]:
        """Every active tenant's trunks, as one cached list."""

        async def load() -> list[TrunkInfo]:
            rows = await self._rows(
                select(Trunk).join(Tenant, Tenant.id == Trunk.tenant_id).where(Tenant.active)
            )
            return [_trunk_info(r[0]) for r in rows]

        return await self._cached(("trunks",), load)

    async def trunks_for_source(self, ip: str) -> list[TrunkInfo]:
        """Every trunk whose allowed addresses contain `ip`, most specific network first.
        Several tenants may allow one carrier's address; the DID then decides."""
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return []
        matches: list[tuple[int, TrunkInfo]] = []
        for trunk in await self.trunks():
            best = max(
                (n.prefixlen for n in trunk.networks if address in n),
                default=-1,
            )
            if best >= 0:
                matches.append((best, trunk))
        matches.sort(key=lambda m: (-m[0], m[1].name, str(m[1].id)))
        return [trunk for _, trunk in matches]

    async def trunk_for_source(
        self, ip: str, number: str | None = None
    ) -> tuple[uuid.UUID, TrunkInfo] | None:
        """The trunk a packet from `ip` belongs to. With several candidates, `number` (the
        dialled DID) picks the tenant that owns it; without it, the most specific match wins
        only if it is not shared with another tenant at the same prefix length."""
        candidates = await self.trunks_for_source(ip)
        if not candidates:
            return None
        if number is not None:
            route = await self.number_route(number)
            owned = [t for t in candidates if route is not None and t.tenant_id == route.tenant_id]
            if route is not None and route.trunk_id is not None:
                owned.sort(key=lambda t: t.id != route.trunk_id)
            return (owned[0].tenant_id, owned[0]) if owned else None
        if len({t.tenant_id for t in candidates}) > 1:
            address = ipaddress.ip_address(ip)
            top = max(n.prefixlen for n in candidates[0].networks if address in n)
            tied = {
                t.tenant_id
                for t in candidates
                if max(n.prefixlen for n in t.networks if address in n) == top
            }
            if len(tied) > 1:
                return None
        return candidates[0].tenant_id, candidates[0]

    async def outbound_password(self, tenant_id: uuid.UUID, trunk_id: uuid.UUID) -> str | None:
        """The carrier's password in clear, for the outbound digest. Not cached on purpose."""
        if self.sealing_key is None:
            raise RuntimeError("VoiceLookups was made without the sealing key")
        sealed = await self._scalar(
            select(Trunk.outbound_password_sealed).where(
                Trunk.tenant_id == tenant_id, Trunk.id == trunk_id
            )
        )
        return unseal(self.sealing_key, sealed) if sealed else None

    # --- numbers, flows, policies, audio ---------------------------------------------------

    async def number_route(self, number: str) -> NumberRoute | None:
        async def load() -> NumberRoute | None:
            rows = await self._rows(
                select(Number, Flow.version, FlowVersion.definition)
                .join(Flow, Flow.id == Number.flow_id)
                .join(
                    FlowVersion,
                    (FlowVersion.flow_id == Flow.id) & (FlowVersion.version == Flow.version),
                )
                .join(Tenant, Tenant.id == Number.tenant_id)
                .where(Number.number == number, Tenant.active)
            )
            if not rows:
                return None
            row, version, definition = rows[0]
            return NumberRoute(
                row.tenant_id, row.number, row.flow_id, version, definition, row.trunk_id
            )

        return await self._cached(("number", number), load)

    async def flow_for_number(self, number: str) -> tuple[uuid.UUID, dict[str, Any]] | None:
        """(tenant, flow definition as stored) for a DID in E.164 form, or None."""
        route = await self.number_route(number)
        return (route.tenant_id, route.definition) if route is not None else None

    async def queue_policy(self, tenant_id: uuid.UUID, queue_id: str) -> VoicePolicy:
        """The queue's voice policy, or the defaults when none is stored."""

        async def load() -> VoicePolicy:
            row: QueuePolicy | None = await self._scalar(
                select(QueuePolicy).where(
                    QueuePolicy.tenant_id == tenant_id, QueuePolicy.queue_id == queue_id
                )
            )
            if row is None:
                return VoicePolicy(
                    queue_id=queue_id,
                    **DEFAULT_POLICY.model_dump(exclude={"version", "max_wait_s"}),
                    configured=False,
                )
            return VoicePolicy(
                queue_id,
                row.record,
                row.consent_prompt,
                row.announce_every_s,
                row.moh,
                row.voicemail_queue,
                True,
            )

        return await self._cached(("policy", tenant_id, queue_id), load)

    async def audio_path(self, tenant_id: uuid.UUID, name: str) -> Path | None:
        if self.audio is None:
            raise RuntimeError("VoiceLookups was made without the audio store")
        store = self.audio

        # As the flow check names it (config_content.flow_audio): {wav: x} plays x.wav.
        stored = audio_file_name(name)

        async def load() -> Path | None:
            file_id = await self._scalar(
                select(AudioFile.id).where(
                    AudioFile.tenant_id == tenant_id, AudioFile.name == stored
                )
            )
            return store.path(tenant_id, file_id) if file_id is not None else None

        return await self._cached(("audio", tenant_id, name), load)


def _trunk_info(row: Trunk) -> TrunkInfo:
    return TrunkInfo(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        networks=tuple(ipaddress.ip_network(a) for a in row.allowed_addresses),
        inbound_username=row.inbound_username,
        outbound_host=row.outbound_host,
        outbound_port=row.outbound_port,
        outbound_transport=row.outbound_transport,
        outbound_username=row.outbound_username,
        caller_id=row.caller_id,
    )
