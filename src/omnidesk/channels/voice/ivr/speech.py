"""Words for numbers, digit strings and durations, and the queue announcement, in English and
German. Pure text: the renderer speaks it. Numbers are written out so the announcement sounds
the same whatever the speech engine does with numerals ("eine Minute", not "1 Minute")."""

from __future__ import annotations

_EN_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_EN_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_DE_ONES = [
    "null",
    "eins",
    "zwei",
    "drei",
    "vier",
    "fünf",
    "sechs",
    "sieben",
    "acht",
    "neun",
    "zehn",
    "elf",
    "zwölf",
    "dreizehn",
    "vierzehn",
    "fünfzehn",
    "sechzehn",
    "siebzehn",
    "achtzehn",
    "neunzehn",
]
_DE_TENS = [
    "_",
    "_",
    "zwanzig",
    "dreißig",
    "vierzig",
    "fünfzig",
    "sechzig",
    "siebzig",
    "achtzig",
    "neunzig",
]
_DIGIT_NAMES = {
    "en": {"*": "star", "#": "hash"},
    "de": {"*": "Stern", "#": "Raute"},
}
MAX_NUMBER = 999_999


def _lang(language: str) -> str:
    primary = language.lower().replace("_", "-").split("-", 1)[0]
    if primary not in ("en", "de"):
        raise ValueError(f"no number words for language {language!r} (en, de)")
    return primary


def _en(n: int) -> str:
    if n < 20:
        return _EN_ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _EN_TENS[tens] + (f"-{_EN_ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_EN_ONES[hundreds]} hundred" + (f" and {_en(rest)}" if rest else "")
    thousands, rest = divmod(n, 1000)
    tail = "" if not rest else (f" and {_en(rest)}" if rest < 100 else f" {_en(rest)}")
    return f"{_en(thousands)} thousand{tail}"


def _de(n: int) -> str:
    if n < 20:
        return _DE_ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        if not ones:
            return _DE_TENS[tens]
        # 21 is "einundzwanzig": the unit comes first and "eins" loses its s.
        unit = "ein" if ones == 1 else _DE_ONES[ones]
        return f"{unit}und{_DE_TENS[tens]}"
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        head = "ein" if hundreds == 1 else _DE_ONES[hundreds]
        return f"{head}hundert" + (_de(rest) if rest else "")
    thousands, rest = divmod(n, 1000)
    head = "ein" if thousands == 1 else _de(thousands)
    return f"{head}tausend" + (_de(rest) if rest else "")


def say_number(n: int, language: str) -> str:
    if not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"{n} is outside 0..{MAX_NUMBER}")
    return _en(n) if _lang(language) == "en" else _de(n)


def say_digits(digits: str, language: str) -> str:
    """Digit by digit, as one reads back a postcode or a phone number."""
    lang = _lang(language)
    ones = _EN_ONES if lang == "en" else _DE_ONES
    words = []
    for char in digits:
        if char.isdigit():
            words.append(ones[int(char)])
        elif char in _DIGIT_NAMES[lang]:
            words.append(_DIGIT_NAMES[lang][char])
        elif char == "+":
            words.append("plus")
    return " ".join(words)


def say_duration(seconds: float, language: str) -> str:
    """A rounded wait: "less than a minute", "about 2 minutes", "about 1 hour and 5 minutes"."""
    lang = _lang(language)
    minutes = max(0, round(seconds / 60))
    if seconds < 60:
        return "less than a minute" if lang == "en" else "weniger als eine Minute"
    hours, minutes = divmod(minutes, 60)
    parts = []
    if lang == "en":
        if hours:
            parts.append("one hour" if hours == 1 else f"{_en(hours)} hours")
        if minutes:
            parts.append("one minute" if minutes == 1 else f"{_en(minutes)} minutes")
        return "about " + " and ".join(parts)
    if hours:
        parts.append("eine Stunde" if hours == 1 else f"{_de(hours)} Stunden")
    if minutes:
        parts.append("eine Minute" if minutes == 1 else f"{_de(minutes)} Minuten")
    return "etwa " + " und ".join(parts)


def queue_announcement(position: int, wait_seconds: float | None, language: str) -> str:
    """ "You are caller number three. The estimated wait is about 2 minutes." """
    lang = _lang(language)
    number = say_number(position, lang)
    if lang == "en":
        text = f"You are caller number {number}."
        if wait_seconds is not None:
            text += f" The estimated wait is {say_duration(wait_seconds, lang)}."
        return text
    text = f"Sie sind Anrufer Nummer {number}."
    if wait_seconds is not None:
        text += f" Die geschätzte Wartezeit beträgt {say_duration(wait_seconds, lang)}."
    return text
