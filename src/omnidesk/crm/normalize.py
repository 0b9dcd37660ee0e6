"""One spelling per identity and per name, so that equal things compare equal.

Phones become E.164 (`phonenumbers`, with the tenant's default region for national formats),
emails are validated (`email-validator`, no DNS) and lower-cased, messaging ids are kept per
provider, chat visitor ids as given. Names are folded for search: transliterated to ASCII
(`anyascii`: Müller, Łukasz and Ø all fold), lower case, words of letters and digits only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import phonenumbers
from anyascii import anyascii
from email_validator import EmailNotValidError, validate_email

from omnidesk.platform.errors import Invalid

PROVIDER = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
OPAQUE = re.compile(r"^[\x21-\x7e]{1,200}$")  # printable ASCII, no spaces
_WORD = re.compile(r"[a-z0-9]+")
MAX_TERMS = 8  # words of a name that are indexed and searched
MAX_TERM = 64
PHONE_CACHE = 65_536  # numbers whose normalisation is kept (a few MB)


class IdentityKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    MESSAGING = "messaging"
    WEBCHAT = "webchat"


@dataclass(frozen=True)
class IdentityKey:
    """An identity as stored: the unique key (kind, provider, value) within a tenant."""

    kind: IdentityKind
    value: str
    provider: str = ""


def phone(raw: str, region: str | None, *, field: str = "value") -> str:
    """E.164 of a valid number; national formats need the tenant's default region."""
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    international = text.startswith("+")
    e164, problem = _e164(text, None if international else region)
    if e164 is None:
        hint = "" if international or region else " (no default region is set: use +country)"
        raise Invalid(f"{raw!r} {problem}{hint}", field=field)
    return e164


@lru_cache(maxsize=PHONE_CACHE)
def _e164(text: str, region: str | None) -> tuple[str | None, str]:
    """(E.164, "") or (None, what is wrong). Cached: parsing and validating cost ~80 µs a
    number (most of a resolution's Python time) and the same callers call again; a pure
    function of (text, region), so a cached answer is always the right one."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        return None, f"is not a phone number: {exc}"
    if not phonenumbers.is_valid_number(number):
        return None, "is not a valid phone number"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), ""


def forget() -> None:
    """Empty the normalisation cache (the bench measures normalising numbers never seen)."""
    _e164.cache_clear()


def maybe_phone(raw: str | None, region: str | None) -> str | None:
    """E.164, or None for what is not a valid number (withheld callers, extensions)."""
    if not raw:
        return None
    try:
        return phone(raw, region)
    except Invalid:
        return None


def email(raw: str, *, field: str = "value") -> str:
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise Invalid(f"{raw!r} is not a valid email address: {exc}", field=field) from None
    # The local part is case-sensitive by the RFC and case-insensitive in practice: one
    # customer writing as Anna@ and anna@ is one person.
    return checked.normalized.lower()


def identity(
    kind: IdentityKind | str,
    value: str,
    *,
    provider: str | None = None,
    region: str | None = None,
    field: str = "value",
) -> IdentityKey:
    """Validate and normalise one identity; 422 naming `field` when it is not one."""
    try:
        kind = IdentityKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in IdentityKind)
        raise Invalid(f"unknown identity kind {kind!r} (one of {kinds})", field="kind") from None
    if kind is IdentityKind.MESSAGING:
        name = (provider or "").strip().lower()
        if not PROVIDER.match(name):
            raise Invalid(
                "a messaging identity needs its provider (e.g. whatsapp, telegram): lowercase "
                "letters, digits, - or _",
                field="provider",
            )
        return IdentityKey(kind, _opaque(value, field), name)
    if provider:
        raise Invalid(f"only messaging identities have a provider, not {kind}", field="provider")
    if kind is IdentityKind.PHONE:
        return IdentityKey(kind, phone(value, region, field=field))
    if kind is IdentityKind.EMAIL:
        return IdentityKey(kind, email(value, field=field))
    return IdentityKey(kind, _opaque(value, field))


def _opaque(value: str, field: str) -> str:
    text = value.strip()
    if not OPAQUE.match(text):
        raise Invalid("an id is 1-200 printable characters without spaces", field=field)
    return text


def region(raw: str | None) -> str | None:
    if raw is None:
        return None
    code = raw.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise Invalid(f"{raw!r} is not a region phonenumbers knows (ISO 3166)", field="region")
    return code


# --- names ---------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower-case ASCII words separated by single spaces: 'Ana  Peña-Ábol' -> 'ana pena abol'."""
    return " ".join(terms(text))


def terms(text: str) -> list[str]:
    words = _WORD.findall(anyascii(text).lower())
    return [w[:MAX_TERM] for w in words[:MAX_TERMS]]


def fold_value(value: object) -> str:
    """A custom field value as search compares it (folded, at most 200 characters)."""
    return fold(str(value))[:200]
