"""The browser phone over HTTP (ADR 0030): register it with one click, answer a ringing call
with the browser's WebRTC offer. Ringing itself is routing's offer on the realtime socket."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field, model_validator

from omnidesk.channels.voice import agent_calls, browser_dial
from omnidesk.channels.voice.context import VoiceContext
from omnidesk.channels.voice.ice import TurnRest
from omnidesk.channels.voice.schemas import EXTENSION_PATTERN
from omnidesk.channels.voice.webrtc import BrowserCall, OfferRefused, check_offer
from omnidesk.platform.errors import Conflict, Invalid, NotFound
from omnidesk.platform.http import Ctx
from omnidesk.platform.logging import get_logger
from omnidesk.platform.openapi import documented, errors

log = get_logger(__name__)
router = APIRouter(prefix="/voice/browser-phone", tags=["voice browser phone"])


class IceServerOut(BaseModel):
    urls: list[str]
    username: str | None = None
    credential: str | None = None
    expires_at: datetime | None = Field(
        default=None,
        description="When this credential stops working (a short-lived TURN REST one, minted "
        "for you at each request); null: a static credential, or none",
    )


class BrowserPhoneOut(BaseModel):
    registered: bool
    registered_at: datetime | None = None
    opus: bool = Field(
        default=False,
        description="Whether the server takes Opus (voice_webrtc_opus): offer it first then; "
        "else offer G.711 only",
    )
    ice_servers: list[IceServerOut] = Field(
        default_factory=list,
        description="STUN/TURN servers for the browser's RTCPeerConnection (voice_ice_servers; "
        "TURN credentials included: the browser needs them)",
    )


def _ice_servers(server: VoiceContext | None, ctx: Ctx) -> list[IceServerOut]:
    if server is None:
        return []
    out = []
    for source in server.browser_phones.ice_servers:
        expires = None
        if isinstance(source, TurnRest):
            # Minted for this user at each request (coturn's log then names who relays).
            expires = int(time.time()) + source.ttl_seconds
            s = source.mint_until(str(ctx.principal.user_id), expires)
        else:
            s = source
        out.append(
            IceServerOut(
                urls=s.urls if isinstance(s.urls, list) else [s.urls],
                username=s.username,
                credential=s.credential,
                expires_at=datetime.fromtimestamp(expires, UTC) if expires else None,
            )
        )
    return out


class BrowserOfferIn(BaseModel):
    offer_id: str = Field(min_length=1, max_length=100, description="Routing's offer ringing")
    sdp: str = Field(min_length=1, max_length=20000, description="The browser's SDP offer")


class BrowserAnswerOut(BaseModel):
    sdp: str = Field(description="Omnidesk's SDP answer (ICE candidates included)")
    call_id: str | None = Field(
        default=None,
        description="The call answered (for `…/calls/{call_id}/renegotiate`); for a "
        "callback, the id its call will have once the customer answers (renegotiation works "
        "while they are dialled too)",
    )


class RenegotiateIn(BaseModel):
    sdp: str = Field(
        min_length=1, max_length=20000, description="The browser's new SDP offer (ICE restart)"
    )


def _call_ringing(server: VoiceContext, ringing: BrowserCall) -> str | None:
    if ringing.call_id is not None:
        return ringing.call_id  # chosen before its call exists (a callback's)
    for call in server.calls.values():
        if call.agent_sip is ringing or (call.ring is not None and call.ring.sip is ringing):
            return call.id
    return None


def _my_browser_leg(server: VoiceContext | None, ctx: Ctx, call_id: str) -> BrowserCall | None:
    """Your browser's connection in call `call_id`: its agent side, your monitoring of it,
    your call out still dialling, or your callback whose customer is being dialled."""
    if server is None:
        return None
    tenant, user = ctx.principal.tenant_id, ctx.principal.user_id
    legs: list[object] = []
    call = server.calls.get(call_id)
    if call is not None and call.tenant_id == tenant:
        legs += [call.agent_sip, call.ring.sip if call.ring else None]
        legs += [m[0] for who, m in call.monitors.items() if who == str(user)]
    dialling = server.browser_phones.dialling.get(call_id)
    if dialling is not None:
        legs.append(dialling.browser)
    # A callback's leg while the customer is dialled (its call is made on their answer).
    legs.append(server.browser_phones.by_call.get(call_id))
    for leg in legs:
        if isinstance(leg, BrowserCall) and (leg.phone.tenant_id, leg.phone.user_id) == (
            tenant,
            user,
        ):
            return leg
    return None


def _server(request: Request) -> VoiceContext:
    server: VoiceContext | None = getattr(request.app.state, "voice", None)
    if server is None:
        raise Conflict("the voice server is not running (voice_enabled is off)")
    return server


@router.get("", **documented(BrowserPhoneOut))
async def get_browser_phone(request: Request, ctx: Ctx) -> BrowserPhoneOut:
    server: VoiceContext | None = getattr(request.app.state, "voice", None)
    phone = (
        server.browser_phones.get(ctx.principal.tenant_id, ctx.principal.user_id)
        if server
        else None
    )
    return BrowserPhoneOut(
        registered=phone is not None,
        registered_at=phone and phone.registered_at,
        ice_servers=_ice_servers(server, ctx),
        opus=bool(server and server.browser_phones.opus),
    )


@router.put("", **documented(BrowserPhoneOut, 200, 409))
async def register_browser_phone(request: Request, ctx: Ctx) -> BrowserPhoneOut:
    """Your browser is your phone from now on: calls routing offers you ring in the desk (no
    SIP password: the desk's own login is the authentication)."""
    server = _server(request)
    phone = server.browser_phones.register(ctx.principal.tenant_id, ctx.principal.user_id)
    return BrowserPhoneOut(
        registered=True,
        registered_at=phone.registered_at,
        ice_servers=_ice_servers(server, ctx),
        opus=server.browser_phones.opus,
    )


@router.delete("", status_code=204, responses=errors(409))
async def unregister_browser_phone(request: Request, ctx: Ctx) -> Response:
    _server(request).browser_phones.unregister(ctx.principal.tenant_id, ctx.principal.user_id)
    return Response(status_code=204)


@router.post("/answer", **documented(BrowserAnswerOut, 200, 404, 409, 422))
async def answer_in_browser(body: BrowserOfferIn, request: Request, ctx: Ctx) -> BrowserAnswerOut:
    """Answer the call ringing your browser phone for `offer_id` with the browser's offer (ICE
    gathered): the answer comes back, and the call connects once the browser's audio flows.
    An offer that cannot be answered (no DTLS fingerprint, no audio) is refused with 422 and
    the call goes back to its queue."""
    server = _server(request)
    phones = server.browser_phones
    ringing = phones.ringing.get(body.offer_id)
    mine = ringing is not None and (
        ringing.phone.tenant_id == ctx.principal.tenant_id
        and ringing.phone.user_id == ctx.principal.user_id
    )
    try:
        if ringing is None or not mine:
            check_offer(body.sdp)  # a bad offer is named as such even when nothing rings
            raise NotFound(f"no call is ringing your browser phone for offer {body.offer_id!r}")
        sdp = await ringing.answer_browser(body.sdp)
        return BrowserAnswerOut(sdp=sdp, call_id=_call_ringing(server, ringing))
    except OfferRefused as exc:
        log.info(
            "voice.browser_offer_refused",
            offer=body.offer_id,
            user=str(ctx.principal.user_id),
            reason=str(exc),
        )
        raise Invalid(str(exc), field="sdp") from None


class BrowserDeclineIn(BaseModel):
    offer_id: str = Field(min_length=1, max_length=100, description="The ring to decline")


@router.post("/decline", status_code=204, responses=errors(404, 409))
async def decline_in_browser(body: BrowserDeclineIn, request: Request, ctx: Ctx) -> Response:
    """Decline a call ringing your browser phone (a colleague's call, a consult): the ring
    ends at once and whoever rang is told why, `declined` (a call from another agent fails
    with that reason on their desk and on its record). `404` for a ring that is not yours or
    no longer rings. (An offer routing made is better refused with routing's reject, which
    takes a reason; declining it here counts as a refusal `declined` and routing offers the
    contact elsewhere.)"""
    ringing = _server(request).browser_phones.ringing.get(body.offer_id)
    if ringing is None or (ringing.phone.tenant_id, ringing.phone.user_id) != (
        ctx.principal.tenant_id,
        ctx.principal.user_id,
    ):
        raise NotFound(f"no call is ringing your browser phone for offer {body.offer_id!r}")
    await ringing.decline()
    log.info("voice.browser_declined", offer=body.offer_id, user=str(ctx.principal.user_id))
    return Response(status_code=204)


@router.post("/calls/{call_id}/renegotiate", **documented(BrowserAnswerOut, 200, 404, 422))
async def renegotiate(
    call_id: str, body: RenegotiateIn, request: Request, ctx: Ctx
) -> BrowserAnswerOut:
    """Your browser's new offer for call `call_id` after its network changed (an ICE
    restart): a new connection answers it and takes the old one's place, and the call goes on
    (the media engine's leg is kept). `404` when your browser is not in that call; `422` naming
    `sdp` for an offer WebRTC must not answer, the call and its connection untouched."""
    server: VoiceContext | None = getattr(request.app.state, "voice", None)
    leg = _my_browser_leg(server, ctx, call_id)
    if leg is None:
        raise NotFound(f"your browser phone is not in call {call_id!r}")
    try:
        return BrowserAnswerOut(sdp=await leg.renegotiate(body.sdp), call_id=call_id)
    except OfferRefused as exc:
        log.info(
            "voice.browser_offer_refused",
            call=call_id,
            user=str(ctx.principal.user_id),
            reason=str(exc),
        )
        raise Invalid(str(exc), field="sdp") from None


# --- calls the agent places from the browser phone (browser_dial.py) -------------------------


class BrowserDialIn(BaseModel):
    number: str | None = Field(
        None,
        min_length=1,
        max_length=40,
        description="The number to call (E.164), or a colleague's extension (2 to 6 digits)",
    )
    agent_id: uuid.UUID | None = Field(
        None, description="Or the agent (user id) to call: their browser phone or softphone"
    )
    sdp: str = Field(min_length=1, max_length=20000, description="The browser's SDP offer")

    @model_validator(mode="after")
    def _one_target(self) -> BrowserDialIn:
        if (self.number is None) == (self.agent_id is None):
            raise ValueError("give either number or agent_id")
        return self


class BrowserDialOut(BaseModel):
    call_id: str = Field(description="The call's id (in /voice/calls once the number answers)")
    sdp: str = Field(description="Omnidesk's SDP answer (ICE candidates included)")


@router.post("/calls", **documented(BrowserDialOut, 201, 409, 422))
async def dial_from_browser_phone(
    body: BrowserDialIn, request: Request, ctx: Ctx
) -> BrowserDialOut:
    """Call `number` from your browser phone, or another agent (`agent_id`, or their extension
    as `number`): the browser connects at once and hears a ringback tone while the number is
    dialled through the tenant's outbound trunk, or the agent's phone rings (their browser
    phone when registered, else their softphone); when it answers, the call is in
    `/voice/calls` (same id) and the call-control API works on it. `422` for a number that is
    not one, an extension nobody has, yourself, or an offer WebRTC must not answer; `409` when
    your browser phone is not registered, no trunk dials out, the agent has no phone
    registered or is on a call, or routing has no room."""
    server = _server(request)
    principal = ctx.principal
    try:
        if body.agent_id is not None:
            call_id, sdp = await agent_calls.call_agent(
                server, principal.tenant_id, principal.user_id, body.agent_id, body.sdp
            )
        elif re.fullmatch(EXTENSION_PATTERN, number := body.number or ""):
            # An extension: the agent who has it is rung as if called by agent_id.
            callee = await server.lookups.agent_for_extension(principal.tenant_id, number)
            if callee is None:
                raise Invalid(f"no agent has extension {number!r}", field="number")
            call_id, sdp = await agent_calls.call_agent(
                server, principal.tenant_id, principal.user_id, uuid.UUID(callee), body.sdp
            )
        else:
            assert body.number is not None  # (one of the two: _one_target)
            call_id, sdp = await browser_dial.dial_from_browser(
                server, principal.tenant_id, principal.user_id, body.number, body.sdp
            )
    except OfferRefused as exc:
        log.info("voice.browser_offer_refused", user=str(principal.user_id), reason=str(exc))
        raise Invalid(str(exc), field="sdp") from None
    return BrowserDialOut(call_id=call_id, sdp=sdp)


@router.delete("/calls/{call_id}", status_code=204, responses=errors(404))
async def hang_up_dialling(call_id: str, request: Request, ctx: Ctx) -> Response:
    """Give up a call from your browser phone whose number (or agent) still rings (a
    connected call is hung up with `POST /voice/calls/{id}/hangup`). `404` when none of
    yours dials as `call_id` (also with the voice server off: nothing can be dialling then)."""
    server: VoiceContext | None = getattr(request.app.state, "voice", None)
    principal = ctx.principal
    await browser_dial.hang_up_dialling(server, principal.tenant_id, principal.user_id, call_id)
    return Response(status_code=204)
