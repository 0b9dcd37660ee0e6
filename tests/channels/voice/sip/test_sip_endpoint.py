"""A live SipEndpoint on loopback: built-in answers, registrar with digest, calls end to end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sip_helpers import TcpClient, UdpClient, request

from omnidesk.channels.voice.sip.auth import (
    Credentials,
    DigestClient,
    FailureLimiter,
    NonceManager,
    challenge,
    compute_ha1,
    parse_auth_header,
    verify,
)
from omnidesk.channels.voice.sip.dialog import CallFailed, IncomingCall
from omnidesk.channels.voice.sip.endpoint import SipEndpoint
from omnidesk.channels.voice.sip.message import (
    SipRequest,
    SipResponse,
    SipUri,
    make_response,
    parse_message,
)
from omnidesk.channels.voice.sip.transaction import Timers
from omnidesk.channels.voice.sip.transport import Address

REALM = "desk.test"
FAST = Timers(t1=0.02, t2=0.16, t4=0.2)
SDP_A = (
    b"v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 4000 RTP/AVP 0\r\n"
)
SDP_B = SDP_A.replace(b"4000", b"5000")


async def _ha1(realm: str, user: str) -> str | None:
    return compute_ha1(user, realm, "pw-" + user) if user in ("alice", "bob") else None


@pytest.fixture
async def ep() -> AsyncIterator[SipEndpoint]:
    e = SipEndpoint(domain=REALM, timers=FAST, limiter=FailureLimiter(3, 60, 60))
    e.authenticate = _ha1
    await e.start()
    try:
        yield e
    finally:
        await e.stop()


@pytest.fixture
async def udp() -> AsyncIterator[UdpClient]:
    c = UdpClient()
    yield c
    c.close()


async def test_options_over_udp_and_tcp(ep: SipEndpoint, udp: UdpClient) -> None:
    assert ep.udp_port and ep.tcp_port
    udp.send(request("OPTIONS", port=ep.udp_port, local_port=udp.port), ep.udp_port)
    resp = await udp.recv()
    assert resp.status == 200 and "INVITE" in (resp.headers.get("allow") or "")
    tcp = await TcpClient.connect(ep.tcp_port)
    try:
        # CRLF keepalives before the message are skipped by the stream framer.
        await tcp.send(b"\r\n\r\n" + request("OPTIONS", port=ep.tcp_port, local_port=tcp.port,
                                             transport="TCP"))  # fmt: skip
        resp = await tcp.recv()
        assert resp.status == 200 and resp.top_via.transport == "TCP"
    finally:
        await tcp.close()
    assert ep.stats["messages_in"] >= 2 and ep.stats["messages_out"] >= 2


async def test_response_follows_via_rport(ep: SipEndpoint, udp: UdpClient) -> None:
    assert ep.udp_port
    # The Via names a port nobody listens on; rport makes the answer come back to the source.
    raw = request("OPTIONS", port=ep.udp_port, local_port=1)
    udp.send(raw, ep.udp_port)
    resp = await udp.recv()
    assert resp.top_via.rport == udp.port


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK1\r\n"
         b"From: <sip:a@b>;tag=1\r\nTo: <sip:x@b>\r\nCSeq: 1 INVITE\r\n\r\n", 400),
        (b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK2\r\n"
         b"From: <sip:a@b>;tag=1\r\nTo: <sip:x@b>\r\nCall-ID: q\r\nCSeq: x OPTIONS\r\n\r\n", 400),
    ],
)  # fmt: skip
async def test_malformed_request_gets_400_with_reason(
    ep: SipEndpoint, udp: UdpClient, raw: bytes, status: int
) -> None:
    assert ep.udp_port
    udp.send(raw.replace(b"{lp}", str(udp.port).encode()), ep.udp_port)
    # The 400 copies what survived of the request (here no Call-ID), so read it raw.
    data = await udp.recv_raw()
    assert data.startswith(f"SIP/2.0 {status} Bad Request (".encode())
    assert b"branch=z9hG4bK" in data
    assert ep.stats["parse_errors"] == 1
    udp.send(b"\x00\xffgarbage", ep.udp_port)
    assert await udp.nothing(0.2)  # not a request: no answer


async def test_max_forwards_zero_gets_483(ep: SipEndpoint, udp: UdpClient) -> None:
    assert ep.udp_port
    raw = request("INVITE", port=ep.udp_port, local_port=udp.port, max_forwards=0)
    udp.send(raw, ep.udp_port)
    assert (await udp.recv_final()).status == 483


@pytest.mark.parametrize(
    ("method", "to_tag", "status"),
    [("BYE", "nope", 481), ("INFO", None, 481), ("SUBSCRIBE", None, 405), ("FROB", None, 501)],
)
async def test_unknown_dialogs_and_methods(
    ep: SipEndpoint, udp: UdpClient, method: str, to_tag: str | None, status: int
) -> None:
    assert ep.udp_port
    udp.send(request(method, port=ep.udp_port, local_port=udp.port, to_tag=to_tag), ep.udp_port)
    resp = await udp.recv_final()
    assert resp.status == status
    if status in (405, 501):
        assert "INVITE" in (resp.headers.get("allow") or "")


async def _register(
    ep: SipEndpoint, udp: UdpClient, user: str, password: str, cseq: int, **kw: str
) -> tuple[int, str]:
    assert ep.udp_port
    uri = f"sip:{REALM}"
    udp.send(
        request(
            "REGISTER",
            port=ep.udp_port,
            local_port=udp.port,
            uri=uri,
            user=user,
            call_id="reg-" + user,
            cseq=cseq,
            extra="Expires: 120\r\n",
        ),
        ep.udp_port,
    )
    challenge_resp = await udp.recv_final()
    if challenge_resp.status != 401:
        return challenge_resp.status, challenge_resp.reason
    answer = DigestClient(Credentials(user, password)).answer(challenge_resp, "REGISTER", uri)
    assert answer is not None
    udp.send(
        request(
            "REGISTER",
            port=ep.udp_port,
            local_port=udp.port,
            uri=uri,
            user=user,
            call_id="reg-" + user,
            cseq=cseq + 1,
            extra=f"Expires: 120\r\n{answer[0]}: {answer[1]}\r\n",
        ),
        ep.udp_port,
    )
    final = await udp.recv_final()
    return final.status, final.headers.get("contact") or ""


async def test_register_with_digest_binds_contact(ep: SipEndpoint, udp: UdpClient) -> None:
    status, contact = await _register(ep, udp, "alice", "pw-alice", 1)
    assert status == 200 and "expires=120" in contact
    [binding] = ep.registrar.lookup(f"sip:alice@{REALM}")
    assert binding.source == Address("udp", "127.0.0.1", udp.port)


async def test_register_unknown_user_404_wrong_password_401_then_403(
    ep: SipEndpoint, udp: UdpClient
) -> None:
    assert (await _register(ep, udp, "mallory", "x", 1))[0] == 404
    assert (await _register(ep, udp, "bob", "wrong", 10))[0] == 401
    assert (await _register(ep, udp, "bob", "wrong", 20))[0] == 403  # limiter: 3rd failure
    # Locked now: even the right password is refused without a challenge.
    assert (await _register(ep, udp, "bob", "pw-bob", 30))[0] == 403
    assert ep.registrar.lookup(f"sip:bob@{REALM}") == []


async def test_register_with_stale_nonce_is_rechallenged(ep: SipEndpoint, udp: UdpClient) -> None:
    assert ep.udp_port
    old = NonceManager(ep.nonces.secret, clock=lambda: 0.0).make()
    chal = make_response(
        _fake_register(), 401, headers=[("WWW-Authenticate", challenge(REALM, old))]
    )
    answer = DigestClient(Credentials("alice", "pw-alice")).answer(chal, "REGISTER", f"sip:{REALM}")
    assert answer is not None
    udp.send(
        request(
            "REGISTER",
            port=ep.udp_port,
            local_port=udp.port,
            uri=f"sip:{REALM}",
            user="alice",
            extra=f"{answer[0]}: {answer[1]}\r\n",
        ),
        ep.udp_port,
    )
    resp = await udp.recv_final()
    assert resp.status == 401 and "stale=true" in (resp.headers.get("www-authenticate") or "")
    assert not ep.limiter.is_locked("127.0.0.1", "alice")


def _fake_register() -> SipRequest:
    r = parse_message(request("REGISTER", port=5060, local_port=5061))
    assert isinstance(r, SipRequest)
    return r


@pytest.fixture
async def pair() -> AsyncIterator[tuple[SipEndpoint, SipEndpoint]]:
    a, b = SipEndpoint(timers=FAST), SipEndpoint(timers=FAST)
    await a.start()
    await b.start()
    try:
        yield a, b
    finally:
        await a.stop()
        await b.stop()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_call_between_endpoints_with_hold_info_and_bye(
    pair: tuple[SipEndpoint, SipEndpoint], transport: str
) -> None:
    a, b = pair
    got_info: list[tuple[str, bytes]] = []
    incoming: list[IncomingCall] = []

    async def on_invite(call: IncomingCall) -> None:
        incoming.append(call)

        async def on_reinvite(sdp: bytes | None) -> bytes:
            assert sdp is not None and b"a=sendonly" in sdp
            return SDP_B + b"a=recvonly\r\n"

        async def on_info(ctype: str, body: bytes) -> None:
            got_info.append((ctype, body))

        call.on_reinvite = on_reinvite
        call.on_info = on_info
        await call.ringing()
        await call.answer(SDP_B)

    b.on_invite = on_invite
    port = b.udp_port if transport == "udp" else b.tcp_port
    assert port
    out = await a.invite(SipUri(user="agent", host="127.0.0.1", port=port),
                         Address(transport, "127.0.0.1", port), SDP_A,  # type: ignore[arg-type]
                         from_uri=SipUri(user="caller", host="127.0.0.1"))  # fmt: skip
    assert await asyncio.wait_for(out.wait_answer(), 5) == SDP_B
    assert (await asyncio.wait_for(out.progress.get(), 1)).status == 180
    assert incoming[0].remote_sdp == SDP_A
    for _ in range(50):
        if incoming[0].state == "confirmed":
            break
        await asyncio.sleep(0.02)
    assert incoming[0].state == "confirmed"
    assert b"a=recvonly" in await out.reinvite(SDP_A + b"a=sendonly\r\n")
    await out.send_info("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n")
    assert got_info == [("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n")]
    ended: list[str] = []

    async def on_ended(reason: str) -> None:
        ended.append(reason)

    out.on_ended = on_ended
    await incoming[0].bye()
    await asyncio.wait_for(out.ended.wait(), 5)
    assert ended == ["remote bye"] and incoming[0].state == "ended"
    assert not a.calls and not b.calls


async def test_cancel_of_ringing_call(pair: tuple[SipEndpoint, SipEndpoint]) -> None:
    a, b = pair
    incoming: list[IncomingCall] = []

    async def on_invite(call: IncomingCall) -> None:
        incoming.append(call)
        await call.ringing()

    b.on_invite = on_invite
    assert b.udp_port
    out = await a.invite(SipUri(user="x", host="127.0.0.1", port=b.udp_port),
                         Address("udp", "127.0.0.1", b.udp_port), SDP_A,
                         from_uri=SipUri(user="c", host="127.0.0.1"))  # fmt: skip
    await asyncio.wait_for(out.progress.get(), 5)
    await asyncio.wait_for(out.cancel(), 5)
    with pytest.raises(CallFailed) as info:
        await asyncio.wait_for(out.wait_answer(), 5)
    assert info.value.status == 487
    await asyncio.wait_for(incoming[0].ended.wait(), 5)
    assert incoming[0].end_reason == "cancelled"


async def test_rejected_call_raises_call_failed(pair: tuple[SipEndpoint, SipEndpoint]) -> None:
    a, b = pair

    async def on_invite(call: IncomingCall) -> None:
        await call.reject(486, "Busy Here")

    b.on_invite = on_invite
    assert b.udp_port
    out = await a.invite(SipUri(user="x", host="127.0.0.1", port=b.udp_port),
                         Address("udp", "127.0.0.1", b.udp_port), SDP_A,
                         from_uri=SipUri(user="c", host="127.0.0.1"))  # fmt: skip
    with pytest.raises(CallFailed) as info:
        await asyncio.wait_for(out.wait_answer(), 5)
    assert info.value.status == 486


async def test_answer_retransmits_2xx_and_raises_without_ack(
    ep: SipEndpoint, udp: UdpClient
) -> None:
    assert ep.udp_port
    results: list[BaseException | None] = []

    async def on_invite(call: IncomingCall) -> None:
        try:
            await call.answer(SDP_B)
            results.append(None)
        except CallFailed as exc:
            results.append(exc)

    ep.on_invite = on_invite
    raw = request("INVITE", port=ep.udp_port, local_port=udp.port, body=SDP_A,
                  extra="Content-Type: application/sdp\r\n")  # fmt: skip
    udp.send(raw, ep.udp_port)
    udp.send(raw, ep.udp_port)  # a retransmission must not start a second call
    oks = 0
    bye = None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while loop.time() < deadline and bye is None:
        data = await asyncio.wait_for(loop.sock_recv(udp.sock, 65536), 5)
        msg = parse_message(data)
        if isinstance(msg, SipRequest):
            bye = msg
        elif msg.status == 200:
            oks += 1
    assert bye is not None and bye.method == "BYE"  # §13.3.1.4: no ACK -> BYE
    assert oks >= 4  # the 2xx was retransmitted (T1 doubling to T2 within 64*T1)
    for _ in range(50):
        if results:
            break
        await asyncio.sleep(0.02)
    assert isinstance(results[0], CallFailed)
    assert len(results) == 1


async def test_outbound_invite_answers_407_challenge(ep: SipEndpoint, udp: UdpClient) -> None:
    nonces = NonceManager()
    ha1 = compute_ha1("trunkuser", "carrier", "trunkpw")
    out = await ep.invite(SipUri(user="4930123", host="127.0.0.1", port=udp.port),
                          Address("udp", "127.0.0.1", udp.port), SDP_A,
                          from_uri=SipUri(user="desk", host="127.0.0.1"),
                          credentials=Credentials("trunkuser", "trunkpw"))  # fmt: skip
    loop = asyncio.get_running_loop()

    async def recv_request() -> tuple[SipRequest, tuple[str, int]]:
        data, addr = await asyncio.wait_for(loop.sock_recvfrom(udp.sock, 65536), 5)
        msg = parse_message(data)
        assert isinstance(msg, SipRequest)
        return msg, addr

    first, addr = await recv_request()
    resp = make_response(
        first,
        407,
        to_tag="u1",
        headers=[("Proxy-Authenticate", challenge("carrier", nonces.make()))],
    )
    udp.sock.sendto(resp.to_bytes(), addr)
    ack, _ = await recv_request()
    assert ack.method == "ACK"
    second, addr = await recv_request()
    while second.method != "INVITE" or second.cseq[0] == first.cseq[0]:
        second, addr = await recv_request()  # skip retransmissions of the first INVITE
    _, params = parse_auth_header(second.headers.get("proxy-authorization") or "")
    assert verify(params, "INVITE", ha1, nonces, realm="carrier").outcome == "ok"
    ok = make_response(
        second, 200, to_tag="u2", headers=[("Contact", f"<sip:u@127.0.0.1:{udp.port}>")], body=SDP_B
    )
    udp.sock.sendto(ok.to_bytes(), addr)
    assert await asyncio.wait_for(out.wait_answer(), 5) == SDP_B
    ack2, _ = await recv_request()
    assert ack2.method == "ACK" and ack2.cseq == (second.cseq[0], "ACK")


async def test_tcp_framing_split_messages_and_size_cap(ep: SipEndpoint) -> None:
    assert ep.tcp_port
    tcp = await TcpClient.connect(ep.tcp_port)
    try:
        one = request("OPTIONS", port=ep.tcp_port, local_port=tcp.port, transport="TCP")
        two = request("OPTIONS", port=ep.tcp_port, local_port=tcp.port, transport="TCP")
        await tcp.send(one[:30])
        await asyncio.sleep(0.05)
        await tcp.send(one[30:] + two)  # the rest of one message plus a whole second one
        assert (await tcp.recv()).status == 200
        assert (await tcp.recv()).status == 200
        await tcp.send(b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 99999999\r\n\r\n")
        assert await asyncio.wait_for(tcp.reader.read(), 3) == b""  # over the cap: closed
    finally:
        await tcp.close()


async def test_register_hook_and_per_tenant_realm(ep: SipEndpoint, udp: UdpClient) -> None:
    assert ep.udp_port
    seen: list[str] = []

    async def authenticate(realm: str, user: str) -> str | None:
        seen.append(realm)
        return compute_ha1(user, realm, "pw") if realm == "tenant.example" else None

    async def hook(req: SipRequest, source: Address) -> SipResponse | None:
        if req.to.uri.user == "blocked":
            return make_response(req, 403, "Blocked", to_tag="x")
        return await ep.handle_register(req, source, realm="tenant.example")

    ep.authenticate = authenticate
    ep.on_register = hook
    uri = "sip:tenant.example"
    udp.send(request("REGISTER", port=ep.udp_port, local_port=udp.port, uri=uri, user="blocked"),
             ep.udp_port)  # fmt: skip
    assert (await udp.recv_final()).status == 403
    udp.send(request("REGISTER", port=ep.udp_port, local_port=udp.port, uri=uri, user="carol",
                     call_id="t1", cseq=1), ep.udp_port)  # fmt: skip
    chal = await udp.recv_final()
    assert 'realm="tenant.example"' in (chal.headers.get("www-authenticate") or "")
    answer = DigestClient(Credentials("carol", "pw")).answer(chal, "REGISTER", uri)
    assert answer is not None
    auth = f"{answer[0]}: {answer[1]}\r\n"
    udp.send(request("REGISTER", port=ep.udp_port, local_port=udp.port, uri=uri, user="carol",
                     call_id="t1", cseq=2, extra=auth), ep.udp_port)  # fmt: skip
    assert (await udp.recv_final()).status == 200
    assert seen == ["tenant.example"]
    # The phone named our IP in To; the binding is filed under the tenant's domain.
    assert len(ep.registrar.lookup("sip:carol@tenant.example")) == 1


async def test_invite_digest_between_endpoints(pair: tuple[SipEndpoint, SipEndpoint]) -> None:
    a, b = pair

    async def authenticate(realm: str, user: str) -> str | None:
        return compute_ha1(user, realm, "trunkpw") if user == "trunk" else None

    b.authenticate = authenticate
    users: list[str] = []

    async def on_invite(call: IncomingCall) -> None:
        out = await b.check_digest(call.request, call.source, "trunk.test", proxy=True)
        if isinstance(out, SipResponse):
            keep = [(n, v) for n, v in out.headers if n == "proxy-authenticate"]
            await call.reject(out.status, out.reason, headers=keep)
            return
        users.append(out)
        await call.answer(SDP_B)

    b.on_invite = on_invite
    assert b.udp_port
    target = SipUri(user="100", host="127.0.0.1", port=b.udp_port)
    via = Address("udp", "127.0.0.1", b.udp_port)
    good = await a.invite(target, via, SDP_A, from_uri=SipUri(user="t", host="127.0.0.1"),
                          credentials=Credentials("trunk", "trunkpw"))  # fmt: skip
    assert await asyncio.wait_for(good.wait_answer(), 5) == SDP_B
    assert users == ["trunk"]
    bad = await a.invite(target, via, SDP_A, from_uri=SipUri(user="t", host="127.0.0.1"),
                         credentials=Credentials("trunk", "nope"))  # fmt: skip
    with pytest.raises(CallFailed) as info:
        await asyncio.wait_for(bad.wait_answer(), 5)
    assert info.value.status == 407
    none = await a.invite(target, via, SDP_A, from_uri=SipUri(user="t", host="127.0.0.1"))
    with pytest.raises(CallFailed) as info:
        await asyncio.wait_for(none.wait_answer(), 5)
    assert info.value.status == 407
    await good.bye()
