"""The built-in words of surveys in the product's languages (en, de, es, lv)."""

from __future__ import annotations

LANGUAGES = ("en", "de", "es", "lv")

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "yes": "Yes",
        "no": "No",
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
        # Spoken by the phone's survey (channels/voice/survey.py).
        "voice_intro": "Please stay on the line for a short survey about this call.",
        "voice_csat": "Press a key from 1 to 5. 1 means not at all, 5 means very.",
        "voice_ces": "Press a key from 1 to 7. 1 means not at all, 7 means very.",
        "voice_nps": "Press a key from 0 to 9, or for ten press 1 and then 0.",
        "voice_resolved": "Press 1 for yes, or 2 for no.",
        "voice_invalid": "Sorry, that was not a valid answer.",
        "voice_thanks": "Thank you for your feedback. Goodbye.",
    },
    "de": {
        "yes": "Ja",
        "no": "Nein",
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
        "voice_intro": "Bitte bleiben Sie für eine kurze Umfrage zu diesem Anruf in der Leitung.",
        "voice_csat": "Drücken Sie eine Taste von 1 bis 5. 1 heißt gar nicht, 5 heißt sehr.",
        "voice_ces": "Drücken Sie eine Taste von 1 bis 7. 1 heißt gar nicht, 7 heißt sehr.",
        "voice_nps": "Drücken Sie eine Taste von 0 bis 9, oder für zehn die 1 und dann die 0.",
        "voice_resolved": "Drücken Sie 1 für ja oder 2 für nein.",
        "voice_invalid": "Das war leider keine gültige Antwort.",
        "voice_thanks": "Vielen Dank für Ihre Rückmeldung. Auf Wiederhören.",
    },
    "es": {
        "yes": "Sí",
        "no": "No",
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
        "voice_intro": "Por favor, permanezca en línea para una breve encuesta sobre esta llamada.",
        "voice_csat": "Pulse una tecla del 1 al 5. 1 significa nada, 5 significa mucho.",
        "voice_ces": "Pulse una tecla del 1 al 7. 1 significa nada, 7 significa mucho.",
        "voice_nps": "Pulse una tecla del 0 al 9, o para diez pulse 1 y luego 0.",
        "voice_resolved": "Pulse 1 para sí, o 2 para no.",
        "voice_invalid": "Lo sentimos, esa respuesta no es válida.",
        "voice_thanks": "Gracias por su opinión. Adiós.",
    },
    "lv": {
        "yes": "Jā",
        "no": "Nē",
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
        "voice_intro": "Lūdzu, palieciet līnijā īsai aptaujai par šo zvanu.",
        "voice_csat": "Nospiediet taustiņu no 1 līdz 5. 1 nozīmē nemaz, 5 nozīmē ļoti.",
        "voice_ces": "Nospiediet taustiņu no 1 līdz 7. 1 nozīmē nemaz, 7 nozīmē ļoti.",
        "voice_nps": "Nospiediet taustiņu no 0 līdz 9, vai desmit gadījumā nospiediet 1 un tad 0.",
        "voice_resolved": "Nospiediet 1, ja jā, vai 2, ja nē.",
        "voice_invalid": "Diemžēl tā nav derīga atbilde.",
        "voice_thanks": "Paldies par jūsu atsauksmi. Uz redzēšanos.",
    },
}


def language_of(code: str | None) -> str:
    base = (code or "").split("-")[0].lower()
    return base if base in TEXTS else "en"


def text(language: str, key: str) -> str:
    return TEXTS[language_of(language)][key]
