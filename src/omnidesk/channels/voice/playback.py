"""What the caller hears on their leg: the IVR's prompts (which report `prompt_done` to the
call's inbox) and music on hold."""

from __future__ import annotations

import numpy as np

from omnidesk.channels.voice.calls import VoiceCall
from omnidesk.channels.voice.context import VoiceContext
from omnidesk.channels.voice.media.players import (
    BufferSource,
    Player,
    Playlist,
    ToneSource,
    load_wav,
)


def play(
    ctx: VoiceContext, call: VoiceCall, audio: list[np.ndarray], *, report: bool = True
) -> None:
    """Play prompts to the caller (replacing what they hear); `prompt_done` follows."""
    stop_playing(ctx, call)
    call.play_token += 1
    token = call.play_token
    on_done = (lambda: call.put("prompt_done", token)) if report else None
    playlist = Playlist([BufferSource(a) for a in audio if len(a)], on_done=on_done)
    call.playing = playlist
    if call.hold_audio is not None:
        ctx.media.disconnect(call.leg, call.hold_audio)
    ctx.media.connect(call.leg, playlist)


def stop_playing(ctx: VoiceContext, call: VoiceCall) -> None:
    if call.playing is not None:
        call.playing.stop()
        ctx.media.disconnect(call.leg, call.playing)
        call.playing = None
        call.play_token += 1  # its completion must not count as prompt_done


async def hold_audio(ctx: VoiceContext, call: VoiceCall, name: str | None) -> Player:
    """The named music file looping; without a name the tenant's default hold music (voice
    settings' `default_moh`); the built-in chime when neither is set (or the file is gone)."""
    if not name:
        default = (await ctx.lookups.voice_options(call.tenant_id)).get("default_moh")
        name = default if isinstance(default, str) else None
    if name:
        path = await ctx.lookups.audio_path(call.tenant_id, name)
        if path is not None:
            return BufferSource(load_wav(path), loop=True)
    return hold_music()


def hold_music() -> Player:
    """A quiet, looping two-note chime for queues that name no music file. Built from tones
    so a fresh install plays something rather than dead air (which makes callers hang up)."""
    notes = []
    for freq in (523.25, 659.25, 783.99, 659.25):
        notes.append(ToneSource(freq, level_dbfs=-24, duration_ms=400))
        notes.append(ToneSource(1.0, level_dbfs=-90, duration_ms=200))
    samples = np.concatenate([_render(p) for p in notes])
    return BufferSource(samples, loop=True)


def _render(player: Player) -> np.ndarray:
    frames = []
    while not player.done:
        frames.append(player.read())
    return np.concatenate(frames) if frames else np.zeros(0, dtype=np.int16)
