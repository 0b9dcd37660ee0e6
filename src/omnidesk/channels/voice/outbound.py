"""Calls Omnidesk places through a tenant's carrier trunk: `dial_out`, transfer to an external
number (from the IVR or from a connected call) and an agent's own outbound call from the
registered softphone.

A trunk is used for outbound calls when it has an outbound block (host, port, transport; a
username and the sealed password answer the carrier's digest challenge). The far party's leg
takes the place of the agent's leg on the `VoiceCall` after a transfer, so the ordinary
hang-up path (BYE both sides, close both legs, write the record) covers it.

An agent's own call is a routing contact of theirs (`StartAgentContact`, channel voice, no
queue; its id is the call's id) from before the number is dialled until the call ends, so
routing counts it against the agent's voice capacity and rings them for no queued call
meanwhile. Routing refusing it (no room: already on a call, rung for one, or wrapping one up)
refuses the call with 486. An agent who is offline in routing (or has no routing profile)
calls as a plain extension, untracked: routing offers such an agent nothing anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

import numpy as np

from omnidesk.channels.voice import call_events as ev
from omnidesk.channels.voice.call_control import on_reinvite
from omnidesk.channels.voice.calls import VoiceCall, drop_leg, utcnow
from omnidesk.channels.voice.context import VoiceContext
from omnidesk.channels.voice.ivr.flow import normalize_e164
from omnidesk.channels.voice.lookups import TrunkInfo
from omnidesk.channels.voice.media.leg import Leg
from omnidesk.channels.voice.media.players import BufferSource, Player, ToneSource
from omnidesk.channels.voice.media.sdp import (
    NoCommonCodec,
    SdpError,
    SessionDescription,
    accept_answer,
    make_offer,
    negotiate,
)
from omnidesk.channels.voice.models import Call as CallRow
from omnidesk.channels.voice.playback import stop_playing
from omnidesk.channels.voice.recording import finish_recording
from omnidesk.channels.voice.records import note, record
from omnidesk.channels.voice.schemas import EXTENSION_PATTERN
from omnidesk.channels.voice.sip.auth import Credentials
from omnidesk.channels.voice.sip.dialog import CallFailed, IncomingCall, OutgoingCall
from omnidesk.channels.voice.sip.message import NameAddr, SipResponse, SipUri
from omnidesk.channels.voice.sip.transport import Address
from omnidesk.platform.errors import Conflict, Invalid
from omnidesk.platform.events import Audience
from omnidesk.platform.logging import get_logger
from omnidesk.routing.api import (
    EndContact,
    EndWrapUp,
    RoutingError,
    StartAgentContact,
    Transfer,
)

log = get_logger(__name__)

DIAL_TIMEOUT_S = 45.0

# What a final status from the carrier means, in words an agent or a report can use.
_FAILURES = {
    401: "trunk authentication failed (check the outbound username and password)",
    403: "trunk refused the call (forbidden; check the outbound credentials)",
    404: "number not found",
    407: "trunk authentication failed (check the outbound username and password)",
    408: "no answer",
    480: "no answer",
    484: "number incomplete",
    486: "busy",
    487: "cancelled",
    488: "no common codec with the trunk",
    600: "busy",
    603: "declined",
}


class DialFailed(CallFailed):
    """An outbound call that did not connect; `reason` says why in plain words."""


def failure_text(status: int, reason: str) -> str:
    known = _FAILURES.get(status)
    if known is None:
        known = "trunk error" if status >= 500 else "call refused"
    return f"{known} ({status} {reason})"


async def outbound_trunk(ctx: VoiceContext, tenant_id: uuid.UUID) -> TrunkInfo:
    # The lookups keep every active tenant's trunks in one cached list; the outbound ones of
    # this tenant, by name, so the choice is stable when several have an outbound block.
    trunks = [t for t in await ctx.lookups.trunks() if t.tenant_id == tenant_id and t.outbound_host]
    if not trunks:
        raise DialFailed(503, "no trunk with an outbound block is configured")
    trunks.sort(key=lambda t: (t.name, str(t.id)))
    return trunks[0]


async def _resolve(host: str, port: int, transport: str) -> Address:
    kind = "tcp" if transport == "tcp" else "udp"
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, family=socket.AF_INET, type=socket.SOCK_DGRAM
        )
    except OSError as exc:
        raise DialFailed(503, f"trunk host {host!r} does not resolve") from exc
    return Address(kind, str(infos[0][4][0]), port)  # type: ignore[arg-type]


def e164_or_invalid(number: str) -> str:
    try:
        return normalize_e164(number)
    except ValueError as exc:
        raise Invalid(str(exc)) from exc


async def dial_out(
    ctx: VoiceContext,
    tenant_id: uuid.UUID,
    number: str,
    *,
    caller_id: str | None = None,
    timeout_s: float = DIAL_TIMEOUT_S,
) -> tuple[OutgoingCall, Leg]:
    """Call `number` (E.164) through the tenant's outbound trunk; returns once answered.

    Raises DialFailed with a readable reason (auth failure, busy, 488, 5xx, timeout ...)."""
    try:
        number = normalize_e164(number)
    except ValueError as exc:
        raise DialFailed(484, f"not a phone number: {number!r}") from exc
    trunk = await outbound_trunk(ctx, tenant_id)
    assert trunk.outbound_host is not None
    dest = await _resolve(trunk.outbound_host, trunk.outbound_port, trunk.outbound_transport)
    credentials = None
    if trunk.outbound_username:
        password = await ctx.lookups.outbound_password(tenant_id, trunk.id)
        if password is not None:
            credentials = Credentials(trunk.outbound_username, password)
    shown = caller_id or trunk.caller_id
    params: dict[str, str | None] = {}
    if trunk.outbound_transport == "tcp":
        params["transport"] = "tcp"
    target = SipUri(user=number, host=trunk.outbound_host, port=trunk.outbound_port, params=params)
    from_user = shown or trunk.outbound_username or "anonymous"
    leg = await ctx.media.open_leg()
    sip: OutgoingCall | None = None
    try:
        offer = make_offer(local_ip=ctx.host, local_port=leg.local_port)
        sip = await ctx.sip.invite(
            target,
            dest,
            offer.build().encode(),
            from_uri=NameAddr(SipUri(user=from_user, host=trunk.outbound_host), shown),
            to_uri=SipUri(user=number, host=trunk.outbound_host),
            credentials=credentials,
        )
        answer = await asyncio.wait_for(sip.wait_answer(), timeout_s)
        leg.configure(accept_answer(offer, SessionDescription.parse(answer)))
    except TimeoutError:
        await _abandon(ctx, sip, leg)
        raise DialFailed(408, f"no answer within {timeout_s:.0f} s") from None
    except CallFailed as exc:
        await _abandon(ctx, sip, leg)
        raise DialFailed(exc.status, failure_text(exc.status, exc.reason)) from None
    except (SdpError, NoCommonCodec) as exc:
        await _abandon(ctx, sip, leg)
        raise DialFailed(488, f"no common codec with the trunk ({exc})") from None
    except BaseException:
        await _abandon(ctx, sip, leg)
        raise
    log.info("voice.dialled", tenant=str(tenant_id), number=number, trunk=trunk.name)
    return sip, leg


async def _abandon(ctx: VoiceContext, sip: OutgoingCall | None, leg: Leg) -> None:
    await drop_leg(ctx.media, sip, leg)


def ringback() -> Player:
    """425 Hz, one second on and four off: what a caller expects while the far end rings."""
    on = ToneSource(425.0, level_dbfs=-20, duration_ms=1000)
    off = ToneSource(1.0, level_dbfs=-90, duration_ms=4000)
    frames = []
    for part in (on, off):
        while not part.done:
            frames.append(part.read())
    return BufferSource(np.concatenate(frames), loop=True)


# --- transfer to an external number ---------------------------------------------------------


async def transfer_out(ctx: VoiceContext, call: VoiceCall, number: str) -> None:
    """From the IVR (no agent yet) or from a connected call: dial `number` and bridge the
    caller to it. A connected call keeps talking to its agent while the number rings, so a
    failed dial leaves the call as it was (the refusal reaches the API as 409)."""
    if call.state == "transferred":
        raise Conflict("the call has already been transferred")
    from_agent = call.state in ("connected", "held")
    if not from_agent and call.state != "ivr":
        raise Conflict(f"the call is {call.state}; only a connected call can be transferred")
    target = e164_or_invalid(number)
    waiting: Player | None = None
    if not from_agent:
        stop_playing(ctx, call)
        waiting = ringback()
        ctx.media.connect(call.leg, waiting)
    await note(ctx, call, "transferring", detail={"number": target})
    try:
        far_sip, far_leg = await dial_out(ctx, call.tenant_id, target, caller_id=call.caller)
    except DialFailed as exc:
        await note(ctx, call, "transfer_failed", detail={"number": target, "why": exc.reason})
        if waiting is not None:
            ctx.media.disconnect(call.leg, waiting)
        if from_agent:
            raise Conflict(f"transfer to {target} failed: {exc.reason}") from None
        await ctx.hang_up(call, f"transfer failed: {exc.reason}"[:64])
        return
    if waiting is not None:
        ctx.media.disconnect(call.leg, waiting)
    if call.ended:
        await _abandon(ctx, far_sip, far_leg)
        return
    agent_id = call.agent_id
    if from_agent:
        await _release_agent(ctx, call, target)
    call.state = "transferred"
    call.agent_sip, call.agent_leg = far_sip, far_leg
    call.connected_at = call.connected_at or utcnow()
    call.attributes["transferred_to"] = target
    ctx.media.bridge(call.leg, far_leg)

    async def far_gone(reason: str) -> None:
        if not call.ended:
            call.put("call", lambda: ctx.hang_up(call, f"transferred {target}: far {reason}"))

    far_sip.on_ended = far_gone
    await note(
        ctx,
        call,
        "transferred",
        agent_id=agent_id,
        detail={"number": target, "from": "agent" if from_agent else "ivr"},
    )


async def _release_agent(ctx: VoiceContext, call: VoiceCall, target: str) -> None:
    """The agent leaves the call: routing ends the contact (transferred_external) and puts the
    agent in wrap-up; the recording of their part is closed; their phone gets a BYE."""
    if call.held is not None:
        ctx.media.resume(call.leg, call.held)
        call.held = None
    with contextlib.suppress(Exception):
        await finish_recording(ctx, call)
    contact_id = call.contact_id
    # Mark the call first: routing's contact_ended event must not hang the whole call up.
    call.state = "transferred"
    if contact_id is not None:
        ctx.by_contact.pop(contact_id, None)
        try:
            await ctx.routing.execute(call.tenant_id, Transfer(contact_id, "external", target))
        except RoutingError as exc:
            log.warning("voice.transfer_routing_refused", call=call.id, error=str(exc))
    agent_sip, agent_leg = call.agent_sip, call.agent_leg
    call.agent_sip, call.agent_leg = None, None
    if agent_sip is not None:
        agent_sip.on_ended = None
        with contextlib.suppress(CallFailed, OSError):
            await agent_sip.bye()
    if agent_leg is not None:
        await ctx.media.close_leg(agent_leg)


# --- an agent's own outbound call -------------------------------------------------------------


# An agent's softphone dialled a colleague's extension: (ctx, the INVITE, tenant, caller's
# user id, callee's user id). Given by the caller of agent_invite (agent_calls.py rings the
# callee; it imports this module, so it cannot be imported here).
RingExtension = Callable[[VoiceContext, IncomingCall, uuid.UUID, str, str], Awaitable[None]]


async def agent_invite(
    ctx: VoiceContext, sip_call: IncomingCall, ring_extension: RingExtension | None = None
) -> bool:
    """An INVITE from an agent's softphone to a number (or a colleague's extension, which
    `ring_extension` rings); False when it is not one (a trunk's)."""
    request = sip_call.request
    domain = request.from_.uri.host.lower()
    tenant_id = await ctx.lookups.tenant_for_domain(domain)
    if tenant_id is None:
        return False
    user = request.from_.uri.user or ""
    account = await ctx.lookups.sip_account(tenant_id, user) if user else None
    is_agent = account is not None and account.user_id is not None
    # Carriers and agents may share an address (an SBC, or loopback in tests): a From naming
    # an agent of the tenant's domain is an agent's call either way, and digest decides.
    if not is_agent and await ctx.lookups.trunk_for_source(sip_call.source.host) is not None:
        return False
    checked = await ctx.sip.check_digest(
        request, sip_call.source, domain, user=user or None, proxy=True, tag=sip_call.local_tag
    )
    if isinstance(checked, SipResponse):
        await _reject_with(sip_call, checked)
        return True
    assert account is not None and account.user_id is not None
    dialled = request.uri.user or request.to.uri.user or ""
    if ring_extension is not None and re.fullmatch(EXTENSION_PATTERN, dialled):
        # A colleague's extension rings them; digits that are nobody's extension are dialled
        # as a number, as before extensions existed.
        callee = await ctx.lookups.agent_for_extension(tenant_id, dialled)
        if callee is not None:
            await ring_extension(ctx, sip_call, tenant_id, str(account.user_id), callee)
            return True
    await _agent_call(ctx, sip_call, tenant_id, str(account.user_id))
    return True


async def _reject_with(sip_call: IncomingCall, response: SipResponse) -> None:
    headers = [
        (name, value)
        for name in ("Proxy-Authenticate", "WWW-Authenticate")
        for value in response.headers.get_all(name.lower())
    ]
    await sip_call.reject(response.status, response.reason, headers=headers)


async def _agent_call(
    ctx: VoiceContext, sip_call: IncomingCall, tenant_id: uuid.UUID, agent_id: str
) -> None:
    request = sip_call.request
    started = utcnow()
    dialled = request.uri.user or request.to.uri.user or ""
    try:
        number = normalize_e164(dialled if dialled.startswith("+") else "+" + dialled)
    except ValueError:
        await sip_call.reject(484, "Not A Phone Number")
        return
    opened = await answering_leg(ctx, sip_call)
    if opened is None:
        return
    agent_leg, answer = opened
    call_id = uuid.uuid4().hex
    # Before dialling: the agent is busy in routing from now on, so no queued call rings them
    # while the number rings.
    try:
        contact_id = await start_contact(ctx, tenant_id, agent_id, call_id, number)
    except RoutingError as exc:
        await ctx.media.close_leg(agent_leg)
        await sip_call.reject(486, "Busy Here (Agent Busy In Routing)")
        await write_failed_record(
            ctx,
            tenant_id,
            from_uri=str(request.from_.uri),
            to_uri=f"sip:{number}",
            number=number,
            trunk_id=None,
            agent_id=agent_id,
            started_at=started,
            reason=refusal_text(exc),
        )
        return
    connected = False
    try:
        await sip_call.ringing()
        trunk: TrunkInfo | None = None
        try:
            trunk = await outbound_trunk(ctx, tenant_id)
            far_sip, far_leg = await dial_out(ctx, tenant_id, number)
        except DialFailed as exc:
            await ctx.media.close_leg(agent_leg)
            status = exc.status if exc.status in (404, 480, 484, 486, 488, 600, 603) else 503
            await sip_call.reject(status, exc.reason.split(" (")[0][:60].title())
            await write_failed_record(
                ctx,
                tenant_id,
                from_uri=str(request.from_.uri),
                to_uri=f"sip:{number}@{trunk.outbound_host if trunk else ''}",
                number=number,
                trunk_id=trunk.id if trunk else None,
                agent_id=agent_id,
                started_at=started,
                reason=exc.reason,
                contact_id=contact_id,
            )
            return
        call = VoiceCall(
            tenant_id=tenant_id,
            sip=far_sip,
            leg=far_leg,
            caller=trunk.caller_id,
            number=number,
            trunk_id=trunk.id,
            direction="outbound",
            started_at=started,
            id=call_id,
        )
        call.agent_id, call.agent_sip, call.agent_leg = agent_id, sip_call, agent_leg
        call.attributes.update({"number": number, "agent_outbound": True})
        try:
            await sip_call.answer(answer.build().encode())
        except CallFailed:
            await _abandon(ctx, far_sip, far_leg)
            await ctx.media.close_leg(agent_leg)
            return
        connected = True
        if contact_id is not None:
            # From here the call's hang-up ends the contact (EndContact, then wrap-up as after
            # any call), and routing ending the contact hangs the call up.
            call.contact_id = contact_id
            ctx.by_contact[contact_id] = call
        await start_connected(ctx, call, "agent outbound")
    finally:
        if contact_id is not None and not connected:
            await end_unconnected(ctx, tenant_id, agent_id, contact_id)


async def answering_leg(
    ctx: VoiceContext, sip_call: IncomingCall
) -> tuple[Leg, SessionDescription] | None:
    """A media leg configured for a phone's INVITE and the SDP answer to send when the call is
    answered; None once the INVITE is refused (400 for an offer that does not parse, 488 when
    no codec is shared). The phone's calls to a number and to a colleague both start here."""
    try:
        offer = SessionDescription.parse(sip_call.remote_sdp or b"")
    except SdpError:
        await sip_call.reject(400, "Bad SDP")
        return None
    leg = await ctx.media.open_leg()
    try:
        answer, params = negotiate(offer, local_ip=ctx.host, local_port=leg.local_port)
    except (NoCommonCodec, SdpError):
        await ctx.media.close_leg(leg)
        await sip_call.reject(488, "Not Acceptable Here")
        return None
    leg.configure(params)
    return leg, answer


async def start_contact(
    ctx: VoiceContext,
    tenant_id: uuid.UUID,
    agent_id: str,
    call_id: str,
    number: str,
    *,
    attributes: dict[str, str] | None = None,
) -> str | None:
    """Make the agent's call their routing contact; its id (the call's), or None when the agent
    is offline in routing or has no routing profile (a plain extension call, untracked).
    Raises the RoutingError of any other refusal (no room for a voice contact). `attributes`:
    the contact's, in place of the number's (a call to another agent has none)."""
    contact = attributes if attributes is not None else {"number": number}
    command = StartAgentContact(
        call_id, agent_id, "voice", attributes={**contact, "direction": "outbound"}
    )
    try:
        await ctx.routing.execute(tenant_id, command)
    except RoutingError as exc:
        if exc.code in ("agent_offline", "unknown_agent"):
            return None
        raise
    return call_id


def refusal_text(exc: RoutingError) -> str:
    if exc.code == "capacity_exceeded":
        # Routing gives no room on voice while the agent is on a call, is rung for one or is
        # wrapping one up (or holds what the blending keeps calls away from).
        return "routing refused: agent busy, no free voice capacity"
    return f"routing refused: {exc.code}"


async def end_unconnected(
    ctx: VoiceContext, tenant_id: uuid.UUID, agent_id: str, contact_id: str
) -> None:
    """The call never connected: end its contact without leaving the agent in wrap-up (there
    was no conversation to wrap up). Both steps in one routing step, so no viewer sees the
    agent wrapping up; the wrap-up's disposition "not_connected" tells reports so."""
    try:
        await ctx.routing.execute_all(
            tenant_id, [EndContact(contact_id), EndWrapUp(agent_id, contact_id, "not_connected")]
        )
    except RoutingError as exc:
        # Ended meanwhile (the agent's session was disconnected), or no wrap-up to end (one
        # of 0 s): what is left to do was done by routing.
        log.info("voice.outbound_contact_end", contact=contact_id, code=exc.code)


async def start_connected(ctx: VoiceContext, call: VoiceCall, why: str) -> None:
    """Make a bridged customer/agent pair a live call: events, inbox, hang-up wiring."""
    call.state = "connected"
    call.connected_at = utcnow()
    ctx.calls[call.id] = call
    assert call.agent_sip is not None and call.agent_leg is not None
    agent_sip, agent_leg = call.agent_sip, call.agent_leg

    async def agent_gone(reason: str) -> None:
        if not call.ended:
            call.put("call", lambda: ctx.agent_gone(call, reason))

    agent_sip.on_ended = agent_gone
    agent_sip.on_reinvite = lambda offer: on_reinvite(
        ctx, call, agent_sip, agent_leg, offer, agent=True
    )
    ctx.run_call(call)  # the caller's side into its inbox, and its runner
    ctx.media.bridge(call.leg, agent_leg)
    await record(
        ctx,
        call,
        ev.CallStarted(
            call_id=call.id,
            direction=call.direction,
            caller=call.caller,
            callee=call.number,
            number=call.number,
            trunk_id=str(call.trunk_id) if call.trunk_id else None,
            agent_id=uuid.UUID(call.agent_id) if call.agent_id else None,
        ),
    )
    await note(ctx, call, "connected", detail={"via": why})


async def write_failed_record(
    ctx: VoiceContext,
    tenant_id: uuid.UUID,
    *,
    from_uri: str,
    to_uri: str,
    number: str,
    trunk_id: uuid.UUID | None,
    agent_id: str | None,
    started_at: datetime,
    reason: str,
    contact_id: str | None = None,
) -> None:
    """The detail record of an outbound call that never connected."""
    ended = utcnow()
    agent = uuid.UUID(agent_id) if agent_id else None
    call_id = uuid.uuid4().hex
    log.info(
        "voice.call_ended",
        call=call_id,
        tenant=str(tenant_id),
        direction="outbound",
        to=number,
        agent=agent_id,
        outcome=reason,
        connected=False,
    )
    async with ctx.uow(tenant_id) as uow:
        uow.session.add(
            CallRow(
                tenant_id=tenant_id,
                call_id=call_id,
                contact_id=contact_id,
                direction="outbound",
                from_uri=from_uri[:255],
                to_uri=to_uri[:255],
                number=number,
                trunk_id=trunk_id,
                agent_id=agent,
                started_at=started_at,
                answered_at=None,
                ended_at=ended,
                end_reason=reason[:64],
                recording_ids=[],
            )
        )
        uow.record(
            ev.CallEnded(
                call_id=call_id,
                direction="outbound",
                caller=None,
                callee=number,
                contact_id=contact_id,
                agent_id=agent,
                started_at=started_at,
                connected_at=None,
                ended_at=ended,
                reason=reason,
            ),
            Audience(users=frozenset({agent}) if agent else frozenset()),
        )


async def transfer_connected(ctx: VoiceContext, call: VoiceCall, number: str) -> None:
    """The desktop's transfer-out: only a call connected to an agent (409 otherwise)."""
    if call.state not in ("connected", "held") or call.agent_leg is None:
        raise Conflict(f"the call is {call.state}, not connected to an agent")
    await transfer_out(ctx, call, number)
