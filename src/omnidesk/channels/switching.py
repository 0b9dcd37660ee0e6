"""The channels' side of a channel switch (crm/switches.py): how each channel opens the contact
a matter moves to, and how an earlier conversation's transcript is read for the card.

- `CallbackTarget` (channel `voice`): a callback through the voice channel's own callback
  machinery (`VoiceServer.request_callback`), so it rings the agent, dials the customer and
  survives a restart like an IVR's callback.
- `ConversationTarget` (`email`, `messaging`, `chat`): a new round of the customer's
  conversation on an account of that channel (conversations/switched.py).

The composition root registers them with the CRM; the CRM imports no channel.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import select

from omnidesk.channels.conversations import switched
from omnidesk.channels.conversations.models import ChannelAccount
from omnidesk.channels.conversations.service import ConversationService
from omnidesk.crm.switches import SwitchOpened, SwitchOrder, SwitchPlan
from omnidesk.platform.errors import Invalid
from omnidesk.routing.api import Routing

CHANNEL_NAMES = {"voice": "a call", "email": "email", "messaging": "messaging", "chat": "chat"}


def _attributes(order: SwitchOrder) -> dict[str, Any]:
    """What routing rules and the desk see of the switch on the new contact."""
    attributes: dict[str, Any] = {
        "switched_from": order.from_contact_id,
        "switched_from_channel": order.from_channel,
    }
    if order.case_id is not None:
        attributes["case_id"] = str(order.case_id)
    return attributes


class CallbackRequests(Protocol):
    """What the callback target needs of the voice channel (`VoiceServer`)."""

    async def request_callback(
        self,
        tenant_id: uuid.UUID,
        number: str,
        queue_id: str,
        *,
        customer_id: uuid.UUID,
        attributes: dict[str, Any],
        preferred_agent_id: str | None = None,
        preferred_for_seconds: float = 30.0,
    ) -> str: ...


class CallbackTarget:
    channel = "voice"

    def __init__(self, voice: Callable[[], CallbackRequests | None], routing: Routing) -> None:
        self._voice = voice  # read when asked: the voice server starts after this is built
        self.routing = routing

    def _server(self) -> CallbackRequests:
        server = self._voice()
        if server is None:
            raise Invalid(
                "callbacks need the voice channel, which is not enabled on this server",
                field="channel",
            )
        return server

    async def plan(
        self, tenant_id: uuid.UUID, account_id: uuid.UUID | None, queue_id: str | None
    ) -> SwitchPlan:
        self._server()
        if account_id is not None:
            raise Invalid("a callback has no account", field="account_id")
        if queue_id is None:
            raise Invalid("name the queue the callback waits in", field="queue_id")
        queue = await self.routing.read(tenant_id, lambda r: r.queues().get(queue_id))
        if queue is None or "voice" not in (queue.get("channels") or []):
            raise Invalid(
                f"queue {queue_id!r} does not take calls: name a voice queue", field="queue_id"
            )
        return SwitchPlan("phone")

    async def open(self, order: SwitchOrder) -> SwitchOpened:
        assert order.queue_id is not None  # plan() insisted
        contact_id = await self._server().request_callback(
            order.tenant_id,
            order.address,
            order.queue_id,
            customer_id=order.customer_id,
            attributes=_attributes(order),
            preferred_agent_id=order.preferred_agent_id,
            preferred_for_seconds=order.preferred_for_seconds,
        )
        return SwitchOpened(contact_id=contact_id, kind="callback", routed=True)


class ConversationTarget:
    def __init__(self, service: ConversationService, channel: str) -> None:
        self.service = service
        self.channel = channel

    async def _account(self, tenant_id: uuid.UUID, account_id: uuid.UUID | None) -> ChannelAccount:
        kinds = {k for k, a in self.service.adapters.items() if a.channel == self.channel}
        async with self.service.unit(tenant_id) as uow:
            rows = list(
                await uow.session.scalars(
                    select(ChannelAccount)
                    .where(ChannelAccount.active.is_(True), ChannelAccount.kind.in_(kinds))
                    .order_by(ChannelAccount.created_at)
                )
            )
        if account_id is not None:
            found = next((r for r in rows if r.id == account_id), None)
            if found is None:
                raise Invalid(f"no active {self.channel} account {account_id}", field="account_id")
            return found
        if not rows:
            raise Invalid(f"the tenant has no active {self.channel} account", field="channel")
        if len(rows) > 1:
            raise Invalid(
                f"the tenant has several {self.channel} accounts: name one",
                field="account_id",
                accounts=[str(r.id) for r in rows],
            )
        return rows[0]

    async def plan(
        self, tenant_id: uuid.UUID, account_id: uuid.UUID | None, queue_id: str | None
    ) -> SwitchPlan:
        account = await self._account(tenant_id, account_id)
        adapter = self.service.adapters[account.kind]
        provider = account.provider if adapter.identity_kind == "messaging" else None
        return SwitchPlan(adapter.identity_kind, provider)

    async def open(self, order: SwitchOrder) -> SwitchOpened:
        row = await self._account(order.tenant_id, order.account_id)
        account = self.service.account_of(row)
        before = CHANNEL_NAMES.get(order.from_channel, order.from_channel)
        conversation_id, contact_id, routed = await switched.open_switched(
            self.service,
            account,
            order.address,
            customer_id=order.customer_id,
            identity_id=order.identity_id,
            note=f"Continued from {before} (contact {order.from_contact_id}).",
            preferred_agent_id=order.preferred_agent_id,
            preferred_for_seconds=order.preferred_for_seconds,
            attributes=_attributes(order),
        )
        return SwitchOpened(
            contact_id=contact_id, kind="conversation", routed=routed,
            conversation_id=conversation_id,
        )  # fmt: skip


class ConversationTranscripts:
    """The card's view of an earlier conversation (crm/switches.py's `Transcripts`)."""

    def __init__(self, service: ConversationService) -> None:
        self.service = service

    async def messages(
        self, tenant_id: uuid.UUID, conversation_id: uuid.UUID, limit: int
    ) -> list[dict[str, Any]]:
        return await switched.transcript(self.service, tenant_id, conversation_id, limit)
