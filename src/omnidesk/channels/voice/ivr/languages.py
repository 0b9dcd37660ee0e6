"""Which espeak-ng voice speaks a flow's BCP-47 language tag.

Pure, so flow validation can reject a language nobody can speak before a call ever needs it.
Only voices that ship with Debian's espeak-ng are listed; a test checks them against the
installed engine.
"""

from __future__ import annotations

# Region-specific tags first: "en-GB" must not fall back to the American voice.
_VOICES: dict[str, str] = {
    "en": "en-us",
    "en-us": "en-us",
    "en-gb": "en-gb",
    "en-ie": "en-gb",
    "en-au": "en-gb",
    "de": "de",
    "fr": "fr-fr",
    "fr-be": "fr-be",
    "fr-ch": "fr-ch",
    "es": "es",
    "es-mx": "es-419",
    "es-419": "es-419",
    "it": "it",
    "nl": "nl",
    "pt": "pt",
    "pt-br": "pt-br",
    "pl": "pl",
    "sv": "sv",
    "da": "da",
    "nb": "nb",
    "no": "nb",
    "fi": "fi",
    "cs": "cs",
    "tr": "tr",
    "ru": "ru",
    "el": "el",
    "hu": "hu",
    "lv": "lv",
}


class UnknownLanguage(ValueError):
    def __init__(self, language: str) -> None:
        super().__init__(
            f"no speech voice for language {language!r} "
            f"(known: {', '.join(sorted({k.split('-')[0] for k in _VOICES}))})"
        )
        self.language = language


def espeak_voice(language: str) -> str:
    tag = language.strip().replace("_", "-").lower()
    if tag in _VOICES:
        return _VOICES[tag]
    primary = tag.split("-", 1)[0]
    if primary in _VOICES:
        return _VOICES[primary]
    raise UnknownLanguage(language)


def is_known_language(language: str) -> bool:
    try:
        espeak_voice(language)
    except UnknownLanguage:
        return False
    return True


def known_voices() -> frozenset[str]:
    return frozenset(_VOICES.values())
