"""The desk gets the browser phone's STUN/TURN servers (voice_ice_servers) from the API, so
its RTCPeerConnection uses the same ones as the server's aiortc (ADR 0030, "ICE servers")."""

from __future__ import annotations

from pydantic import SecretStr
from voice_call_helpers import voice_settings_fixture

from omnidesk.platform.settings import IceServer

settings = voice_settings_fixture(
    voice_ice_servers=[
        IceServer(urls=["stun:stun.example.com:3478"]),
        IceServer(
            urls=["turn:turn.example.com:3478", "turn:turn.example.com:3478?transport=tcp"],
            username="desk",
            credential=SecretStr("s3cret"),
        ),
    ]
)

WANT = [
    {
        "urls": ["stun:stun.example.com:3478"],
        "username": None,
        "credential": None,
        "expires_at": None,
    },
    {
        "urls": ["turn:turn.example.com:3478", "turn:turn.example.com:3478?transport=tcp"],
        "username": "desk",
        "credential": "s3cret",
        "expires_at": None,
    },
]


def test_the_desk_gets_the_ice_servers(app, client, as_user) -> None:  # type: ignore[no-untyped-def]
    agent = as_user("agent1")
    r = agent.get("/api/v1/voice/browser-phone")
    assert r.status_code == 200 and r.json()["ice_servers"] == WANT, r.text
    assert r.json()["opus"] is False  # voice_webrtc_opus is off by default: G.711 only
    r = agent.put("/api/v1/voice/browser-phone")
    assert r.status_code == 200 and r.json()["ice_servers"] == WANT, r.text
    # The server's own peer connections use the same servers.
    servers = app.state.voice.browser_phones.ice_servers
    assert [(s.urls, s.username, s.credential) for s in servers] == [
        (w["urls"], w["username"], w["credential"]) for w in WANT
    ]
    # Without a login, nothing (the TURN password is for the desk's users only).
    assert client.get("/api/v1/voice/browser-phone").status_code == 401
