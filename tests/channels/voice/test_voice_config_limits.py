"""The audio upload route's own body limit (voice_audio_max_bytes) over the app-wide
max_body_bytes, and the per-path override of the body limit middleware it rests on."""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import Any

import pytest
from voice_config_helpers import upload

from omnidesk.platform.http import BodyLimitMiddleware
from spine_checks import assert_problem

AUDIO_CAP = 4_000_000  # well over the app's 1 MB max_body_bytes


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return settings.model_copy(update={"voice_audio_max_bytes": AUDIO_CAP})


def big_wav(size: int) -> bytes:
    """A valid 16-bit mono 8 kHz WAV of exactly `size` bytes (a sawtooth: not all zero)."""
    frames = (size - 44) // 2
    pattern = b"".join(i.to_bytes(2, "little", signed=True) for i in range(-2000, 2000, 40))
    samples = (pattern * (2 * frames // len(pattern) + 1))[: 2 * frames]
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(samples)
    data = buffer.getvalue()
    assert len(data) == size - (size - 44) % 2
    return data


def _chunks(data: bytes, size: int = 256 * 1024) -> Any:
    return (data[i : i + size] for i in range(0, len(data), size))


def test_a_3_mb_wav_uploads_and_one_over_the_audio_cap_is_refused(as_user, settings) -> None:
    admin = as_user("admin")
    data = big_wav(3_000_000)
    r = upload(admin, "long-prompt.wav", data)
    assert r.status_code == 201, r.text
    assert r.json()["size"] == len(data)
    assert admin.get("/api/v1/voice/audio/long-prompt.wav").content == data
    # Streamed without a Content-Length, the same file is read in full too.
    streamed = admin.post(
        "/api/v1/voice/audio?name=streamed.wav",
        content=_chunks(data),
        headers={"content-type": "audio/wav"},
    )
    assert "content-length" not in streamed.request.headers
    assert streamed.status_code == 201, streamed.text

    over = big_wav(AUDIO_CAP + 2)
    assert_problem(upload(admin, "too-long.wav", over), 413, str(AUDIO_CAP))
    chunked = admin.post(
        "/api/v1/voice/audio?name=too-long.wav",
        content=_chunks(over),
        headers={"content-type": "audio/wav"},
    )
    assert_problem(chunked, 413, str(AUDIO_CAP))
    names = [a["name"] for a in admin.get("/api/v1/voice/audio").json()]
    assert names == ["long-prompt.wav", "streamed.wav"]
    assert len(list(Path(settings.data_dir).rglob("*.wav"))) == 2

    # Every other route keeps the app-wide limit, the voice routes next door included.
    limit = settings.max_body_bytes
    padded = b'{"name": "f", "definition": {"id": "x"}}' + b" " * limit
    json_type = {"content-type": "application/json"}
    r = admin.post("/api/v1/voice/flows", content=padded, headers=json_type)
    assert_problem(r, 413, str(limit))
    r = admin.post("/api/v1/voice/flows", content=_chunks(padded), headers=json_type)
    assert_problem(r, 413, str(limit))


def test_overrides_match_whole_path_segments_longest_first() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:  # never called here
        raise AssertionError

    middleware = BodyLimitMiddleware(
        app, max_bytes=100, overrides={"/api/upload/": 1000, "/api/upload/small": 10}
    )
    assert middleware.limit_for("/api/upload") == 1000
    assert middleware.limit_for("/api/upload/") == 1000
    assert middleware.limit_for("/api/upload/x.wav") == 1000
    assert middleware.limit_for("/api/upload/small") == 10
    assert middleware.limit_for("/api/upload/small/1") == 10
    assert middleware.limit_for("/api/upload/smaller") == 1000
    assert middleware.limit_for("/api/uploads") == 100
    assert middleware.limit_for("/api") == 100
    assert BodyLimitMiddleware(app, max_bytes=5).limit_for("/api/upload") == 5
