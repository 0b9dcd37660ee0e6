"""The two rules an erasure scrubs stored JSON by (platform/redaction.py)."""

from __future__ import annotations

from omnidesk.platform.redaction import ERASED, Redaction


def test_keys_go_whatever_they_hold_and_values_wherever_they_appear() -> None:
    redaction = Redaction.of(keys={"note"}, values=["+49305550199", "Zeb Quaxley", "ab", None])
    payload = {
        "contact_id": "c1",
        "queue_id": "support",
        "note": {"text": "anything"},
        "attributes": {"caller": "sip:+49305550199@trunk", "who": "ZEB QUAXLEY called"},
        "steps": [{"state": "ended", "by": "agent"}, "no +49305550199 here?"],
        "seconds": 12,
        "flag": None,
    }
    scrubbed, changed = redaction.scrub(payload)
    assert changed
    assert scrubbed == {
        "contact_id": "c1",
        "queue_id": "support",
        "note": ERASED,
        "attributes": {"caller": ERASED, "who": ERASED},
        "steps": [{"state": "ended", "by": "agent"}, ERASED],
        "seconds": 12,
        "flag": None,
    }
    # Short values never match ("ab" would hit "tab", ids, states); nothing to do: unchanged.
    assert redaction.scrub({"state": "tabled", "note": None}) == (
        {"state": "tabled", "note": None},
        False,
    )
    # Scrubbing again changes nothing: an erasure asked for twice reports nothing new.
    assert redaction.scrub(scrubbed) == (scrubbed, False)
