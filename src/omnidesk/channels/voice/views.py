"""The `voice` section of the realtime snapshot: the live calls a user may follow, and (with
the voice server on) the agents' softphone registrations they may see.

Live calls are held in memory by the voice server, not in the database. What a user gets is
what their event stream covers — the same `Principal.sees` rule over each call's audience — so
every call in the snapshot is kept current by the `voice.*` events that follow it.

Ordering: a call step changes the call in memory, then its event is queued for writing. A
snapshot taken in between shows the new state with a `last_event_id` before that event; the
event then arrives and repeats what the snapshot already shows. Clients apply voice events as
upserts (`call_started`, `call_state_changed`) and removals (`call_ended`), so a repeat is
harmless, and nothing is ever missed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.channels.voice.calls import VoiceCall
from omnidesk.channels.voice.context import VoiceContext
from omnidesk.channels.voice.registrations import Registration, registration_views
from omnidesk.directory.models import TeamMember
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.auth.roles import Role


def call_view(call: VoiceCall) -> dict[str, Any]:
    """A live call as the desktops show it (the REST API and the realtime snapshot)."""
    return {
        "call_id": call.id,
        "state": call.state,
        "contact_id": call.contact_id,
        "queue_id": call.queue_id,
        "agent_id": call.agent_id,
        "caller": call.caller,
        "number": call.number,
        "started_at": call.started_at,
        "connected_at": call.connected_at,
        "muted": bool(call.agent_leg is not None and call.agent_leg.muted),
        "recording": None
        if call.recorder is None
        else ("paused" if call.recorder.paused else "recording"),
        "monitors": [{"user_id": k, "mode": v[2]} for k, v in call.monitors.items()],
        "consult": consult_view(call),
        # A call from one agent to another (agent_calls.py): the one called.
        "callee_id": call.attributes.get("callee_id"),
    }


def consult_view(call: VoiceCall) -> dict[str, Any] | None:
    """The call's open consult (transfers.py): who is consulted, and whether they answered.
    In every call view, so the consulted agent's desk knows when its part is over."""
    consult = call.consult
    if consult is None:
        return None
    return {
        "consult_id": consult.consult_id,
        "agent_id": consult.agent_id,
        "target_kind": consult.target_kind,
        "target": consult.target,
        "state": "connected" if consult.answered else "ringing",
    }


class VoiceView:
    name = "voice"

    def __init__(self, voice: Callable[[], VoiceContext | None]) -> None:
        # A getter of the voice server: the hub is built before it starts (and without one
        # when voice is off, the section is simply empty).
        self._voice = voice

    async def build(self, session: AsyncSession, principal: Principal) -> dict[str, Any]:
        voice = self._voice()
        if voice is None:
            return {"calls": {}}  # voice off: no calls, and no softphones to speak of
        calls: dict[str, Any] = {}
        for call in list(voice.calls.values()):
            if follows(principal, voice, call):
                calls[call.id] = call_json(call)
        registrations = await visible_registrations(session, principal, voice)
        return {"calls": calls, "registrations": registration_views(registrations)}


async def visible_registrations(
    session: AsyncSession, principal: Principal, voice: VoiceContext
) -> list[Registration]:
    """The softphones a user follows — the one rule for the snapshot, the REST API and (by
    the events' audience: the agent and their teams' supervisors) the event stream: admins
    all of their tenant's, a supervisor their own and their teams' members', an agent their
    own."""
    registrations = voice.softphones.of_tenant(principal.tenant_id)
    if principal.is_admin or not registrations:
        return registrations
    if principal.role is Role.SUPERVISOR and principal.supervised_teams:
        members = await session.scalars(
            select(TeamMember.user_id).where(TeamMember.team_id.in_(principal.supervised_teams))
        )
        visible = {principal.user_id, *members}
    else:
        visible = {principal.user_id}
    return [r for r in registrations if r.user_id in visible]


def follows(principal: Principal, voice: VoiceContext, call: VoiceCall) -> bool:
    """The one rule for who sees a live call — in the snapshot, the REST API and (through the
    same audience) the event stream: admins all of their tenant's, an agent the calls they are
    or were on, a supervisor those of their teams' queues and agents."""
    return call.tenant_id == principal.tenant_id and principal.sees(voice.audience(call))


def call_json(call: VoiceCall) -> dict[str, Any]:
    """`call_view` as JSON values (the snapshot and the events carry it)."""
    view = call_view(call)
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in view.items()}
