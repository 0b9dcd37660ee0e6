"""Parser and serializer: RFC 4475-style torture cases (own examples) and round trips."""

from __future__ import annotations

import pytest

from omnidesk.channels.voice.sip.message import (
    Headers,
    NameAddr,
    SipParseError,
    SipRequest,
    SipResponse,
    SipUri,
    make_response,
    parse_message,
)

BASE = (
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n"
    "From: Alice <sip:alice@example.com>;tag=1928301774\r\n"
    "To: <sip:bob@example.com>\r\n"
    "Call-ID: a84b4c76e66710@pc33\r\n"
)


def msg(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


def test_compact_forms_and_case_insensitive_names() -> None:
    raw = msg(
        "INVITE sip:bob@example.com SIP/2.0\n"
        "v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa\n"
        "f: <sip:alice@example.com>;tag=x\n"
        "t: sip:bob@example.com\n"
        "i: compact@host\n"
        "cSeQ: 7 INVITE\n"
        "m: <sip:alice@192.0.2.1>\n"
        "c: application/sdp\n"
        "k: timer\n"
        "s: hello\n"
        "e: identity\n"
        "l: 4\n"
        "\n"
        "v=0\nextra"
    )
    m = parse_message(raw)
    assert isinstance(m, SipRequest)
    assert m.call_id == "compact@host"
    assert m.cseq == (7, "INVITE")
    assert m.headers.get("Content-Type") == "application/sdp"
    assert m.headers.get("SUPPORTED") == "timer"
    assert m.headers.get("subject") == "hello"
    assert m.headers.get("Content-Encoding") == "identity"
    assert m.contacts[0].uri.host == "192.0.2.1"
    assert m.body == b"v=0\r"  # Content-Length cuts the body


def test_line_folding_joins_continuation_lines() -> None:
    raw = msg(
        "OPTIONS sip:example.com SIP/2.0\n" + BASE + "CSeq: 1\n   OPTIONS\n"
        "Subject: first\n\tsecond\n  third\n\n"
    )
    m = parse_message(raw)
    assert m.cseq == (1, "OPTIONS")
    assert m.headers.get("subject") == "first second third"


def test_multiple_via_in_one_line_and_many_lines() -> None:
    raw = msg(
        "SIP/2.0 200 OK\n"
        "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP b.example.com:5070"
        ";branch=z9hG4bK2\n"
        "v: SIP/2.0/UDP [2001:db8::1]:5080;branch=z9hG4bK3;received=192.0.2.9;rport=1234\n"
        "From: <sip:a@x>;tag=1\nTo: <sip:b@x>;tag=2\nCall-ID: c\nCSeq: 3 INVITE\n\n"
    )
    m = parse_message(raw)
    assert isinstance(m, SipResponse)
    vias = m.vias
    assert [v.host for v in vias] == ["a.example.com", "b.example.com", "2001:db8::1"]
    assert vias[1].transport == "TCP" and vias[1].port == 5070
    assert vias[2].received == "192.0.2.9" and vias[2].rport == 1234
    assert m.top_via.branch == "z9hG4bK1"


def test_escaped_uri_user_and_quoted_display_name() -> None:
    raw = msg(
        "INVITE sip:%61lice%20smith@example.com;transport=tcp SIP/2.0\n"
        "Via: SIP/2.0/TCP h;branch=z9hG4bKx\n"
        'From: "Bob \\"the\\" <Builder>, Jr" <sip:bob@example.com>;tag=99\n'
        "To: sip:alice@example.com\nCall-ID: e\nCSeq: 1 INVITE\n\n"
    )
    m = parse_message(raw)
    assert isinstance(m, SipRequest)
    assert m.uri.user == "alice smith"
    assert m.uri.params == {"transport": "tcp"}
    assert m.from_.display == 'Bob "the" <Builder>, Jr'
    assert m.from_.tag == "99"
    # Re-serialized user part is escaped again and parses back to the same value.
    assert SipUri.parse(str(m.uri)).user == "alice smith"


def test_method_and_header_values_are_preserved_but_names_insensitive() -> None:
    raw = msg("NEWMETHOD sip:x@example.com SIP/2.0\n" + BASE + "CSEQ: 9 NEWMETHOD\n\n")
    m = parse_message(raw)
    assert isinstance(m, SipRequest) and m.method == "NEWMETHOD"
    assert m.headers.get("call-ID") == "a84b4c76e66710@pc33"


def test_uri_forms() -> None:
    u = SipUri.parse("sips:user:pw@[2001:db8::5]:5061;lr;maddr=10.0.0.1?subject=x")
    assert (u.scheme, u.user, u.password, u.host, u.port) == (
        "sips", "user", "pw", "2001:db8::5", 5061
    )  # fmt: skip
    assert u.params == {"lr": None, "maddr": "10.0.0.1"}
    assert u.headers == "subject=x"
    assert str(u) == "sips:user:pw@[2001:db8::5]:5061;lr;maddr=10.0.0.1?subject=x"
    assert SipUri.parse("SIP:Bob@Example.COM").aor == "sip:Bob@example.com"


def test_name_addr_forms() -> None:
    assert NameAddr.parse("sip:a@b;tag=5").tag == "5"  # addr-spec: params are header params
    na = NameAddr.parse('"A" <sip:a@b;transport=udp>;tag=6;expires=30')
    assert na.uri.params == {"transport": "udp"}
    assert na.params == {"tag": "6", "expires": "30"}
    assert NameAddr.parse(" * ").wildcard


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("INVITE sip:a@b SIP/2.0\nFrom: <sip:a@b>;tag=1\nTo: <sip:b@b>\n"
         "Call-ID: x\nCSeq: 1 INVITE\n\n", "missing Via"),
        ("INVITE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nTo: <sip:b@b>\n"
         "Call-ID: x\nCSeq: 1 INVITE\n\n", "missing From"),
        ("INVITE sip:a@b SIP/2.0\n" + BASE + "CSeq: 1 BYE\n\n", "CSeq method"),
        ("INVITE sip:a@b SIP/2.0\n" + BASE + "CSeq: abc INVITE\n\n", "bad CSeq"),
        ("INVITE sip:a@b SIP/2.0\n" + BASE + "CSeq: 99999999999 INVITE\n\n", "bad CSeq"),
        ("INVITE sip:a@b SIP/7.0\n" + BASE + "CSeq: 1 INVITE\n\n", "version"),
        ("INVITE http://a@b SIP/2.0\n" + BASE + "CSeq: 1 INVITE\n\n", "scheme"),
        ("INVITE sip:a@b SIP/2.0\n" + BASE + "CSeq: 1 INVITE\nContent-Length: 10\n\nabc",
         "shorter than Content-Length"),
        ("INVITE sip:a@b SIP/2.0\n" + BASE + "CSeq: 1 INVITE\nContent-Length: -1\n\n",
         "Content-Length"),
        ("INVITE sip:a@b:99999 SIP/2.0\n" + BASE + "CSeq: 1 INVITE\n\n", "port"),
        ("INVITE sip:a@b SIP/2.0\n" + BASE + "CSeq: 1 INVITE\nBad Header: x\n\n",
         "malformed header"),
        ("INVITE sip:a@b SIP/2.0\n" + BASE + "CSeq: 1 INVITE\nMax-Forwards: lots\n\n",
         "Max-Forwards"),
        ("INVITE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP\n" + BASE[BASE.index("From"):]
         + "CSeq: 1 INVITE\n\n", "Via"),
        ('INVITE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n'
         'From: "unterminated <sip:a@b>;tag=1\nTo: <sip:b@b>\nCall-ID: x\nCSeq: 1 INVITE\n\n',
         "angle"),
        ("INVITE sip:a@b SIP/2.0\n" + BASE + "CSeq: 1 INVITE", "end of headers"),
        ("garbage\n\n", "start line"),
    ],
)  # fmt: skip
def test_malformed_messages_are_rejected_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(SipParseError) as info:
        parse_message(msg(raw))
    assert reason.lower() in info.value.reason.lower()


def test_round_trip_keeps_meaning_and_sets_content_length() -> None:
    raw = msg(
        "INVITE sip:bob@example.com;user=phone SIP/2.0\n" + BASE + "CSeq: 314159 INVITE\n"
        "Contact: <sip:alice@192.0.2.1>;expires=60, <sip:alice@198.51.100.1>;q=0.5\n"
        "Content-Type: application/sdp\n"
        "Content-Length: 999\n\n"  # wrong on purpose: to_bytes recomputes it
    )
    m = parse_message(raw.replace(b"999", b"0"))
    m.body = b"v=0\r\n"
    out = m.to_bytes()
    assert b"Content-Length: 5\r\n" in out
    again = parse_message(out)
    assert again.to_bytes() == out
    assert isinstance(again, SipRequest)
    assert [str(c.uri) for c in again.contacts] == [
        "sip:alice@192.0.2.1", "sip:alice@198.51.100.1"
    ]  # fmt: skip
    assert again.body == b"v=0\r\n"


def test_make_response_copies_dialog_headers_and_adds_to_tag() -> None:
    req = parse_message(
        msg(
            "INVITE sip:bob@example.com SIP/2.0\n"
            "Via: SIP/2.0/UDP a;branch=z9hG4bK1\nVia: SIP/2.0/UDP b;branch=z9hG4bK2\n"
            + BASE[BASE.index("From"):] + "CSeq: 5 INVITE\n\n"
        )
    )  # fmt: skip
    assert isinstance(req, SipRequest)
    resp = make_response(req, 180, to_tag="abc", headers=[("Contact", "<sip:b@c>")])
    assert resp.reason == "Ringing"
    assert len(resp.vias) == 2
    assert resp.to.tag == "abc"
    assert resp.cseq == (5, "INVITE")
    assert resp.headers.get("call-id") == req.call_id
    parsed = parse_message(resp.to_bytes())
    assert isinstance(parsed, SipResponse) and parsed.status == 180
    # 100 Trying never carries a To tag (§8.2.6.2).
    assert make_response(req, 100, to_tag="abc").to.tag is None


def test_headers_multi_value_and_set() -> None:
    h = Headers([("Route", "<sip:p1;lr>, <sip:p2;lr>"), ("route", "<sip:p3;lr>")])
    assert h.get_all("ROUTE") == ["<sip:p1;lr>", "<sip:p2;lr>", "<sip:p3;lr>"]
    h.set("Route", "<sip:only>")
    assert h.get_all("route") == ["<sip:only>"]
    h.add("l", "3")
    assert "Content-Length" in h
