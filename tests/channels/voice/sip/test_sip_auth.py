"""Digest vectors (RFC 2617 §3.5), nonce lifecycle, the UAC side and the failure limiter."""

from __future__ import annotations

import hashlib

from omnidesk.channels.voice.sip.auth import (
    Credentials,
    DigestClient,
    FailureLimiter,
    NonceManager,
    challenge,
    compute_ha1,
    digest_response,
    parse_auth_header,
    verify,
)
from omnidesk.channels.voice.sip.message import Headers, SipResponse

RFC_REALM = "testrealm@host.com"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rfc2617_example_vector() -> None:
    ha1 = compute_ha1("Mufasa", RFC_REALM, "Circle Of Life")
    assert ha1 == "939e7578ed9e3c518a452acee763bce9"
    response = digest_response(
        ha1,
        "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        "GET",
        "/dir/index.html",
        qop="auth",
        nc="00000001",
        cnonce="0a4f113b",
    )
    assert response == "6629fae49393a05397450978507c4ef1"


def test_sha256_ha1_matches_definition() -> None:
    ha1 = compute_ha1("Mufasa", "http-auth@example.org", "Circle of Life", "SHA-256")
    want = hashlib.sha256(b"Mufasa:http-auth@example.org:Circle of Life").hexdigest()
    assert ha1 == want


def test_parse_auth_header_with_quotes_and_commas() -> None:
    scheme, params = parse_auth_header(
        'Digest username="Mu,fasa", realm="r", nonce="n", uri="sip:a@b", qop=auth, nc=00000001'
    )
    assert scheme == "digest"
    assert params["username"] == "Mu,fasa" and params["qop"] == "auth"


def _client_answer(nonces: NonceManager, password: str, algorithm: str = "MD5") -> dict[str, str]:
    h = Headers([("WWW-Authenticate", challenge("realm.test", nonces.make(), algorithm=algorithm))])
    resp = SipResponse(401, headers=h)
    answer = DigestClient(Credentials("alice", password)).answer(resp, "REGISTER", "sip:realm.test")
    assert answer is not None and answer[0] == "Authorization"
    return parse_auth_header(answer[1])[1]


def test_uac_answer_verifies_and_replay_is_refused() -> None:
    clock = Clock()
    nonces = NonceManager(b"k" * 32, lifetime=30, clock=clock)
    ha1 = compute_ha1("alice", "realm.test", "secret")
    params = _client_answer(nonces, "secret")
    assert verify(params, "REGISTER", ha1, nonces, realm="realm.test").outcome == "ok"
    # Same nonce and nc again: a replay.
    again = verify(params, "REGISTER", ha1, nonces, realm="realm.test")
    assert again.outcome == "failed" and "replay" in again.reason


def test_sha256_challenge_answer_verifies() -> None:
    nonces = NonceManager(b"k" * 32)
    params = _client_answer(nonces, "secret", "SHA-256")
    assert params["algorithm"] == "SHA-256"
    ha1 = compute_ha1("alice", "realm.test", "secret", "SHA-256")
    assert verify(params, "REGISTER", ha1, nonces, realm="realm.test").outcome == "ok"


def test_wrong_password_fails_and_method_is_bound() -> None:
    nonces = NonceManager(b"k" * 32)
    ha1 = compute_ha1("alice", "realm.test", "secret")
    assert verify(_client_answer(nonces, "nope"), "REGISTER", ha1, nonces,
                  realm="realm.test").outcome == "failed"  # fmt: skip
    assert verify(_client_answer(nonces, "secret"), "INVITE", ha1, nonces,
                  realm="realm.test").outcome == "failed"  # fmt: skip


def test_expired_nonce_is_stale_and_forged_is_refused() -> None:
    clock = Clock()
    nonces = NonceManager(b"k" * 32, lifetime=30, clock=clock)
    ha1 = compute_ha1("alice", "realm.test", "secret")
    params = _client_answer(nonces, "secret")
    clock.now += 31
    assert verify(params, "REGISTER", ha1, nonces, realm="realm.test").outcome == "stale"
    other = NonceManager(b"x" * 32, clock=clock)
    forged = _client_answer(other, "secret")
    assert nonces.check(forged["nonce"]) == "invalid"
    assert verify(forged, "REGISTER", ha1, nonces, realm="realm.test").outcome == "failed"
    assert nonces.check("!!notbase64") == "invalid"


def test_missing_or_bad_nc_is_malformed() -> None:
    nonces = NonceManager(b"k" * 32)
    ha1 = compute_ha1("alice", "realm.test", "secret")
    params = _client_answer(nonces, "secret")
    params["nc"] = "1"
    assert verify(params, "REGISTER", ha1, nonces, realm="realm.test").outcome == "malformed"
    del params["response"]
    assert verify(params, "REGISTER", ha1, nonces, realm="realm.test").outcome == "malformed"


def test_failure_limiter_locks_ip_and_user_then_expires() -> None:
    clock = Clock()
    lim = FailureLimiter(max_failures=3, window=10, lockout=60, clock=clock)
    assert not lim.record_failure("10.0.0.1", "alice")
    assert not lim.record_failure("10.0.0.1", "alice")
    assert lim.record_failure("10.0.0.1", "alice")
    assert lim.is_locked("10.0.0.1")
    assert lim.is_locked("10.0.0.2", "alice")  # the user is locked from any address
    assert not lim.is_locked("10.0.0.2", "bob")
    clock.now += 61
    assert not lim.is_locked("10.0.0.1", "alice")


def test_failures_outside_the_window_do_not_add_up() -> None:
    clock = Clock()
    lim = FailureLimiter(max_failures=2, window=10, lockout=60, clock=clock)
    lim.record_failure("10.0.0.1")
    clock.now += 11
    assert not lim.record_failure("10.0.0.1")
    assert not lim.is_locked("10.0.0.1")
