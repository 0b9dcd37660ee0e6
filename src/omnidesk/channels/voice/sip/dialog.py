"""Dialogs (RFC 3261 §12) and the Call objects the call layer drives."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from omnidesk.channels.voice.sip.message import (
    Headers,
    NameAddr,
    SipRequest,
    SipResponse,
    SipUri,
    make_response,
    new_branch,
)
from omnidesk.channels.voice.sip.transaction import ServerTransaction
from omnidesk.channels.voice.sip.transport import Address
from omnidesk.platform.logging import get_logger

if TYPE_CHECKING:
    from omnidesk.channels.voice.sip.endpoint import SipEndpoint

log = get_logger(__name__)


class CallFailed(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


@dataclass
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local: NameAddr  # our From/To value without tag
    remote: NameAddr
    remote_target: SipUri
    dest: Address  # where in-dialog requests go: the address the peer spoke to us from
    local_cseq: int
    remote_cseq: int | None = None
    route_set: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.call_id, self.local_tag, self.remote_tag)


BYE_HANDLER = Callable[[], Awaitable[None]]
REINVITE_HANDLER = Callable[[bytes | None], Awaitable[bytes]]
INFO_HANDLER = Callable[[str, bytes], Awaitable[None]]
ENDED_HANDLER = Callable[[str], Awaitable[None]]


class Call:
    """One dialog-backed call leg; states: early, confirmed, ended."""

    def __init__(self, endpoint: SipEndpoint) -> None:
        self._ep = endpoint
        self.dialog: Dialog | None = None
        self.state = "early"
        self.local_sdp: bytes | None = None
        self.remote_sdp: bytes | None = None
        self.end_reason: str | None = None
        self.on_bye: BYE_HANDLER | None = None
        self.on_reinvite: REINVITE_HANDLER | None = None
        self.on_info: INFO_HANDLER | None = None
        self.on_ended: ENDED_HANDLER | None = None
        self.ended = asyncio.Event()
        self._acks: dict[int, asyncio.Event] = {}

    @property
    def call_id(self) -> str:
        return self.dialog.call_id if self.dialog else ""

    async def _end(self, reason: str) -> None:
        if self.state == "ended":
            return
        self.state = "ended"
        self.end_reason = reason
        self.ended.set()
        if self.dialog is not None:
            self._ep._forget_dialog(self.dialog)
        if self.on_ended is not None:
            try:
                await self.on_ended(reason)
            except Exception:
                log.exception("sip.call.on_ended_failed", call_id=self.call_id)

    def _in_dialog_request(
        self, method: str, body: bytes = b"", content_type: str | None = None
    ) -> SipRequest:
        d = self._require_dialog()
        if method != "ACK":
            d.local_cseq += 1
        h = Headers()
        h.add("Via", self._ep._via(d.dest, new_branch()))
        for route in d.route_set:
            h.add("Route", route)
        h.add("Max-Forwards", "70")
        h.add("From", str(d.local.with_tag(d.local_tag)))
        h.add("To", str(d.remote.with_tag(d.remote_tag)))
        h.add("Call-ID", d.call_id)
        h.add("CSeq", f"{d.local_cseq} {method}")
        h.add("Contact", self._ep._contact(d.dest))
        h.add("User-Agent", self._ep.user_agent)
        if content_type:
            h.add("Content-Type", content_type)
        return SipRequest(method, d.remote_target, h, body)

    def _require_dialog(self) -> Dialog:
        if self.dialog is None or self.state == "ended":
            raise CallFailed(481, "No dialog")
        return self.dialog

    async def _transact(self, request: SipRequest) -> SipResponse:
        d = self._require_dialog()
        txn = self._ep.transactions.start_client(request, d.dest)
        return await txn.final

    async def bye(self) -> None:
        if self.state == "ended" or self.dialog is None:
            return
        req = self._in_dialog_request("BYE")
        try:
            await self._transact(req)
        finally:
            await self._end("local bye")

    async def reinvite(self, sdp: bytes) -> bytes:
        """Send a re-INVITE (hold/resume) and return the peer's answer SDP."""
        req = self._in_dialog_request("INVITE", sdp, "application/sdp")
        resp = await self._transact(req)
        if resp.status >= 300:
            if resp.status in (408, 481):
                await self._end(f"re-INVITE {resp.status}")
            raise CallFailed(resp.status, resp.reason)
        self._send_ack(req, resp)
        self.local_sdp = sdp
        self.remote_sdp = resp.body or self.remote_sdp
        return resp.body

    def _send_ack(self, invite: SipRequest, resp: SipResponse) -> None:
        d = self._require_dialog()
        ack = self._in_dialog_request("ACK")
        ack.headers.set("CSeq", f"{invite.cseq[0]} ACK")
        self._ep._send(ack, d.dest)

    async def send_info(self, content_type: str, body: bytes) -> None:
        resp = await self._transact(self._in_dialog_request("INFO", body, content_type))
        if resp.status >= 300:
            raise CallFailed(resp.status, resp.reason)

    # --- requests from the peer inside the dialog -------------------------------------------

    async def _handle_in_dialog(self, request: SipRequest, txn: ServerTransaction) -> None:
        d = self._require_dialog()
        method = request.method
        if method == "BYE":
            txn.respond(make_response(request, 200))
            if self.on_bye is not None:
                await self.on_bye()
            await self._end("remote bye")
        elif method == "INVITE":
            await self._answer_reinvite(request, txn, d)
        elif method == "INFO":
            ctype = request.headers.get("content-type") or ""
            if self.on_info is not None:
                await self.on_info(ctype.split(";")[0].strip().lower(), request.body)
            txn.respond(make_response(request, 200))
        elif method == "OPTIONS":
            txn.respond(self._ep._options_response(request))
        else:
            txn.respond(make_response(request, 501, headers=[("Allow", self._ep.allow)]))

    async def _answer_reinvite(
        self, request: SipRequest, txn: ServerTransaction, d: Dialog
    ) -> None:
        offer = request.body or None
        if self.on_reinvite is not None:
            answer = await self.on_reinvite(offer)
        else:
            answer = self.local_sdp or b""
        if request.contacts:
            d.remote_target = request.contacts[0].uri
        self.remote_sdp = offer or self.remote_sdp
        self.local_sdp = answer
        resp = make_response(request, 200, headers=self._answer_headers(d), body=answer)
        ok = await self._send_2xx_until_ack(request, resp, txn)
        if not ok:
            log.info("sip.reinvite.no_ack", call_id=d.call_id)

    def _answer_headers(self, d: Dialog) -> list[tuple[str, str]]:
        return [
            ("Contact", self._ep._contact(d.dest)),
            ("Allow", self._ep.allow),
            ("Content-Type", "application/sdp"),
            ("User-Agent", self._ep.user_agent),
        ]

    async def _send_2xx_until_ack(
        self, request: SipRequest, resp: SipResponse, txn: ServerTransaction
    ) -> bool:
        """§13.3.1.4: the UAS core retransmits a 2xx (T1 doubling to T2) until the ACK."""
        timers = self._ep.timers
        cseq = request.cseq[0]
        event = self._acks.setdefault(cseq, asyncio.Event())
        txn.respond(resp)
        reliable = txn.dest.transport != "udp"
        interval = timers.t1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timers.b
        try:
            while not event.is_set():
                remaining = deadline - loop.time()
                if remaining <= 0 or self.state == "ended":
                    return event.is_set()
                wait = remaining if reliable else min(interval, remaining)
                try:
                    await asyncio.wait_for(event.wait(), wait)
                except TimeoutError:
                    if not reliable and loop.time() < deadline:
                        self._ep._send(resp, txn.dest)
                        interval = min(interval * 2, timers.t2)
            return True
        finally:
            self._acks.pop(cseq, None)

    def _ack_received(self, request: SipRequest) -> None:
        ev = self._acks.get(request.cseq[0])
        if ev is not None:
            ev.set()
        if request.body and self.remote_sdp is None:
            self.remote_sdp = request.body  # late offer answered in the ACK


class IncomingCall(Call):
    def __init__(
        self, endpoint: SipEndpoint, request: SipRequest, source: Address, txn: ServerTransaction
    ) -> None:
        super().__init__(endpoint)
        self.request = request
        self.source = source
        self.txn = txn
        self.remote_sdp = request.body or None
        self.local_tag = endpoint._tag()
        contacts = request.contacts
        target = contacts[0].uri if contacts else request.from_.uri
        frm, to = request.from_, request.to
        self.dialog = Dialog(
            call_id=request.call_id,
            local_tag=self.local_tag,
            remote_tag=frm.tag or "",
            local=NameAddr(to.uri, to.display),
            remote=NameAddr(frm.uri, frm.display),
            remote_target=target,
            dest=source,
            local_cseq=endpoint._initial_cseq(),
            remote_cseq=request.cseq[0],
            route_set=request.headers.get_all("record-route"),
        )

    async def ringing(self, sdp: bytes | None = None) -> None:
        if self.txn.final_sent or self.state == "ended":
            return
        status = 183 if sdp else 180
        headers = [("Contact", self._ep._contact(self.source))]
        if sdp:
            headers.append(("Content-Type", "application/sdp"))
        self.txn.respond(
            make_response(
                self.request, status, to_tag=self.local_tag, headers=headers, body=sdp or b""
            )
        )

    async def answer(self, sdp: bytes) -> None:
        if self.state == "ended" or self.txn.final_sent:
            raise CallFailed(487, "Call no longer pending")
        d = self._require_dialog()
        self.local_sdp = sdp
        resp = make_response(
            self.request, 200, to_tag=self.local_tag, headers=self._answer_headers(d), body=sdp
        )
        acked = await self._send_2xx_until_ack(self.request, resp, self.txn)
        if not acked:
            if self.state != "ended":
                # §13.3.1.4: no ACK within 64*T1 -> the dialog is ended with a BYE, sent in
                # the background so the caller learns at once.
                bye = self._in_dialog_request("BYE")
                self._ep.transactions.start_client(bye, self._require_dialog().dest)
                await self._end("no ACK")
            raise CallFailed(408, "ACK never came")
        if self.state == "early":
            self.state = "confirmed"

    async def reject(
        self, code: int, reason: str | None = None, *, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        if self.txn.final_sent or self.state == "ended":
            return
        if not 300 <= code <= 699:
            raise ValueError("reject needs a 3xx-6xx status")
        self.txn.respond(
            make_response(self.request, code, reason, to_tag=self.local_tag, headers=headers)
        )
        await self._end(f"rejected {code}")


class OutgoingCall(Call):
    def __init__(self, endpoint: SipEndpoint, request: SipRequest, dest: Address) -> None:
        super().__init__(endpoint)
        self.request = request
        self.dest = dest
        self.local_sdp = request.body
        self.progress: asyncio.Queue[SipResponse] = asyncio.Queue()
        self._answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._cancelled = False
        self._provisional_seen = asyncio.Event()
        self._ack: SipRequest | None = None

    async def wait_answer(self) -> bytes:
        return await asyncio.shield(self._answer)

    async def hang_up(self) -> None:
        """End the call whatever it has reached: CANCEL while it rings, BYE once answered."""
        if self.state == "early":
            await self.cancel()
        else:
            await self.bye()

    async def cancel(self) -> None:
        if self._answer.done() or self._cancelled:
            return
        self._cancelled = True
        inv = self.request
        h = Headers()
        h.add("Via", inv.headers.get_all("via")[0])  # same branch: matches the INVITE
        for route in inv.headers.get_all("route"):
            h.add("Route", route)
        h.add("Max-Forwards", "70")
        h.add("From", inv.headers.get("from") or "")
        h.add("To", inv.headers.get("to") or "")
        h.add("Call-ID", inv.call_id)
        h.add("CSeq", f"{inv.cseq[0]} CANCEL")
        cancel = SipRequest("CANCEL", inv.uri, h)
        # §9.1: CANCEL only after a provisional response; a short wait covers the usual race.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._provisional_seen.wait(), self._ep.timers.t1 * 4)
        if self._answer.done():
            return
        txn = self._ep.transactions.start_client(cancel, self.dest)
        await txn.final

    def _provisional(self, resp: SipResponse) -> None:
        if resp.status > 100:
            self.progress.put_nowait(resp)
        self._provisional_seen.set()
        if resp.body and self.remote_sdp is None and resp.status == 183:
            self.remote_sdp = resp.body

    def _confirm(self, resp: SipResponse) -> None:
        frm = self.request.from_
        to = resp.to
        contacts = resp.contacts
        rr = list(reversed(resp.headers.get_all("record-route")))
        self.dialog = Dialog(
            call_id=self.request.call_id,
            local_tag=frm.tag or "",
            remote_tag=to.tag or "",
            local=NameAddr(frm.uri, frm.display),
            remote=NameAddr(to.uri, to.display),
            remote_target=contacts[0].uri if contacts else self.request.uri,
            dest=self.dest,
            local_cseq=self.request.cseq[0],
            route_set=rr,
        )
        self._ep._remember_dialog(self.dialog, self)
        self._ack = self._in_dialog_request("ACK")
        self._ack.headers.set("CSeq", f"{self.request.cseq[0]} ACK")
        self._ep._send(self._ack, self.dest)
        self.state = "confirmed"
        self.remote_sdp = resp.body or self.remote_sdp

    def _retransmitted_2xx(self, resp: SipResponse) -> None:
        if self._ack is not None:
            self._ep._send(self._ack, self.dest)

    def _fail(self, status: int, reason: str) -> None:
        if not self._answer.done():
            self._answer.set_exception(CallFailed(status, reason))
            # Mark retrieved: callers may never await wait_answer() after a cancel.
            self._answer.exception()
