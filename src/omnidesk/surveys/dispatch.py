"""Sending a survey when a contact ends.

The dispatcher follows the event log: per tenant it reads routing's `routing.contact_ended`
after a stored cursor, deals with each, then moves the cursor; the bus only wakes it. So a
restart or a missed wake-up loses no contact end, and one read twice changes nothing. A
contact an agent handled (reason `completed`, an agent on it) is surveyed: the channels say
which conversation it was (ports.py; none for voice: the voice engine asks its survey on the
line as the agent hangs up and records the row itself, surveys/voice.py) and
exactly one row per contact is recorded (a unique key):
- not sent, with the reason, when no enabled survey fits the channel and queue, the customer
  opted out of surveys (or of the channel) or was erased, the conversation has no address, or
  the channel's reply window is closed;
- else pending with a fresh token (only its SHA-256 is stored), committed before the channel is
  asked to deliver, then sent, or not sent with `send_failed` and the channel's words.
A pending row left by a crash between the two is delivered with a new token on the next start."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from omnidesk.crm.models import Customer
from omnidesk.platform import eventlog
from omnidesk.platform.bus import EventBus, Subscription
from omnidesk.platform.database import SYSTEM, Database, utcnow
from omnidesk.platform.events import Audience, PublishedEvent
from omnidesk.platform.logging import get_logger
from omnidesk.platform.pacing import Pacer
from omnidesk.platform.tenancy import Tenant
from omnidesk.platform.uow import UnitOfWork
from omnidesk.surveys import texts
from omnidesk.surveys.definitions import matching
from omnidesk.surveys.events import SurveyNotSent, SurveySent
from omnidesk.surveys.models import Survey, SurveyCursor, SurveySend
from omnidesk.surveys.ports import DeliveryFailed, EndedContact, Invitation, SurveyChannels

log = get_logger(__name__)
ENDED = "routing.contact_ended"
BATCH = 200
RETRY_SECONDS = 5.0
PACE_SECONDS = 0.25


def new_token() -> tuple[str, str]:
    """(token, its SHA-256 hex): 256 random bits, URL-safe."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def audience_of(row: SurveySend) -> Audience:
    with contextlib.suppress(ValueError, TypeError):
        return Audience.of([uuid.UUID(str(row.agent_id))])
    return Audience()


def recorded(row: SurveySend) -> SurveySent | SurveyNotSent:
    common = {
        "send_id": row.id,
        "contact_id": row.contact_id,
        "channel": row.channel,
        "queue_id": row.queue_id,
        "agent_id": row.agent_id,
    }
    if row.status == "not_sent":
        return SurveyNotSent(survey_id=row.survey_id, reason=row.reason or "unknown", **common)
    assert row.survey_id is not None
    return SurveySent(survey_id=row.survey_id, **common)


async def refusal(
    uow: UnitOfWork, survey: Survey | None, customer_id: uuid.UUID | None, channel: str
) -> str | None:
    """Why a contact of this customer on this channel gets no survey, whatever the channel
    can do: none fits, the customer was erased or opted out (of surveys or the channel)."""
    if survey is None:
        return "no_survey"
    if customer_id is not None:
        customer = await uow.session.get(Customer, customer_id)
        if customer is not None and customer.status == "erased":
            return "customer_erased"
        opt_out = (customer.consent if customer is not None else {}).get("opt_out") or {}
        for key in ("surveys", channel):
            if (opt_out.get(key) or {}).get("value") is True:
                return "opted_out"
    return None


def _ended(tenant_id: uuid.UUID, record: eventlog.EventRecord) -> Ended | None:
    """The contact end to survey: completed, with the agent who handled it."""
    data = record.payload
    agent = data.get("agent_id")
    if not agent or data.get("reason") != "completed":
        return None
    at = record.occurred_at if record.occurred_at.tzinfo else record.occurred_at.replace(tzinfo=UTC)
    return Ended(tenant_id, str(data["contact_id"]), data.get("queue_id"), str(agent), at)


@dataclass(frozen=True)
class Ended:
    tenant_id: uuid.UUID
    contact_id: str
    queue_id: str | None
    agent_id: str
    at: datetime  # when the contact ended (results count it in that range)


class SurveyDispatcher:
    def __init__(
        self,
        db: Database,
        bus: EventBus,
        channels: SurveyChannels,
        *,
        public_url: str,
        batch: int = BATCH,
    ) -> None:
        self.db = db
        self.bus = bus
        self.channels = channels
        self.public_url = public_url.rstrip("/")
        self.batch = batch
        self._dirty: set[uuid.UUID] = set()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._locks: dict[uuid.UUID, asyncio.Lock] = {}
        self._task: asyncio.Task[None] | None = None
        self._subscription: Subscription | None = None
        # Woken by every contact's end: at most one catch-up per PACE_SECONDS (pacing.py).
        self._pacer = Pacer(PACE_SECONDS)

    def start(self) -> None:
        self._subscription = self.bus.subscribe(self._on_event)
        self._task = asyncio.create_task(self._run(), name="survey-dispatcher")

    async def stop(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def settled(self) -> None:
        """Wait until every contact end announced so far is dealt with (tests, shutdown)."""
        await self._idle.wait()

    def _on_event(self, published: PublishedEvent) -> None:
        if published.type != ENDED:
            return
        self._dirty.add(published.tenant_id)
        self._idle.clear()
        self._wake.set()

    async def _run(self) -> None:
        try:
            await self.resume()
            for tenant_id in await self._tenants():
                await self._guarded(tenant_id)
        except Exception:
            log.exception("survey.start_failed")
        while True:
            if not self._dirty:
                self._idle.set()
            await self._wake.wait()
            await self._pacer.wait_turn()
            self._wake.clear()
            dirty, self._dirty = self._dirty, set()
            for tenant_id in dirty:
                await self._guarded(tenant_id)

    async def _guarded(self, tenant_id: uuid.UUID) -> None:
        try:
            await self.catch_up(tenant_id)
        except Exception:
            # The cursor did not move past what failed: it is read again after a pause (or
            # on the next wake-up), and nothing later of this tenant is skipped meanwhile.
            log.exception("survey.dispatch_failed", tenant=str(tenant_id))
            asyncio.get_running_loop().call_later(RETRY_SECONDS, self._retry, tenant_id)

    def _retry(self, tenant_id: uuid.UUID) -> None:
        self._dirty.add(tenant_id)
        self._wake.set()

    async def catch_up(self, tenant_id: uuid.UUID) -> None:
        """Deal with every contact end logged after the tenant's cursor, then move it. The
        cursor starts when the tenant's first survey is defined: contacts that ended before
        get none, and a tenant without surveys is not read at all."""
        lock = self._locks.setdefault(tenant_id, asyncio.Lock())
        async with lock:
            while True:
                cursor, records = await self._read(tenant_id)
                for record in records:
                    await self.handle(_ended(tenant_id, record))
                if not records:
                    return
                await self._advance(tenant_id, cursor, records[-1].seq)

    async def _read(self, tenant_id: uuid.UUID) -> tuple[int, list[eventlog.EventRecord]]:
        # Only this dispatcher moves the cursor (under the tenant's lock): two plain reads
        # suffice, no snapshot.
        async with self.db.read_session(tenant_id) as session:
            cursor = await session.scalar(select(SurveyCursor.last_seq))
            if cursor is None:
                return 0, []  # never had a survey (definitions.py starts the cursor)
            rows = list(
                await session.scalars(
                    select(eventlog.EventRecord)
                    .where(eventlog.EventRecord.seq > cursor, eventlog.EventRecord.type == ENDED)
                    .order_by(eventlog.EventRecord.seq)
                    .limit(self.batch)
                )
            )
            session.expunge_all()  # kept as read: the snapshot's rollback would expire them
            return cursor, rows

    async def _advance(self, tenant_id: uuid.UUID, cursor: int, seq: int) -> None:
        session = self.db.session(tenant_id)
        try:
            async with UnitOfWork(session, self.bus, tenant_id=tenant_id):
                # Only from where this reader started: another node that moved it on wins.
                await session.execute(
                    update(SurveyCursor).where(SurveyCursor.last_seq == cursor).values(last_seq=seq)
                )
        finally:
            await session.close()

    async def _tenants(self) -> list[uuid.UUID]:
        session = self.db.session(SYSTEM)
        try:
            return list(await session.scalars(select(Tenant.id).where(Tenant.active)))
        finally:
            await session.close()

    def link(self, token: str) -> str:
        return f"{self.public_url}/s/{token}"

    async def handle(self, ended: Ended | None) -> None:
        if ended is None:
            return  # nobody handled it: there is nothing to ask about
        contact = await self.channels.ended_contact(ended.tenant_id, ended.contact_id)
        if contact is None:
            return
        token, hashed = new_token()
        session = self.db.session(ended.tenant_id)
        try:
            async with UnitOfWork(session, self.bus, tenant_id=ended.tenant_id) as uow:
                row = await self._record(uow, ended, contact, hashed)
                if row is None:
                    return
        except IntegrityError:
            return  # the same end announced twice at once: the other one recorded it
        finally:
            await session.close()
        if row.status == "pending":
            await self.deliver(ended.tenant_id, row.id, token)

    async def _record(
        self, uow: UnitOfWork, ended: Ended, contact: EndedContact, hashed: str
    ) -> SurveySend | None:
        session = uow.session
        if await session.scalar(
            select(SurveySend.id).where(SurveySend.contact_id == ended.contact_id)
        ):
            return None
        surveys = list(await session.scalars(select(Survey)))
        survey = matching(surveys, contact.channel, ended.queue_id)
        now = utcnow()
        row = SurveySend(
            id=uuid.uuid4(),
            survey_id=survey.id if survey else None,
            contact_id=ended.contact_id,
            channel=contact.channel,
            queue_id=ended.queue_id,
            agent_id=ended.agent_id,
            customer_id=contact.customer_id,
            conversation_id=contact.conversation_id,
            language=texts.language_of(contact.language),
            ended_at=ended.at,
        )
        reason = await self._refusal(uow, survey, contact)
        if reason is not None or survey is None:
            row.status, row.reason = "not_sent", reason or "no_survey"
        else:
            row.status, row.token_hash = "pending", hashed
            row.expires_at = now + timedelta(days=survey.expires_after_days)
        session.add(row)
        await session.flush()
        if row.status == "not_sent":
            uow.record(recorded(row), audience_of(row))
        return row

    async def _refusal(
        self, uow: UnitOfWork, survey: Survey | None, contact: EndedContact
    ) -> str | None:
        reason = await refusal(uow, survey, contact.customer_id, contact.channel)
        if reason is not None:
            return reason
        if not contact.reachable:
            return "no_address"
        if not contact.window_open:
            return "window_closed"
        return None

    async def deliver(self, tenant_id: uuid.UUID, send_id: uuid.UUID, token: str) -> None:
        async with self.db.snapshot_session(tenant_id) as session:
            row = await session.get(SurveySend, send_id)
            survey = await session.get(Survey, row.survey_id) if row and row.survey_id else None
            session.expunge_all()
        if row is None or row.conversation_id is None:
            return
        language = texts.language_of(row.language)
        url = self.link(token)
        intro = survey.intro if survey is not None and survey.intro else None
        invitation = Invitation(
            conversation_id=row.conversation_id,
            language=language,
            text=f"{intro or texts.text(language, 'invite')}\n{url}",
            url=url,
        )
        failure: str | None = None
        try:
            await self.channels.deliver(tenant_id, invitation)
        except DeliveryFailed as exc:
            failure = exc.detail[:300]
        except Exception as exc:  # a channel's own error: recorded, not left pending
            log.exception("survey.delivery_failed", send=str(send_id))
            failure = f"{type(exc).__name__}: {exc}"[:300]
        session = self.db.session(tenant_id)
        try:
            async with UnitOfWork(session, self.bus, tenant_id=tenant_id) as uow:
                live = await uow.session.get(SurveySend, send_id)
                if live is None or live.sent_at is not None:
                    return
                if live.status == "answered":
                    # Answered before this mark (the widget shows the survey the moment the
                    # invitation arrives): it reached the customer, whatever the channel said.
                    live.sent_at = min(utcnow(), live.answered_at or utcnow())
                elif live.status != "pending":
                    return
                elif failure is None:
                    live.status, live.sent_at = "sent", utcnow()
                else:
                    live.status, live.reason, live.detail = "not_sent", "send_failed", failure
                    live.token_hash = None
                uow.record(recorded(live), audience_of(live))
        finally:
            await session.close()

    async def resume(self) -> None:
        """Deliver what a crash left pending (with a new token: the old one is not kept)."""
        session = self.db.session(SYSTEM)
        try:
            pending = list(
                (
                    await session.execute(
                        select(SurveySend.tenant_id, SurveySend.id).where(
                            SurveySend.status == "pending"
                        )
                    )
                ).all()
            )
        finally:
            await session.close()
        for tenant_id, send_id in pending:
            token, hashed = new_token()
            session = self.db.session(tenant_id)
            try:
                async with UnitOfWork(session, self.bus, tenant_id=tenant_id):
                    row = await session.get(SurveySend, send_id)
                    if row is None or row.status != "pending":
                        continue
                    row.token_hash = hashed
            finally:
                await session.close()
            await self.deliver(tenant_id, send_id, token)
