"""SipEndpoint: transports + transactions + dialogs + registrar, driven by the call layer."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from omnidesk.channels.voice.sip.auth import (
    Credentials,
    DigestClient,
    FailureLimiter,
    NonceManager,
    challenge,
    parse_auth_header,
    verify,
)
from omnidesk.channels.voice.sip.dialog import (
    Call,
    CallFailed,
    Dialog,
    IncomingCall,
    OutgoingCall,
)
from omnidesk.channels.voice.sip.message import (
    Headers,
    NameAddr,
    SipParseError,
    SipRequest,
    SipResponse,
    SipUri,
    make_response,
    new_branch,
    new_call_id,
    new_tag,
    parse_message,
)
from omnidesk.channels.voice.sip.registrar import Registrar, RegistrarError
from omnidesk.channels.voice.sip.transaction import Timers, TransactionLayer
from omnidesk.channels.voice.sip.transport import (
    Address,
    SipTransport,
    response_address,
    stamp_via,
)
from omnidesk.platform.logging import get_logger

log = get_logger(__name__)

RegisterHook = Callable[[SipRequest, Address], Awaitable[SipResponse | None]]
Authenticator = Callable[[str, str], Awaitable[str | None]]
InviteHook = Callable[[IncomingCall], Awaitable[None]]

ALLOWED = ("INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "INFO", "REGISTER")
# Methods we know but do not accept: 405 with Allow (RFC 3261 §21.4.6); others get 501.
KNOWN_NOT_ALLOWED = ("SUBSCRIBE", "NOTIFY", "MESSAGE", "REFER", "UPDATE", "PRACK", "PUBLISH")


class SipEndpoint:
    def __init__(
        self,
        host: str = "127.0.0.1",
        udp_port: int | None = 0,
        tcp_port: int | None = 0,
        *,
        domain: str | None = None,
        timers: Timers | None = None,
        registrar: Registrar | None = None,
        limiter: FailureLimiter | None = None,
        nonces: NonceManager | None = None,
        user_agent: str = "Omnidesk",
    ) -> None:
        self.host = host
        self.domain = domain or host
        self.timers = timers or Timers()
        self.registrar = registrar or Registrar()
        self.limiter = limiter or FailureLimiter()
        self.nonces = nonces or NonceManager()
        self.user_agent = user_agent
        self.allow = ", ".join(ALLOWED)
        self.transport = SipTransport(host, udp_port, tcp_port, on_raw=self._on_raw)
        self.transactions = TransactionLayer(self._send, timers=self.timers)
        self.on_register: RegisterHook | None = None
        self.authenticate: Authenticator | None = None
        self.on_invite: InviteHook | None = None
        self.stats: dict[str, int] = {
            "messages_in": 0,
            "messages_out": 0,
            "parse_errors": 0,
            "requests_in": 0,
            "responses_in": 0,
            "handler_errors": 0,
        }
        self._dialogs: dict[tuple[str, str, str], Call] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._send_lock: dict[Address, asyncio.Lock] = {}

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def udp_port(self) -> int | None:
        return self.transport.udp_port

    @property
    def tcp_port(self) -> int | None:
        return self.transport.tcp_port

    async def start(self) -> None:
        await self.transport.start()
        log.info("sip.started", host=self.host, udp=self.udp_port, tcp=self.tcp_port)

    async def stop(self) -> None:
        for call in list(self._dialogs.values()):
            await call._end("shutdown")
        self.transactions.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.transport.stop()

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.stats["handler_errors"] += 1
            log.error("sip.handler_failed", error=repr(task.exception()))

    # --- sending -----------------------------------------------------------------------------

    def _send(self, msg: SipRequest | SipResponse, dest: Address) -> None:
        self.stats["messages_out"] += 1
        data = msg.to_bytes()
        if isinstance(msg, SipResponse) and dest.transport == "udp":
            dest = response_address(msg, dest)
        if dest.transport == "udp":
            try:
                self.transport.send_udp(data, dest)
            except OSError as exc:
                log.info("sip.send_failed", dest=str(dest), error=str(exc))
            return
        self._spawn(self._send_stream(data, dest, msg))

    async def _send_stream(self, data: bytes, dest: Address, msg: SipRequest | SipResponse) -> None:
        lock = self._send_lock.setdefault(dest, asyncio.Lock())
        async with lock:  # keeps the order of messages on one connection
            try:
                await self.transport.send(data, dest)
            except OSError as exc:
                log.info("sip.send_failed", dest=str(dest), error=str(exc))
                if isinstance(msg, SipRequest):
                    txn = self.transactions.clients.get((msg.branch, msg.method))
                    if txn is not None:
                        txn.transport_error()

    def _local(self, dest: Address) -> Address:
        return self.transport.local_address(dest.transport)

    def _via(self, dest: Address, branch: str) -> str:
        local = self._local(dest)
        return f"SIP/2.0/{dest.transport.upper()} {local.host}:{local.port};branch={branch};rport"

    def _contact(self, dest: Address, user: str = "omnidesk") -> str:
        local = self._local(dest)
        tp = ";transport=tcp" if dest.transport == "tcp" else ""
        return f"<sip:{user}@{local.host}:{local.port}{tp}>"

    def _tag(self) -> str:
        return new_tag()

    def _initial_cseq(self) -> int:
        return random.randint(1, 2**20)

    def _remember_dialog(self, dialog: Dialog, call: Call) -> None:
        self._dialogs[dialog.key] = call

    def _forget_dialog(self, dialog: Dialog) -> None:
        self._dialogs.pop(dialog.key, None)

    @property
    def calls(self) -> list[Call]:
        return list(self._dialogs.values())

    # --- receiving ---------------------------------------------------------------------------

    def _on_raw(self, data: bytes, source: Address) -> None:
        self.stats["messages_in"] += 1
        try:
            msg = parse_message(data)
        except SipParseError as exc:
            self.stats["parse_errors"] += 1
            log.info("sip.parse_error", source=str(source), reason=exc.reason)
            self._reject_malformed(data, source, exc.reason)
            return
        except Exception as exc:  # a parser bug must never take the listener down
            self.stats["parse_errors"] += 1
            log.error("sip.parser_crash", source=str(source), error=repr(exc))
            return
        try:
            if isinstance(msg, SipResponse):
                self.stats["responses_in"] += 1
                self._on_response(msg)
            else:
                self.stats["requests_in"] += 1
                self._on_request(msg, source)
        except Exception as exc:
            self.stats["handler_errors"] += 1
            log.exception("sip.dispatch_failed", source=str(source), error=repr(exc))

    def _reject_malformed(self, data: bytes, source: Address, reason: str) -> None:
        """400 for a request we cannot parse, built from whatever raw headers survive."""
        text = data[:8192].decode("utf-8", "replace")
        first = text.split("\n", 1)[0]
        if not re.match(r"^[A-Za-z]+ \S+ SIP/2\.0\r?$", first) or first.startswith("ACK "):
            return
        keep = {
            "via": "Via",
            "v": "Via",
            "from": "From",
            "f": "From",
            "to": "To",
            "t": "To",
            "call-id": "Call-ID",
            "i": "Call-ID",
            "cseq": "CSeq",
        }
        h = Headers()
        for line in re.split(r"\r?\n", text)[1:]:
            if not line.strip():
                break
            name, colon, value = line.partition(":")
            canon = keep.get(name.strip().lower())
            if colon and canon and value.isprintable():
                h.add(canon, value)
        phrase = "Bad Request (" + re.sub(r"[^ -~]", "?", reason)[:80] + ")"
        self._send(SipResponse(400, phrase, h), source)

    def _on_response(self, resp: SipResponse) -> None:
        if self.transactions.receive_response(resp):
            return
        # A 2xx retransmission after the INVITE transaction ended: re-ACK via the dialog.
        if 200 <= resp.status < 300 and resp.cseq[1] == "INVITE":
            call = self._dialogs.get((resp.call_id, resp.from_.tag or "", resp.to.tag or ""))
            if isinstance(call, OutgoingCall):
                call._retransmitted_2xx(resp)

    def _on_request(self, req: SipRequest, source: Address) -> None:
        stamp_via(req, source)
        txn = self.transactions.match_request(req)
        # An ACK for a 2xx that reuses the INVITE's branch belongs to the dialog, not the txn.
        if txn is not None and not (req.method == "ACK" and txn.state == "accepted"):
            txn.receive_request(req)
            return
        if req.method == "ACK":
            call = self._dialogs.get((req.call_id, req.to.tag or "", req.from_.tag or ""))
            if call is not None:
                call._ack_received(req)
            return
        server = self.transactions.create_server(req, source)
        mf = req.headers.get("max-forwards")
        if mf is not None and int(mf) == 0 and req.method not in ("OPTIONS",):
            server.respond(make_response(req, 483))
            return
        if req.method == "CANCEL":
            self._on_cancel(req, server)
            return
        if req.method == "INVITE":
            # Sent at once so the caller stops retransmitting while the call layer decides.
            server.respond(make_response(req, 100))
        if req.to.tag is not None:
            call = self._dialogs.get((req.call_id, req.to.tag, req.from_.tag or ""))
            if call is None or call.dialog is None:
                server.respond(make_response(req, 481))
                return
            d = call.dialog
            cseq = req.cseq[0]
            if d.remote_cseq is not None and cseq <= d.remote_cseq:
                server.respond(make_response(req, 500, "Out of order CSeq"))
                return
            d.remote_cseq = cseq
            self._spawn(self._guard(call._handle_in_dialog(req, server), req, server))
            return
        method = req.method
        if method == "OPTIONS":
            server.respond(self._options_response(req))
        elif method == "REGISTER":
            self._spawn(self._guard(self._on_register(req, source, server), req, server))
        elif method == "INVITE":
            self._spawn(self._guard(self._on_new_invite(req, source, server), req, server))
        elif method in ("BYE", "INFO"):
            server.respond(make_response(req, 481))
        elif method in KNOWN_NOT_ALLOWED:
            server.respond(make_response(req, 405, headers=[("Allow", self.allow)]))
        else:
            server.respond(make_response(req, 501, headers=[("Allow", self.allow)]))

    async def _guard(self, coro: Awaitable[None], req: SipRequest, server: Any) -> None:
        try:
            await coro
        except Exception:
            self.stats["handler_errors"] += 1
            log.exception("sip.request_handler_failed", method=req.method, call_id=req.call_id)
            if not server.final_sent:
                server.respond(make_response(req, 500, to_tag=new_tag()))

    def _options_response(self, req: SipRequest) -> SipResponse:
        return make_response(
            req,
            200,
            to_tag=new_tag(),
            headers=[
                ("Allow", self.allow),
                ("Accept", "application/sdp, application/dtmf-relay, application/dtmf"),
                ("Supported", ""),
                ("User-Agent", self.user_agent),
            ],
        )

    def _on_cancel(self, req: SipRequest, server: Any) -> None:
        invite_txn = self.transactions.invite_for_cancel(req)
        if invite_txn is None:
            server.respond(make_response(req, 481))
            return
        server.respond(make_response(req, 200))
        if invite_txn.final_sent:
            return  # too late: the INVITE was already answered
        invite_txn.cancelled = True
        call = next(
            (
                c
                for c in self._dialogs.values()
                if isinstance(c, IncomingCall) and c.txn is invite_txn
            ),
            None,
        )
        tag = call.local_tag if call is not None else new_tag()
        invite_txn.respond(make_response(invite_txn.request, 487, to_tag=tag))
        if call is not None:
            self._spawn(call._end("cancelled"))

    async def _on_new_invite(self, req: SipRequest, source: Address, server: Any) -> None:
        call = IncomingCall(self, req, source, server)
        assert call.dialog is not None
        self._remember_dialog(call.dialog, call)
        if self.on_invite is None:
            await call.reject(480, "No call handler")
            return
        await self.on_invite(call)

    # --- registrar ---------------------------------------------------------------------------

    async def _on_register(self, req: SipRequest, source: Address, server: Any) -> None:
        if self.on_register is not None:
            custom = await self.on_register(req, source)
            if custom is not None:
                server.respond(custom)
                return
        server.respond(await self.handle_register(req, source))

    async def handle_register(
        self, req: SipRequest, source: Address, *, realm: str | None = None
    ) -> SipResponse:
        """The built-in registrar with digest auth; usable from an `on_register` hook.

        `realm` (default: the endpoint's domain) is the digest realm and the AOR domain, so one
        endpoint can serve one domain per tenant.
        """
        realm = (realm or self.domain).lower()
        tag = new_tag()
        if req.uri.host.lower() not in (realm, self.domain.lower(), self.host):
            return make_response(req, 404, "Not Our Domain", to_tag=tag)
        outcome = await self.check_digest(req, source, realm, user=req.to.uri.user, tag=tag)
        if isinstance(outcome, SipResponse):
            return outcome
        try:
            bindings = self.registrar.register(req, source, aor=self.aor_for(req.to.uri, realm))
        except RegistrarError as exc:
            extra = [("Min-Expires", str(exc.min_expires))] if exc.min_expires else []
            return make_response(req, exc.status, exc.reason, to_tag=tag, headers=extra)
        now = self.registrar.clock()
        contacts = [("Contact", f"<{b.contact}>;expires={b.expires_in(now)}") for b in bindings]
        return make_response(req, 200, to_tag=tag, headers=[*contacts, ("Date", _http_date())])

    async def check_digest(
        self,
        req: SipRequest,
        source: Address,
        realm: str,
        *,
        user: str | None = None,
        proxy: bool = False,
        tag: str | None = None,
    ) -> SipResponse | str:
        """Digest-check any request: the authenticated username, or the response to send.

        `proxy=True` uses 407/Proxy-Authorization (INVITEs from trunks or phones); `user`, when
        given, must equal the digest username. Failures feed the limiter; a locked IP or user
        gets 403 without a challenge.
        """
        tag = tag or new_tag()
        ip = source.host
        if self.limiter.is_locked(ip, user):
            return make_response(req, 403, "Too Many Failures", to_tag=tag)
        auth_value = req.headers.get("proxy-authorization" if proxy else "authorization")
        if auth_value is None:
            return self._challenge(req, tag, realm, stale=False, proxy=proxy)
        try:
            scheme, params = parse_auth_header(auth_value)
        except ValueError:
            return make_response(req, 400, "Malformed Authorization", to_tag=tag)
        if scheme != "digest":
            return self._challenge(req, tag, realm, stale=False, proxy=proxy)
        username = params.get("username", "")
        if user is not None and username != user:
            return make_response(req, 403, "Username Does Not Match To", to_tag=tag)
        if self.limiter.is_locked(ip, username):
            return make_response(req, 403, "Too Many Failures", to_tag=tag)
        ha1 = await self.authenticate(realm, username) if self.authenticate else None
        if ha1 is None:
            self.limiter.record_failure(ip, None)  # enumeration counts against the source
            return make_response(req, 404, "Not Found", to_tag=tag)
        result = verify(params, req.method, ha1, self.nonces, realm=realm)
        if result.outcome == "malformed":
            return make_response(req, 400, f"Bad Authorization ({result.reason})", to_tag=tag)
        if result.outcome == "stale":
            return self._challenge(req, tag, realm, stale=True, proxy=proxy)
        if result.outcome == "failed":
            tripped = self.limiter.record_failure(ip, username)
            log.info("sip.auth_failed", method=req.method, user=username, ip=ip,
                     reason=result.reason)  # fmt: skip
            if tripped:
                return make_response(req, 403, "Too Many Failures", to_tag=tag)
            return self._challenge(req, tag, realm, stale=False, proxy=proxy)
        self.limiter.record_success(ip, username)
        return username

    def aor_for(self, uri: SipUri, realm: str | None = None) -> str:
        """Phones often name our IP instead of the domain: both mean the same user here."""
        domain = (realm or self.domain).lower()
        if uri.host.lower() in (domain, self.domain.lower(), self.host) and uri.user:
            return f"sip:{uri.user}@{domain}"
        return uri.aor

    def _challenge(
        self, req: SipRequest, tag: str, realm: str, *, stale: bool, proxy: bool = False
    ) -> SipResponse:
        value = challenge(realm, self.nonces.make(), stale=stale)
        if proxy:
            return make_response(req, 407, to_tag=tag, headers=[("Proxy-Authenticate", value)])
        return make_response(req, 401, to_tag=tag, headers=[("WWW-Authenticate", value)])

    # --- outbound calls ----------------------------------------------------------------------

    async def invite(
        self,
        target: SipUri,
        via_address: Address,
        sdp: bytes,
        *,
        from_uri: SipUri | NameAddr,
        to_uri: SipUri | NameAddr | None = None,
        headers: Iterable[tuple[str, str]] = (),
        credentials: Credentials | None = None,
    ) -> OutgoingCall:
        """Send an INVITE; returns at once. Await `wait_answer()` for the remote SDP."""
        frm = from_uri if isinstance(from_uri, NameAddr) else NameAddr(from_uri)
        to_value = to_uri if to_uri is not None else target
        to = to_value if isinstance(to_value, NameAddr) else NameAddr(to_value)
        call_id = new_call_id(self.host)
        frm = frm.with_tag(new_tag())
        extra = list(headers)
        req = self._build_invite(
            target, via_address, sdp, frm, to, call_id, self._initial_cseq(), extra
        )
        call = OutgoingCall(self, req, via_address)
        self._spawn(self._run_invite(call, credentials, extra))
        return call

    def _build_invite(
        self,
        target: SipUri,
        dest: Address,
        sdp: bytes,
        frm: NameAddr,
        to: NameAddr,
        call_id: str,
        cseq: int,
        extra: list[tuple[str, str]],
    ) -> SipRequest:
        h = Headers()
        h.add("Via", self._via(dest, new_branch()))
        h.add("Max-Forwards", "70")
        h.add("From", str(frm))
        h.add("To", str(to))
        h.add("Call-ID", call_id)
        h.add("CSeq", f"{cseq} INVITE")
        h.add("Contact", self._contact(dest, frm.uri.user or "omnidesk"))
        h.add("Allow", self.allow)
        h.add("User-Agent", self.user_agent)
        for name, value in extra:
            h.add(name, value)
        h.add("Content-Type", "application/sdp")
        return SipRequest("INVITE", target, h, sdp)

    async def _run_invite(
        self, call: OutgoingCall, credentials: Credentials | None, extra: list[tuple[str, str]]
    ) -> None:
        digest = DigestClient(credentials) if credentials else None
        for _attempt in range(3):
            req = call.request
            txn = self.transactions.start_client(req, call.dest)
            txn.on_provisional = call._provisional
            txn.on_2xx = call._retransmitted_2xx
            resp = await txn.final
            if 200 <= resp.status < 300:
                call._confirm(resp)
                if call._cancelled:
                    # The answer crossed our CANCEL: finish the dialog properly.
                    call._fail(487, "Cancelled")
                    await call.bye()
                    return
                if not call._answer.done():
                    call._answer.set_result(resp.body)
                return
            # Answer a challenge once; again only when it says our nonce went stale.
            retry = _attempt == 0 or "stale=true" in _challenge_text(resp).lower()
            if resp.status in (401, 407) and digest is not None and retry and not call._cancelled:
                answer = digest.answer(resp, "INVITE", str(req.uri))
                if answer is not None:
                    headers = [h for h in extra if h[0].lower() != answer[0].lower()]
                    headers.append(answer)
                    call.request = self._build_invite(
                        req.uri,
                        call.dest,
                        req.body,
                        req.from_,
                        req.to,
                        req.call_id,
                        req.cseq[0] + 1,
                        headers,
                    )
                    continue
            call._fail(resp.status, resp.reason)
            await call._end(f"failed {resp.status}")
            return
        call._fail(403, "Authentication failed")
        await call._end("auth failed")


def _challenge_text(resp: SipResponse) -> str:
    return " ".join(
        resp.headers.get_all("www-authenticate") + resp.headers.get_all("proxy-authenticate")
    )


def _http_date() -> str:
    from email.utils import formatdate

    return formatdate(usegmt=True)


__all__ = ["Address", "CallFailed", "IncomingCall", "OutgoingCall", "SipEndpoint", "Timers"]
