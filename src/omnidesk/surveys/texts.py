"""The built-in words of surveys in the product's languages (en, de, es, lv)."""

from __future__ import annotations

LANGUAGES = ("en", "de", "es", "lv")

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "invite": "How did we do? Please tell us, it takes a minute:",
        "title": "Your feedback",
        "submit": "Send",
        "thanks": "Thank you for your feedback!",
        "answered": "This survey has been answered already. Thank you!",
        "expired": "This survey has expired.",
        "unknown": "This survey link is not valid.",
        "required": "required",
        "low": "not at all",
        "high": "very",
        "invalid": "Please check your answers:",
    },
    "de": {
        "invite": "Wie war unser Service? Sagen Sie es uns, es dauert eine Minute:",
        "title": "Ihre Meinung",
        "submit": "Senden",
        "thanks": "Vielen Dank für Ihre Rückmeldung!",
        "answered": "Diese Umfrage wurde bereits beantwortet. Danke!",
        "expired": "Diese Umfrage ist abgelaufen.",
        "unknown": "Dieser Umfragelink ist ungültig.",
        "required": "Pflichtfeld",
        "low": "gar nicht",
        "high": "sehr",
        "invalid": "Bitte prüfen Sie Ihre Antworten:",
    },
    "es": {
        "invite": "¿Qué tal lo hicimos? Cuéntenoslo, solo lleva un minuto:",
        "title": "Su opinión",
        "submit": "Enviar",
        "thanks": "¡Gracias por su opinión!",
        "answered": "Esta encuesta ya fue respondida. ¡Gracias!",
        "expired": "Esta encuesta ha caducado.",
        "unknown": "Este enlace de encuesta no es válido.",
        "required": "obligatorio",
        "low": "nada",
        "high": "mucho",
        "invalid": "Revise sus respuestas:",
    },
    "lv": {
        "invite": "Kā mums veicās? Lūdzu, pastāstiet mums, tas aizņems minūti:",
        "title": "Jūsu atsauksme",
        "submit": "Nosūtīt",
        "thanks": "Paldies par jūsu atsauksmi!",
        "answered": "Uz šo aptauju jau ir atbildēts. Paldies!",
        "expired": "Šīs aptaujas termiņš ir beidzies.",
        "unknown": "Šī aptaujas saite nav derīga.",
        "required": "obligāts",
        "low": "nemaz",
        "high": "ļoti",
        "invalid": "Lūdzu, pārbaudiet atbildes:",
    },
}


def language_of(code: str | None) -> str:
    base = (code or "").split("-")[0].lower()
    return base if base in TEXTS else "en"


def text(language: str, key: str) -> str:
    return TEXTS[language_of(language)][key]
