"""The words of scheduled report emails (scheduler.py) in the product's languages (en, de, es, lv).

Only the words are translated: dates stay ISO (YYYY-MM-DD), which reads the same in every
language, and the time zone is named by its IANA name.
"""

from __future__ import annotations

from typing import Final, Literal

MailLanguage = Literal["en", "de", "es", "lv"]
LANGUAGES: Final[tuple[MailLanguage, ...]] = ("en", "de", "es", "lv")
DEFAULT: Final[MailLanguage] = "en"

TEXTS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "queues": "Queue report",
        "agents": "Agent report",
        "contacts": "Contact report",
        "day": "for {day}",
        "days": "for {first} to {last}",
        "span": "for {start} to {end}",
        "body": "{report} {period} ({zone}), as scheduled in Omnidesk ({name}).",
        "attached": "The file is attached: {filename}.",
    },
    "de": {
        "queues": "Warteschlangenbericht",
        "agents": "Agentenbericht",
        "contacts": "Kontaktbericht",
        "day": "für den {day}",
        "days": "vom {first} bis {last}",
        "span": "von {start} bis {end}",
        "body": "{report} {period} ({zone}), wie in Omnidesk geplant ({name}).",
        "attached": "Die Datei ist angehängt: {filename}.",
    },
    "es": {
        "queues": "Informe de colas",
        "agents": "Informe de agentes",
        "contacts": "Informe de contactos",
        "day": "del {day}",
        "days": "del {first} al {last}",
        "span": "desde {start} hasta {end}",
        "body": "{report} {period} ({zone}), según lo programado en Omnidesk ({name}).",
        "attached": "El archivo va adjunto: {filename}.",
    },
    "lv": {
        "queues": "Rindu atskaite",
        "agents": "Aģentu atskaite",
        "contacts": "Kontaktu atskaite",
        "day": "par {day}",
        "days": "no {first} līdz {last}",
        "span": "no {start} līdz {end}",
        "body": "{report} {period} ({zone}), kā ieplānots Omnidesk ({name}).",
        "attached": "Fails ir pievienots: {filename}.",
    },
}


def language_of(code: str | None) -> MailLanguage:
    """One of LANGUAGES; anything else (never stored through the API) is English."""
    return code if code in LANGUAGES else DEFAULT


def text(language: str, key: str, **values: str) -> str:
    words = TEXTS[language_of(language)][key]
    return words.format(**values) if values else words
