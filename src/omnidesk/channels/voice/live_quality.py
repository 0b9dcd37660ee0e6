"""Audio figures while calls are up (docs/voice.md, "Audio quality"; ADR 0033, "Live figures").

Every `voice_live_quality_seconds` each connected call with figures gets a `voice.call_quality`
event — to its agent and the supervisors who follow it, as its other events — so a supervisor
sees "the agent's network is bad" during the call, not after it. One loop for the server, not
one per call: it only reads what the legs already keep (a browser phone's last getStats()
sample, the engine's receive statistics), and skips a call whose legs received nothing new
since the last report (on hold, muted both ways), so a quiet call adds nothing to the log.
"""

from __future__ import annotations

import asyncio
import uuid

from omnidesk.channels.voice import call_events as ev
from omnidesk.channels.voice.context import VoiceContext
from omnidesk.channels.voice.quality import LiveLeg
from omnidesk.channels.voice.records import audio_quality, record
from omnidesk.channels.voice.webrtc import BrowserCall
from omnidesk.platform.logging import get_logger

log = get_logger(__name__)

# The states of a call whose legs are talking (or could be): bridged, held, in a consult …
LIVE_STATES = frozenset({"connected", "held", "consulting", "conference", "transferring"})


async def report(ctx: VoiceContext, every_s: float) -> None:
    last: dict[str, int] = {}  # call id → packets received at the last report
    while True:
        await asyncio.sleep(every_s)
        live = {cid: call for cid, call in ctx.calls.items() if call.state in LIVE_STATES}
        for gone in set(last) - set(live):
            del last[gone]
        for call_id, call in live.items():
            if isinstance(call.agent_sip, BrowserCall):
                await call.agent_sip.sample_quality()  # the figures as of now
            audio = audio_quality(call)
            received = sum(q.packets_received for q in audio)
            if not audio or received == last.get(call_id):
                continue
            last[call_id] = received
            try:
                await record(
                    ctx,
                    call,
                    ev.CallQuality(
                        call_id=call.id,
                        contact_id=call.contact_id,
                        agent_id=uuid.UUID(call.agent_id) if call.agent_id else None,
                        audio=audio,
                        live=[LiveLeg.of(q) for q in audio],
                    ),
                )
            except Exception:
                # A figure that could not be written is no reason to stop reporting the rest.
                log.exception("voice.call_quality_failed", call=call_id)
