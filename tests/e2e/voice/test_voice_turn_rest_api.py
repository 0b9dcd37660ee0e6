"""Short-lived TURN credentials (voice_ice_servers with a `secret`; docs/voice.md, "Agents
behind NAT: STUN and TURN"): each user asking gets their own, minted at the request by the TURN
REST API scheme coturn checks (`<expiry>:<user id>`, base64 HMAC-SHA1 with the shared secret);
the secret itself never leaves the server. coturn accepting them: test_voice_webrtc_turn.py."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import datetime

from pydantic import SecretStr
from voice_call_helpers import voice_settings_fixture

from omnidesk.platform.settings import IceServer

SECRET = "the-shared-secret"
settings = voice_settings_fixture(
    voice_ice_servers=[
        IceServer(urls=["stun:stun.example.com:3478"]),
        IceServer(urls=["turn:turn.example.com:3478"], secret=SecretStr(SECRET), ttl_seconds=900),
    ]
)


def test_each_user_gets_fresh_turn_credentials(client, as_user) -> None:  # type: ignore[no-untyped-def]
    agent, other = as_user("agent1"), as_user("agent2")
    me = agent.get("/api/v1/auth/me").json()["id"]
    before = int(time.time())
    r = agent.get("/api/v1/voice/browser-phone")
    assert r.status_code == 200, r.text
    stun, turn = r.json()["ice_servers"]
    assert stun == {"urls": ["stun:stun.example.com:3478"], "username": None,
                    "credential": None, "expires_at": None}  # fmt: skip
    assert turn["urls"] == ["turn:turn.example.com:3478"]
    expires, _, who = turn["username"].partition(":")
    assert who == me and before + 900 <= int(expires) <= int(time.time()) + 900
    want = hmac.new(SECRET.encode(), turn["username"].encode(), hashlib.sha1).digest()
    assert turn["credential"] == base64.b64encode(want).decode()
    assert int(datetime.fromisoformat(turn["expires_at"]).timestamp()) == int(expires)
    assert SECRET not in r.text
    # Another user's are theirs (their id), and PUT hands them out too.
    theirs = other.put("/api/v1/voice/browser-phone").json()["ice_servers"][1]
    assert theirs["username"].partition(":")[2] not in ("", me)
