"""The demo number's IVR flow (docs/voice-ivr.md has the format).

Welcome jingle and greeting; opening hours; a menu (1 support, 2 sales, 3 leave a message,
9 German); the chosen queue with hold music, position and wait announcements every 30 s and a
callback on `*`; voicemail after hours, after 5 minutes in line, or on 3. The hours are open
around the clock, so the demo answers whenever it is tried: give a day other hours (or a
holiday) to hear the after-hours path.
"""

from __future__ import annotations

from typing import Any

FLOW_NAME = "Demo main line"
SUPPORT, SALES, VOICEMAIL = "support", "sales", "voicemail"
DIGITS = {"support": "1", "sales": "2", "voicemail": "3", "deutsch": "9"}


def _queue(queue: str, prompt: str, callback_prompt: str) -> dict[str, Any]:
    return {
        "type": "queue",
        "queue": queue,
        "prompt": prompt,
        "announce_every_s": 30,  # "You are caller number two. The estimated wait is ..."
        "moh": "hold-music",
        "callback_key": "*",
        "callback_prompt": callback_prompt,
        "max_wait_s": 300,
        "on_timeout": "voicemail",
    }


def _set(reason: str, then: str, language: str | None = None) -> dict[str, Any]:
    # The contact's `language` is what the queues' rules match against agents' languages.
    attributes = {"reason": reason} | ({"language": language} if language else {})
    return {"type": "set", "attributes": attributes, "next": then}


EN_HOLD = "Please hold, an agent will be with you shortly. Press star to be called back."
EN_CALLBACK = "Thank you. We will call you back as soon as it is your turn. Goodbye."
DE_HOLD = (
    "Bitte bleiben Sie in der Leitung. Drücken Sie die Sterntaste, wenn wir Sie zurückrufen sollen."
)
DE_CALLBACK = "Danke. Wir rufen Sie zurück, sobald Sie an der Reihe sind. Auf Wiederhören."

DEMO_FLOW: dict[str, Any] = {
    "id": "demo-main-line",
    "name": FLOW_NAME,
    "language": "en",
    "timezone": "UTC",
    "start": "welcome",
    "nodes": {
        "welcome": {
            "type": "play",
            "prompt": [{"wav": "welcome-jingle"}, {"say": "Welcome to the Omnidesk demo line."}],
            "next": "check_hours",
        },
        "check_hours": {
            "type": "hours",
            # Open around the clock: the demo works whenever it is tried.
            "schedule": {
                day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
            },
            "open": "menu",
            "closed": "after_hours",
        },
        "menu": {
            "type": "menu",
            "prompt": [
                {"say": "For support, press 1. For sales, press 2. To leave a message, press 3."},
                {"say": "Für Deutsch drücken Sie die 9.", "language": "de"},
            ],
            "options": {
                DIGITS["support"]: "support",
                DIGITS["sales"]: "sales",
                DIGITS["voicemail"]: "voicemail",
                DIGITS["deutsch"]: "deutsch",
            },
            "timeout_s": 5,
            "retries": 1,
            "invalid_prompt": "Sorry, that is not an option.",
            "no_input_prompt": "Sorry, I did not hear a choice.",
            "on_failure": "support",  # no choice: someone will help
        },
        "support": _set("support", "queue_support", "en"),
        "sales": _set("sales", "queue_sales", "en"),
        "queue_support": _queue(SUPPORT, EN_HOLD, EN_CALLBACK),
        "queue_sales": _queue(SALES, EN_HOLD, EN_CALLBACK),
        "deutsch": {"type": "set", "attributes": {"language": "de"}, "next": "menu_de"},
        "menu_de": {
            "type": "menu",
            "prompt": "Für den Support drücken Sie die 1, für den Vertrieb die 2.",
            "options": {"1": "support_de", "2": "sales_de"},
            "timeout_s": 5,
            "retries": 1,
            "invalid_prompt": "Das ist leider keine gültige Wahl.",
            "no_input_prompt": "Ich habe leider keine Wahl gehört.",
            "on_failure": "support_de",
        },
        "support_de": _set("support", "queue_support_de"),
        "sales_de": _set("sales", "queue_sales_de"),
        "queue_support_de": _queue(SUPPORT, DE_HOLD, DE_CALLBACK),
        "queue_sales_de": _queue(SALES, DE_HOLD, DE_CALLBACK),
        "after_hours": {
            "type": "play",
            "prompt": "We are closed right now.",
            "next": "voicemail",
        },
        "voicemail": {
            # Left messages are contacts in the queue "voicemail", offered like calls.
            "type": "voicemail",
            "prompt": "Please leave a message after the tone and press hash when you are done.",
            "max_seconds": 120,
            "queue": VOICEMAIL,
            "finish_key": "#",
            "next": "goodbye",
        },
        "goodbye": {"type": "hangup", "prompt": "Thank you for calling. Goodbye."},
    },
}
