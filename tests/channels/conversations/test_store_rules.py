"""The store's rules without a database: delivery statuses in any order, language detection
among the tenant's languages, attachment limits, webhook signatures."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from omnidesk.channels.conversations.attachments import Limits, safe_filename
from omnidesk.channels.conversations.language import detect_sync
from omnidesk.channels.conversations.models import Message
from omnidesk.channels.conversations.store import advance_status
from omnidesk.channels.messaging.signature import same, sign, valid

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
LANGUAGES = ("en", "de", "es", "lv")


def outbound() -> Message:
    return Message(status="sent", status_times={"sent": T0.isoformat()})


@pytest.mark.parametrize("order", list(itertools.permutations(["delivered", "read", "sent"])))
def test_statuses_in_any_order_end_at_the_furthest(order: tuple[str, ...]) -> None:
    row = outbound()
    for i, status in enumerate(order):
        advance_status(row, status, T0 + timedelta(seconds=i))
    assert row.status == "read"
    assert set(row.status_times) == {"sent", "delivered", "read"}


def test_failed_only_ends_an_undelivered_message() -> None:
    row = outbound()
    assert advance_status(row, "failed", T0, {"code": 131047})
    assert row.status == "failed" and row.error == {"code": 131047}
    assert not advance_status(row, "delivered", T0)
    delivered = outbound()
    advance_status(delivered, "delivered", T0)
    assert not advance_status(delivered, "failed", T0) and delivered.status == "delivered"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Guten Tag, ich möchte meine Adresse ändern", "de"),
        ("Hola, quisiera cambiar mi dirección de envío", "es"),
        ("Labdien, es vēlos mainīt savu adresi", "lv"),
        ("Hello, I would like to change my address", "en"),
        ("ok", None),  # too short to tell
    ],
)
def test_language_among_the_tenants(text: str, expected: str | None) -> None:
    assert detect_sync(text, LANGUAGES) == expected


def test_language_never_outside_the_tenants_list() -> None:
    assert detect_sync("Guten Tag, ich möchte meine Adresse ändern", ("en", "es")) in ("en", "es")
    assert detect_sync("Guten Tag, ich möchte meine Adresse ändern", ("lv",)) == "lv"


def test_limits_and_names() -> None:
    limits = Limits(100, ("image/*", "application/pdf"))
    assert limits.refusal("image/png", 100) is None
    assert limits.refusal("IMAGE/JPEG; q=1", 10) is None
    assert "limit" in (limits.refusal("application/pdf", 101) or "")
    assert "not allowed" in (limits.refusal("text/html", 1) or "")
    assert safe_filename("../../etc/passwd") == "_.._etc_passwd"
    assert safe_filename("  ") == "attachment"


def test_signatures() -> None:
    body = b'{"a": 1}'
    header = sign("secret", body)
    assert valid("secret", body, header)
    assert valid("secret", body, header.upper().replace("SHA256=", "sha256="))
    assert not valid("secret", body + b" ", header)
    assert not valid("other", body, header)
    assert not valid("", body, sign("", body))
    assert not valid("secret", body, None) and not valid("secret", body, header[7:])
    assert same("token", "token") and not same("", "")
