"""Registrar bindings: expiry on an injected clock, removal, min-expires, CSeq ordering."""

from __future__ import annotations

import pytest

from omnidesk.channels.voice.sip.message import SipRequest, parse_message
from omnidesk.channels.voice.sip.registrar import Registrar, RegistrarError
from omnidesk.channels.voice.sip.transport import Address

SRC = Address("udp", "192.0.2.7", 40000)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def register(contacts: list[str], *, expires: str | None = None, call_id: str = "c1",
             cseq: int = 1) -> SipRequest:  # fmt: skip
    lines = [
        "REGISTER sip:example.com SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK" + str(cseq),
        "From: <sip:alice@example.com>;tag=1",
        "To: <sip:alice@example.com>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} REGISTER",
        *[f"Contact: {c}" for c in contacts],
    ]
    if expires is not None:
        lines.append(f"Expires: {expires}")
    req = parse_message(("\r\n".join(lines) + "\r\n\r\n").encode())
    assert isinstance(req, SipRequest)
    return req


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def reg(clock: Clock) -> Registrar:
    return Registrar(min_expires=60, max_expires=3600, default_expires=600, clock=clock)


def test_binding_expires_with_the_clock(reg: Registrar, clock: Clock) -> None:
    reg.register(register(["<sip:alice@192.0.2.7:5060>"], expires="120"), SRC)
    [b] = reg.lookup("sip:alice@example.com")
    assert b.source == SRC and b.expires_in(clock.now) == 120
    clock.now = 119
    assert len(reg.lookup("sip:alice@example.com")) == 1
    clock.now = 121
    assert reg.lookup("sip:alice@example.com") == []


def test_contact_param_beats_header_and_q_orders(reg: Registrar, clock: Clock) -> None:
    reg.register(
        register(["<sip:a@192.0.2.7>;q=0.2;expires=300", "<sip:a@192.0.2.8>;q=0.9"],
                 expires="100"), SRC)  # fmt: skip
    bindings = reg.lookup("sip:alice@example.com")
    assert [b.contact.host for b in bindings] == ["192.0.2.8", "192.0.2.7"]
    assert [b.expires_in(0) for b in bindings] == [100, 300]


def test_default_and_max_expires(reg: Registrar) -> None:
    reg.register(register(["<sip:a@192.0.2.7>", "<sip:a@192.0.2.9>;expires=99999"]), SRC)
    assert sorted(b.expires_in(0) for b in reg.lookup("sip:alice@example.com")) == [600, 3600]


def test_interval_too_brief(reg: Registrar) -> None:
    with pytest.raises(RegistrarError) as info:
        reg.register(register(["<sip:a@192.0.2.7>"], expires="10"), SRC)
    assert info.value.status == 423 and info.value.min_expires == 60


def test_expires_zero_removes_one_and_star_removes_all(reg: Registrar) -> None:
    reg.register(register(["<sip:a@192.0.2.7>", "<sip:a@192.0.2.8>"], cseq=1), SRC)
    reg.register(register(["<sip:a@192.0.2.7>"], expires="0", cseq=2), SRC)
    assert [b.contact.host for b in reg.lookup("sip:alice@example.com")] == ["192.0.2.8"]
    with pytest.raises(RegistrarError):
        reg.register(register(["*"], expires="60", cseq=3), SRC)
    reg.register(register(["*"], expires="0", cseq=4), SRC)
    assert reg.lookup("sip:alice@example.com") == []


def test_refresh_replaces_and_out_of_order_cseq_is_refused(reg: Registrar) -> None:
    reg.register(register(["<sip:a@192.0.2.7>"], expires="100", cseq=5), SRC)
    reg.register(register(["<sip:a@192.0.2.7>"], expires="200", cseq=6), SRC)
    [b] = reg.lookup("sip:alice@example.com")
    assert b.expires_in(0) == 200 and b.cseq == 6
    with pytest.raises(RegistrarError) as info:
        reg.register(register(["<sip:a@192.0.2.7>"], expires="0", cseq=6), SRC)
    assert info.value.status == 500
    assert len(reg.lookup("sip:alice@example.com")) == 1
    # Another Call-ID (a rebooted phone) may take the binding over with any CSeq.
    reg.register(register(["<sip:a@192.0.2.7>"], expires="300", call_id="c2", cseq=1), SRC)
    assert reg.lookup("sip:alice@example.com")[0].call_id == "c2"


def test_query_without_contacts_lists_bindings(reg: Registrar) -> None:
    reg.register(register(["<sip:a@192.0.2.7>"], cseq=1), SRC)
    assert len(reg.register(register([], cseq=2), SRC)) == 1


def test_binding_keeps_user_agent_and_since_until_it_moves(reg: Registrar, clock: Clock) -> None:
    request = register(["<sip:alice@192.0.2.7:5060>"], expires="120")
    request.headers.add("User-Agent", "Phone/2.1")
    reg.register(request, SRC)
    clock.now = 50
    refresh = register(["<sip:alice@192.0.2.7:5060>"], expires="120", cseq=2)
    reg.register(refresh, SRC)  # a refresh from the same place: registered since 0
    [b] = reg.lookup("sip:alice@example.com")
    assert (b.since, b.expires_in(clock.now), b.user_agent) == (0.0, 120, None)
    clock.now = 60
    elsewhere = Address("udp", "198.51.100.9", 40001)
    moved = register(["<sip:alice@192.0.2.7:5060>"], expires="120", cseq=3)
    moved.headers.add("User-Agent", "Phone/2.2")
    reg.register(moved, elsewhere)  # the same contact from another address: since now
    [b] = reg.lookup("sip:alice@example.com")
    assert (b.source, b.since, b.user_agent) == (elsewhere, 60.0, "Phone/2.2")


def test_the_newest_of_equal_bindings_comes_first(reg: Registrar, clock: Clock) -> None:
    reg.register(register(["<sip:alice@192.0.2.7:5060>"], call_id="old"), SRC)
    clock.now = 30
    reg.register(register(["<sip:alice@192.0.2.8:5060>"], call_id="new"), SRC)
    first, second = reg.lookup("sip:alice@example.com")
    assert (first.call_id, second.call_id) == ("new", "old")
    clock.now = 60  # the old phone refreshes: still the older registration
    reg.register(register(["<sip:alice@192.0.2.7:5060>"], call_id="old", cseq=2), SRC)
    assert [b.call_id for b in reg.lookup("sip:alice@example.com")] == ["new", "old"]
