"""Transfer-out, proven by tones: sipp calls in (600 Hz), agent1's baresip answers (1000 Hz)
and transfers the call to an external number; a second sipp behind the carrier trunk answers
as the far party (1500 Hz, after the trunk's digest challenge). The customer must then hear the
far party and the far party the customer, and the agent's leg must be gone.

sipp cannot keep what it hears, so each sipp's SDP names a "tap" instead of its own media
port: a UDP socket of this test that keeps every RTP packet Omnidesk sends to that party (sipp
still sends its tone from its own port; Omnidesk sends to the SDP's address, it does not latch
on where packets come from). What a tap holds is exactly what that party would have heard.

The far party, its digest check and the trunk configuration are test_voice_outbound's."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import test_voice_outbound as far_party
from voice_call_helpers import (
    AGENT_HZ,
    CALLER_HZ,
    PEERS,
    agent1_phone,
    db_rows,
    finish_sipp,
    kill,
    make_available,
    needs,
    registered,
    start_sipp,
    tone_share,
    voice_settings_fixture,
)
from voice_call_helpers import wait_until as _wait

from omnidesk.bench.voice_testbed import free_port
from omnidesk.channels.voice.models import Call as CallRow
from spine_checks import all_events

pytestmark = needs(*PEERS)
settings = voice_settings_fixture()

FAR, FAR_HZ = far_party.FAR, far_party.FAR_HZ
SDP_MEDIA = "m=audio [rtpstream_audio_port]"


def ulaw_to_pcm(payload: bytes) -> np.ndarray:
    """G.711 μ-law to 16-bit PCM (ITU-T G.711), written here rather than taken from Omnidesk
    so that a codec bug in the product cannot cancel itself out in the check."""
    u = ~np.frombuffer(payload, dtype=np.uint8).astype(np.int32) & 0xFF
    exponent, mantissa = (u >> 4) & 0x07, u & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(u & 0x80, -magnitude, magnitude).astype(np.int16)


@dataclass
class RtpTap(asyncio.DatagramProtocol):
    """Keeps the PCMU payloads Omnidesk sends to one party, in arrival order."""

    frames: list[bytes] = field(default_factory=list)
    transport: asyncio.DatagramTransport | None = None
    port: int = 0

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) > 12 and data[0] >> 6 == 2 and data[1] & 0x7F == 0:  # RTP v2, PCMU
            header = 12 + 4 * (data[0] & 0x0F)  # skip CSRCs if any
            self.frames.append(data[header:])

    def audio(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """The decoded audio of frames [start, stop) (20 ms each)."""
        return ulaw_to_pcm(b"".join(self.frames[start:stop]))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def open_tap() -> RtpTap:
    tap = RtpTap()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: tap, local_addr=("127.0.0.1", 0))
    tap.transport = transport
    tap.port = int(transport.get_extra_info("sockname")[1])
    return tap


async def test_transfer_out_bridges_customer_and_far_party_both_ways(
    app: Any,
    client: Any,
    tenants: Any,
    as_user: Any,
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = tenants["demo"].ids
    admin = as_user("admin")
    uas_port = free_port()
    far_party.configure(admin, ids, uas_port)  # the carrier trunk, with the far party behind it
    voice = app.state.voice
    customer_tap, far_tap = await open_tap(), await open_tap()
    # The far party's scenario answers with the far tap's port in its SDP.
    monkeypatch.setattr(
        far_party, "UAS", far_party.UAS.replace(SDP_MEDIA, f"m=audio {far_tap.port}")
    )
    scenario = far_party._caller(tmp_path, digit="1")  # from the customer's valid number
    scenario.write_text(scenario.read_text().replace(SDP_MEDIA, f"m=audio {customer_tap.port}"))

    agent = agent1_phone(tmp_path, settings.voice_sip_port)
    await agent.start()
    sipp = uas = None
    try:
        await registered(voice, "agent1")
        make_available(as_user, ids, "agent1")
        sipp = await start_sipp(tmp_path, scenario, settings.voice_sip_port)
        await agent.wait_event("CALL_ESTABLISHED", within=40)
        call = await _wait(lambda: next(iter(voice.calls.values()), None), what="the call")
        await _wait(lambda: call.state == "connected", what="the bridge")
        await asyncio.sleep(2.0)  # the customer and agent1 talk
        uas = await far_party.start_uas(tmp_path, uas_port)
        before, agent_leg = len(customer_tap.frames), call.agent_leg
        mine = as_user("agent1")
        r = mine.post(f"/api/v1/voice/calls/{call.id}/transfer-out", json={"number": FAR})
        assert r.status_code == 200 and r.json()["state"] == "transferred", r.text
        await agent.wait_event("CALL_CLOSED")  # the agent's phone is released
        # From here the customer and the far party talk (give the far tone 0.5 s to arrive).
        await asyncio.sleep(0.5)
        after = len(customer_tap.frames)
        await asyncio.sleep(3.0)
        end = len(customer_tap.frames)
        # The agent is off the call: no leg of theirs, no call of theirs, wrapping up.
        assert agent_leg is not None and agent_leg.slot is None  # closed
        assert call.agent_leg is not None and call.agent_leg is not agent_leg  # the far party's
        live = admin.get(f"/api/v1/voice/calls/{call.id}").json()
        assert live["state"] == "transferred", live
        status = admin.get(f"/api/v1/routing/agents/{ids['agent1']}").json()["status"]
        assert status["state"] in ("wrap_up", "available"), status
        assert status["contacts"].get(call.contact_id) in (None, "wrap_up"), status
        # Nor is it agent1's call to control any more: they still follow it (shown as
        # transferred, as in their realtime view) but cannot end it. Kept to check last, so
        # that a failure here does not hide what the tones say.
        url = f"/api/v1/voice/calls/{call.id}"
        agent_sees = (
            mine.get(url).json().get("state"),
            [c["call_id"] for c in mine.get("/api/v1/voice/calls").json()],
            mine.post(f"{url}/hangup").status_code,
            mine.post(f"{url}/hold").status_code,
        )
        if call.id in voice.calls:
            r = admin.post(f"{url}/hangup")
            assert r.status_code == 200, r.text
        await far_party.finish_uas(uas, tmp_path)
        await finish_sipp(sipp, tmp_path)
        await _wait(lambda: not voice.calls, what="the call to end")
    finally:
        customer_tap.close()
        far_tap.close()
        await kill(sipp, uas)
        await agent.stop()

    others = (CALLER_HZ, AGENT_HZ, FAR_HZ)
    # The customer heard agent1 for the last 1.5 s before the transfer ...
    with_agent = customer_tap.audio(max(0, before - 75), before)
    assert len(with_agent) >= 75 * 160, len(with_agent)
    assert tone_share(with_agent, AGENT_HZ, (CALLER_HZ, FAR_HZ)) > 0.9
    # ... then the far party, and nobody else.
    with_far = customer_tap.audio(after, end)
    assert len(with_far) >= 2.5 * 8000, len(with_far)  # a steady stream for the 3 s
    assert tone_share(with_far, FAR_HZ, (CALLER_HZ, AGENT_HZ)) > 0.9
    # The far party heard the customer (and never the agent, who had left before it answered).
    heard_by_far = far_tap.audio()
    assert len(heard_by_far) >= 2.5 * 8000, len(heard_by_far)
    assert tone_share(heard_by_far, CALLER_HZ, (AGENT_HZ, FAR_HZ)) > 0.9
    # The agent heard the customer, and nothing of the far party.
    heard_by_agent = agent.heard()[-1]
    assert tone_share(heard_by_agent, CALLER_HZ, (AGENT_HZ, FAR_HZ)) > 0.9
    assert tone_share(heard_by_agent, FAR_HZ, others[:2]) < 0.05

    [row] = db_rows(client, app, CallRow)
    assert str(row.agent_id) == ids["agent1"]  # the record keeps who handled the call
    events, _ = all_events(admin)
    ended = [e["data"] for e in events if e["event"] == "routing.contact_ended"]
    assert [e["reason"] for e in ended] == ["transferred_external"]
    wraps = [e["data"]["agent_id"] for e in events if e["event"] == "routing.wrap_up_started"]
    assert wraps == [ids["agent1"]]
    assert agent_sees == ("transferred", [call.id], 409, 409), agent_sees
    assert row.end_reason == "hung up by admin", row.end_reason
