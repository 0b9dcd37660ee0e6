"""Supervisors on a live conversation: monitor it (read-only, events live over the socket),
whisper to the agent, take it over; and who is viewing which conversation.

- **Monitoring** needs nothing of its own: the conversation's events already go to the
  supervisors of its queue's teams (service.audience), and reading it is scoped in desk.py.
- **A whisper** is an internal note addressed to the agent on the contact (`whisper_to`). It is
  stored and announced like any note (agent and supervisors only) and never handed to the
  channel adapter: nothing here calls `send`.
- **Taking over** moves the contact in routing through its public API: a blind transfer to the
  supervisor's own agent profile, whose offer is accepted at once for them. The agent goes to
  wrap-up (routing's rule for a transfer) and is told by `conversation.taken_over`.
- **Viewers** are held in memory per node: who has which conversation open now. A screen says
  when it opens and closes one; a user's last realtime socket closing (the hub's presence hook)
  ends all of theirs. Each change is an event to the conversation's audience. After a restart
  nobody is viewing until the screens, re-registering, say so again.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from omnidesk.channels.conversations import store
from omnidesk.channels.conversations.desk import Desk
from omnidesk.channels.conversations.events import (
    ConversationTakenOver,
    ViewingStarted,
    ViewingStopped,
)
from omnidesk.channels.conversations.models import ChannelAccount, Conversation
from omnidesk.directory.models import User
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.roles import Role
from omnidesk.platform.database import utcnow
from omnidesk.platform.errors import Conflict, DomainError, Forbidden, NotFound
from omnidesk.platform.events import Audience
from omnidesk.platform.logging import get_logger
from omnidesk.routing.api import AcceptOffer, RoutingError, Transfer

log = get_logger(__name__)
# How long routing keeps the contact for the supervisor if the offer could not be accepted at
# once (it normally is, in the same request).
TAKEOVER_RESERVE_SECONDS = 30.0


class NoAgentProfile(DomainError):
    status = 409
    code = "no_agent_profile"
    title = "No agent profile"


class NotReady(DomainError):
    status = 409
    code = "supervisor_not_ready"
    title = "Not ready to take a contact"


@dataclass(frozen=True)
class Viewer:
    user_id: uuid.UUID
    name: str
    role: str
    since: datetime

    def view(self) -> dict[str, Any]:
        return {
            "user_id": str(self.user_id),
            "name": self.name,
            "role": self.role,
            "since": self.since.isoformat(),
        }


def _staff(by: Principal) -> None:
    if by.role is Role.AGENT:
        raise Forbidden("this action needs the supervisor or admin role")


class Supervision:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.service = desk.service
        # tenant -> conversation -> user -> viewer
        self._viewers: dict[uuid.UUID, dict[uuid.UUID, dict[uuid.UUID, Viewer]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # --- whisper -------------------------------------------------------------------------

    async def whisper(self, by: Principal, conversation_id: uuid.UUID, text: str) -> dict[str, Any]:
        _staff(by)
        conv, account_row, agent = await self.desk._open(by, conversation_id)
        target = agent or conv.last_agent_id
        if target is None:
            raise Conflict("no agent handles this conversation: there is nobody to whisper to")
        async with self.service.unit(by.tenant_id, by.user_id) as uow:
            row = store.note_message(conv, by.user_id, text, whisper_to=target)
            uow.session.add(row)
            uow.record(
                store.added(conv, row),
                self.service.audience_of(by.tenant_id, account_row.queue_id, target),
            )
        return store.message_view(row, [])

    # --- take over -----------------------------------------------------------------------

    async def take_over(self, by: Principal, conversation_id: uuid.UUID) -> dict[str, Any]:
        _staff(by)
        conv, account, _ = await self.desk._open(by, conversation_id)
        me = str(by.user_id)
        contact_id = conv.contact_id
        if conv.status == "closed" or contact_id is None:
            raise Conflict("the conversation is closed: there is nothing to take over")
        status, profile, definition = await self.service.routing.read(
            by.tenant_id,
            lambda r: (r.contact(contact_id), r.agent(me), r.agents().get(me)),
        )
        if profile is None or definition is None:
            raise NoAgentProfile(
                "you have no agent profile in routing, so you cannot hold a contact: an admin "
                "gives you one (queues and capacity, PUT /api/v1/routing/agents/{id})"
            )
        if status is None:
            raise Conflict("the conversation's contact has left routing (ended or closed)")
        if status.agent_id == me and status.state == "active":
            raise Conflict("you handle this conversation already")
        if status.state != "active" or status.agent_id is None:
            raise Conflict(
                f"nobody handles it yet (its contact is {status.state}): only a conversation "
                "an agent is working on can be taken over"
            )
        if profile.presence != "available":
            raise NotReady(
                f"you are {profile.presence} in routing: set yourself available on the agent "
                "desk to take a conversation"
            )
        capacity = int((definition.get("capacity") or {}).get(status.channel, 0))
        if profile.load.get(status.channel, 0) >= capacity:
            raise NotReady(
                f"you have no room for another {status.channel} contact "
                f"(capacity {capacity}): end one, or ask an admin for more"
            )
        previous = status.agent_id
        await self.service.routing.execute(
            by.tenant_id,
            Transfer(
                contact_id,
                "agent",
                me,
                reserve_seconds=TAKEOVER_RESERVE_SECONDS,
                note="Taken over by a supervisor",
            ),
            by.user_id,
        )
        offered = await self.service.routing.read(by.tenant_id, lambda r: r.contact(contact_id))
        state = "reserved"
        if offered is not None and offered.agent_id == me and offered.offer_id is not None:
            try:
                await self.service.routing.execute(
                    by.tenant_id, AcceptOffer(offered.offer_id, me), by.user_id
                )
                state = "active"
            except RoutingError as exc:
                # The transfer stands: the offer waits on the supervisor's desk instead.
                log.warning("conversation.takeover_accept_refused", code=exc.code)
        name = await self._name(by)
        async with self.service.unit(by.tenant_id, by.user_id) as uow:
            row = await uow.session.get(Conversation, conv.id)
            assert row is not None
            row.last_agent_id = me
            if me not in (row.agent_ids or []):
                row.agent_ids = [*(row.agent_ids or []), me]
            note = store.system_message(row, "taken_over", f"Taken over by {name}.")
            uow.session.add(note)
            audience = self.service.audience_of(by.tenant_id, account.queue_id, me)
            users = set(audience.users)
            users.add(uuid.UUID(previous))
            told = Audience.of(users, audience.teams)
            uow.record(store.added(row, note), told)
            uow.record(
                ConversationTakenOver(
                    conversation_id=row.id,
                    contact_id=contact_id,
                    from_agent_id=previous,
                    to_agent_id=me,
                ),
                told,
            )
        log.info("conversation.taken_over", conversation=str(conv.id), state=state)
        return {
            "conversation_id": str(conv.id),
            "contact_id": contact_id,
            "from_agent_id": previous,
            "to_agent_id": me,
            "state": state,
        }

    async def _name(self, by: Principal) -> str:
        async with self.service.unit(by.tenant_id) as uow:
            user = await uow.session.scalar(select(User).where(User.id == by.user_id))
        return (user.display_name if user is not None else None) or by.username

    # --- viewers -------------------------------------------------------------------------

    async def viewers(self, by: Principal, conversation_id: uuid.UUID) -> list[dict[str, Any]]:
        await self.desk._open(by, conversation_id)
        found = self._viewers.get(by.tenant_id, {}).get(conversation_id, {})
        return [v.view() for v in sorted(found.values(), key=lambda v: v.since)]

    async def start_viewing(
        self, by: Principal, conversation_id: uuid.UUID
    ) -> list[dict[str, Any]]:
        conv, account, agent = await self.desk._open(by, conversation_id)
        name = await self._name(by)
        # Checked and set with no await between: two requests at once announce one viewing.
        here = self._viewers.setdefault(by.tenant_id, {}).setdefault(conversation_id, {})
        if by.user_id not in here:
            viewer = Viewer(by.user_id, name, by.role.value, utcnow())
            here[by.user_id] = viewer
            async with self.service.unit(by.tenant_id, by.user_id) as uow:
                uow.record(
                    ViewingStarted(
                        conversation_id=conv.id,
                        user_id=by.user_id,
                        name=viewer.name,
                        role=viewer.role,
                    ),
                    self._audience(by, account.queue_id, agent),
                )
        return [v.view() for v in sorted(here.values(), key=lambda v: v.since)]

    async def stop_viewing(self, by: Principal, conversation_id: uuid.UUID) -> None:
        # No access check beyond the tenant: one may always stop (even after losing access).
        # Another tenant's conversation is not found, as on every route.
        async with self.service.unit(by.tenant_id) as uow:
            found = await uow.session.scalar(
                select(Conversation.id).where(Conversation.id == conversation_id)
            )
        if found is None:
            raise NotFound("no such conversation", conversation_id=str(conversation_id))
        await self._stop(by.tenant_id, by.user_id, conversation_id)

    async def _stop(
        self, tenant_id: uuid.UUID, user_id: uuid.UUID, conversation_id: uuid.UUID
    ) -> None:
        here = self._viewers.get(tenant_id, {}).get(conversation_id)
        if not here or here.pop(user_id, None) is None:
            return
        if not here:
            del self._viewers[tenant_id][conversation_id]
        async with self.service.unit(tenant_id, user_id) as uow:
            conv = await uow.session.get(Conversation, conversation_id)
            if conv is None:
                return
            account = await uow.session.get(ChannelAccount, conv.account_id)
            contact_id = conv.contact_id
            queue = account.queue_id if account is not None else ""
        # Asked of routing outside any session: a routing read waits for routing's pending
        # commit, which on SQLite needs the write lock a session here would hold (deadlock
        # until the busy timeout: seen as "database is locked" in the monitor browser test).
        _, agent = await self.service.live_agent(tenant_id, contact_id)
        audience = self.service.audience_of(tenant_id, queue, agent)
        async with self.service.unit(tenant_id, user_id) as uow:
            uow.record(
                ViewingStopped(conversation_id=conversation_id, user_id=user_id),
                Audience.of({*audience.users, user_id}, audience.teams),
            )

    def _audience(self, by: Principal, queue_id: str, agent: str | None) -> Audience:
        audience = self.service.audience_of(by.tenant_id, queue_id, agent)
        # The viewer's own other screens hear of it too.
        return Audience.of({*audience.users, by.user_id}, audience.teams)

    # --- the hub's presence hook ---------------------------------------------------------

    def first_opened(self, principal: Principal) -> None:
        pass

    def last_closed(self, principal: Principal) -> None:
        """The user's last socket closed: whatever they had open, they no longer view."""
        viewing = [
            conversation_id
            for conversation_id, here in self._viewers.get(principal.tenant_id, {}).items()
            if principal.user_id in here
        ]
        if viewing:
            task = asyncio.get_running_loop().create_task(
                self._stop_all(principal.tenant_id, principal.user_id, viewing)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _stop_all(
        self, tenant_id: uuid.UUID, user_id: uuid.UUID, conversations: list[uuid.UUID]
    ) -> None:
        for conversation_id in conversations:
            try:
                await self._stop(tenant_id, user_id, conversation_id)
            except Exception:
                log.exception("conversation.viewing_stop_failed")

    async def settled(self) -> None:
        """Wait until the viewings ended by closed sockets are announced (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
