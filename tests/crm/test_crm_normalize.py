"""Identity normalisation and name folding (no database)."""

from __future__ import annotations

import pytest

from omnidesk.crm import normalize, search
from omnidesk.platform.errors import Invalid


@pytest.mark.parametrize(
    "raw",
    ["+49 30 12345678", "0049 30 12345678", "030 12345678", "(030) 1234-5678", "+4930-12345678"],
)
def test_a_phone_in_any_format_is_one_e164_number(raw: str) -> None:
    assert normalize.phone(raw, "DE") == "+493012345678"


def test_a_national_number_needs_the_tenants_region() -> None:
    with pytest.raises(Invalid) as caught:
        normalize.phone("030 12345678", None)
    assert "no default region" in caught.value.detail
    assert caught.value.extra["field"] == "value"


@pytest.mark.parametrize("raw", ["12", "+49 1", "call me", "+1 555 0100"])
def test_invalid_phone_numbers_are_refused(raw: str) -> None:
    with pytest.raises(Invalid):
        normalize.phone(raw, "DE")
    assert normalize.maybe_phone(raw, "DE") is None


def test_emails_are_validated_and_lower_cased() -> None:
    assert normalize.email(" Anna.Schmidt@Example.COM ") == "anna.schmidt@example.com"
    for bad in ("anna", "anna@", "@example.com", "anna@@example.com", "anna @example.com"):
        with pytest.raises(Invalid):
            normalize.email(bad)


def test_identities_by_kind() -> None:
    key = normalize.identity("messaging", " 4915112345678 ", provider="WhatsApp")
    assert (key.kind, key.provider, key.value) == ("messaging", "whatsapp", "4915112345678")
    with pytest.raises(Invalid) as caught:
        normalize.identity("messaging", "x")
    assert caught.value.extra["field"] == "provider"
    with pytest.raises(Invalid) as caught:
        normalize.identity("fax", "x")
    assert caught.value.extra["field"] == "kind"
    assert normalize.identity("webchat", "v-123").value == "v-123"


def test_names_fold_accents_and_case() -> None:
    assert normalize.fold("  Ana  Peña-Ábol ") == "ana pena abol"
    assert normalize.fold("Łukasz Müller Øster Straße") == "lukasz muller oster strasse"
    assert normalize.fold("Jānis Ābols") == "janis abols"


def test_one_edit_words_cover_the_usual_typos() -> None:
    edits = search._one_edit("smith")
    assert {"smiht", "smth", "smiths", "smitt"} <= edits
    assert "smith" not in edits
