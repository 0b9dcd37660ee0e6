"""The recording consent prompt: heard by the caller before a recording of them starts.

When a call's recording is about to start (the queue records always, or the agent starts it)
and the queue's policy has `consent_prompt`, the tenant's `recording_consent_prompt` (a text
spoken in the call's language, or an audio file) is played first. While it plays the caller and
the agent are not connected to each other — both hear the prompt — and nothing is recorded; when
it ends the two are bridged (or, if the agent put the call on hold meanwhile, the bridge is what
resume restores) and the recording starts. The prompt is played once per call.

Without a configured prompt nothing is played: a made-up default would be worded for no one's
jurisdiction, so the tenant's text decides.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import numpy as np

from omnidesk.channels.voice.calls import VoiceCall
from omnidesk.channels.voice.context import VoiceContext
from omnidesk.channels.voice.ivr import actions as ivr
from omnidesk.channels.voice.media.players import BufferSource
from omnidesk.channels.voice.records import note
from omnidesk.platform.logging import get_logger

log = get_logger(__name__)
# What starts the recording once the prompt has been heard (recording.start_recording).
StartRecording = Callable[[VoiceContext, VoiceCall], Awaitable[None]]


async def consent_audio(ctx: VoiceContext, call: VoiceCall) -> np.ndarray | None:
    """The prompt to play before recording this call, or None (no prompt needed or none set)."""
    policy = await ctx.lookups.queue_policy(call.tenant_id, call.queue_id or "")
    if not policy.consent_prompt:
        return None
    options = await ctx.lookups.voice_options(call.tenant_id)
    spec = options.get("recording_consent_prompt") or {}
    prompt: ivr.Prompt
    if spec.get("audio"):
        prompt = ivr.Wav(str(spec["audio"]))
    elif spec.get("text"):
        prompt = ivr.Say(str(spec["text"]), str(spec.get("language") or call.language))
    else:
        return None
    audio = await ctx.render_prompts(call, [prompt])
    return np.concatenate(audio) if audio and sum(len(a) for a in audio) else None


async def wait_for_consent(ctx: VoiceContext, call: VoiceCall, *, then: StartRecording) -> bool:
    """Called as a recording is about to start. True: not yet — the consent prompt is playing
    (started now or earlier) and `then` starts the recording when it ends."""
    if call.consent == "played":
        return False
    if call.consent == "playing":
        return True
    audio = await consent_audio(ctx, call)
    agent = call.agent_leg
    if audio is None or agent is None or call.ended:
        call.consent = "played"
        return False
    media = ctx.media
    call.consent = "playing"
    media.disconnect(call.leg, agent)
    media.disconnect(agent, call.leg)

    def done() -> None:
        call.put("call", lambda: _consent_done(ctx, call, prompt, then))

    prompt = BufferSource(audio, on_done=done)
    media.connect(call.leg, prompt)
    media.connect(agent, prompt)  # the agent knows why the line is quiet
    await note(ctx, call, "consent_prompt", detail={"consent": "playing"})
    return True


async def _consent_done(
    ctx: VoiceContext, call: VoiceCall, prompt: BufferSource, then: StartRecording
) -> None:
    media = ctx.media
    media.disconnect(call.leg, prompt)
    if call.agent_leg is not None:
        media.disconnect(call.agent_leg, prompt)
    call.consent = "played"
    if call.ended or call.agent_leg is None:
        return
    agent = call.agent_leg
    if call.state == "held" and call.held is not None:
        # Resume restores what hold took away: add the bridge the prompt had taken down.
        call.held.extend([(call.leg, agent, 1.0), (agent, call.leg, 1.0)])
    elif call.state == "connected":
        media.bridge(call.leg, agent)
    await note(ctx, call, "consent_prompt", detail={"consent": "played"})
    if call.state in ("connected", "held"):
        await then(ctx, call)
