"""A voice queue's policy and the tenant's hold music and recording consent prompt in the admin
console, in a real browser against a real server: an admin uploads a WAV file in the queue's
"Voice" part, sets the queue's recording to never and its hold music to that file, sees a
refusal on the field it names and the policy kept after a reload (and the API says what the
form showed); a save in a second tab on a stale version is told as a conflict; the voice
settings take the default hold music and a spoken consent prompt. axe checks each screen."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator

import pytest
from desk_helpers import (
    LiveServer,
    axe_violations,
    browser,
    logged_in_page,
    needs_browser,
    ok,
    serve,
)
from playwright.sync_api import Page, expect

pytestmark = needs_browser()
__all__ = ["browser"]  # the module's Chromium (a fixture of desk_helpers)
expect.set_options(timeout=15_000)
VIEWPORT = {"width": 1280, "height": 1000}
POLICY = "/api/v1/voice/queues/support/policy"


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    live = next(gen := serve())
    admin = live.api("admin")
    for queue_id, name in (("support", "Support"), ("voicemail", "Voicemail"), ("gone", "Gone")):
        queue = {"id": queue_id, "name": name, "channels": ["voice"]}
        ok(admin.post("/api/v1/routing/queues", json=queue), 201)
    yield live
    for _ in gen:  # the server's own clean-up
        pass


def _admin_page(browser, server: LiveServer) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    yield from logged_in_page(browser, server, "admin", "/admin", viewport=VIEWPORT, locale="en-GB")


@pytest.fixture
def admin_page(server: LiveServer, browser) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    yield from _admin_page(browser, server)


def _wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:  # a tenth of a second of silence, 8 kHz mono
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * 800)
    return buffer.getvalue()


def _open_voice_part(page: Page) -> Page:
    page.get_by_role("link", name="Queues").click()
    page.get_by_role("button", name="Edit Support").click()
    voice = page.get_by_test_id("queue-voice-policy")
    expect(voice.get_by_role("heading", name="Voice: calls in support")).to_be_visible()
    return voice  # type: ignore[return-value]


def test_a_queues_voice_policy_and_a_stale_save(
    admin_page: Page, server: LiveServer, browser
) -> None:  # type: ignore[no-untyped-def]
    page = admin_page
    admin = server.api("admin")
    voice = _open_voice_part(page)
    voice.get_by_label("WAV file").set_input_files(
        {"name": "Hold.wav", "mimeType": "audio/wav", "buffer": _wav()}
    )
    expect(voice.get_by_label("Name (ends in .wav)")).to_have_value("hold.wav")
    voice.get_by_role("button", name="Upload").click()
    expect(voice).to_contain_text("hold.wav uploaded.")
    voice.get_by_label("Recording", exact=True).select_option("never")
    voice.get_by_label("Hold music").select_option("hold.wav")

    # A queue removed while the form was open: refused on the voicemail field, and nothing kept.
    voicemail = voice.get_by_label("Voicemail queue")
    voicemail.select_option("gone")
    assert admin.delete("/api/v1/routing/queues/gone").status_code == 204
    voice.get_by_role("button", name="Save voice policy").click()
    expect(voicemail).to_have_attribute("aria-invalid", "true")
    expect(voice.locator('[data-field-error="voicemail_queue"]')).to_contain_text("gone")
    expect(voice.get_by_label("Recording", exact=True)).to_have_attribute("aria-invalid", "false")
    assert ok(admin.get(POLICY))["configured"] is False
    assert axe_violations(page) == []
    voicemail.select_option("voicemail")
    expect(voicemail).to_have_attribute("aria-invalid", "false")
    voice.get_by_role("button", name="Save voice policy").click()
    expect(voice.get_by_test_id("queue-voice-saved")).to_contain_text("version 1")

    # Kept after a reload; the API holds what the form shows.
    page.reload()
    voice = _open_voice_part(page)
    expect(voice.get_by_label("Recording", exact=True)).to_have_value("never")
    expect(voice.get_by_label("Hold music")).to_have_value("hold.wav")
    expect(voice.get_by_label("Voicemail queue")).to_have_value("voicemail")
    expect(voice.get_by_label("Play the recording consent prompt first")).to_be_checked()
    expect(voice.get_by_label("Announce every (seconds)")).to_have_value("60")
    expect(voice.get_by_label("Longest wait")).to_have_count(0)  # the queue's (ADR 0026)
    assert axe_violations(page) == []
    policy = ok(admin.get(POLICY))
    assert policy == {
        "queue_id": "support",
        "record": "never",
        "consent_prompt": True,
        "announce_every_s": 60,
        "moh": "hold.wav",
        "voicemail_queue": "voicemail",
        "configured": True,
        "version": 1,
    }

    # A second tab on version 1 saves after this one: refused, then reloaded as it is now.
    for other in _admin_page(browser, server):
        second = _open_voice_part(other)
        voice.get_by_label("Announce every (seconds)").fill("30")
        voice.get_by_role("button", name="Save voice policy").click()
        expect(voice.get_by_test_id("queue-voice-saved")).to_contain_text("version 2")
        second.get_by_label("Recording", exact=True).select_option("on_demand")
        second.get_by_role("button", name="Save voice policy").click()
        conflict = second.get_by_test_id("queue-voice-conflict")
        expect(conflict).to_contain_text("Someone else changed this queue's voice policy")
        assert axe_violations(other) == []
        assert ok(admin.get(POLICY))["record"] == "never"  # the stale save changed nothing
        conflict.get_by_role("button", name="Reload the voice policy").click()
        expect(second.get_by_label("Announce every (seconds)")).to_have_value("30")
        expect(second.get_by_label("Recording", exact=True)).to_have_value("never")
    assert ok(admin.get(POLICY))["version"] == 2


def test_default_hold_music_and_a_spoken_consent_prompt(
    admin_page: Page, server: LiveServer
) -> None:
    page = admin_page
    admin = server.api("admin")
    if not any(a["name"] == "hold.wav" for a in ok(admin.get("/api/v1/voice/audio"))):
        r = admin.post(
            "/api/v1/voice/audio",
            params={"name": "hold.wav"},
            content=_wav(),
            headers={"content-type": "audio/wav"},
        )
        ok(r, 201)
    page.get_by_role("link", name="Numbers and trunks").click()
    form = page.get_by_test_id("voice-settings")
    form.get_by_label("Default hold music").select_option("hold.wav")
    form.get_by_label("Prompt", exact=True).select_option("text")
    # An empty text is refused on the text's field.
    form.get_by_role("button", name="Save voice settings").click()
    text = form.get_by_label("Text to speak")
    expect(text).to_have_attribute("aria-invalid", "true")
    expect(form.locator('[data-field-error="recording_consent_prompt"]')).to_be_visible()
    assert axe_violations(page) == []
    text.fill("This call may be recorded.")
    expect(text).to_have_attribute("aria-invalid", "false")
    form.get_by_label("Language of the text").fill("en")
    form.get_by_role("button", name="Save voice settings").click()
    expect(form.get_by_test_id("voice-settings-saved")).to_be_visible()
    settings = ok(admin.get("/api/v1/voice/settings"))
    assert settings["default_moh"] == "hold.wav"
    prompt = {k: v for k, v in settings["recording_consent_prompt"].items() if v is not None}
    assert prompt == {"text": "This call may be recorded.", "language": "en"}

    page.reload()
    page.get_by_role("link", name="Numbers and trunks").click()
    form = page.get_by_test_id("voice-settings")
    expect(form.get_by_label("Default hold music")).to_have_value("hold.wav")
    expect(form.get_by_label("Text to speak")).to_have_value("This call may be recorded.")
    assert axe_violations(page) == []
