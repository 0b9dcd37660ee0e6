"""Words for numbers, digit strings and durations, and the queue announcement, in English,
German, Spanish and Latvian. Pure text: the renderer speaks it. Numbers are written out (by
num2words) so the announcement sounds the same whatever the speech engine does with numerals
("eine Minute", not "1 Minute"), and a number agrees with the noun it counts: its gender
("una hora", "divas minūtes") and the noun's plural form ("21 minūte" in Latvian, whose
singular goes with every number ending in 1 except 11).

The caller's place in line is said as "number N" (a cardinal), which needs no agreement with
the caller in any of these languages, unlike an ordinal ("der dritte", "la tercera").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from num2words import num2words

MAX_NUMBER = 999_999


@dataclass(frozen=True)
class _Noun:
    one: str
    other: str
    feminine: bool


@dataclass(frozen=True)
class _Language:
    caller: str  # the caller's place: "{number}" is a cardinal
    wait: str  # the estimated wait: "{duration}" is what say_duration gives
    under_a_minute: str
    about: str
    joiner: str  # between hours and minutes
    minute: _Noun
    hour: _Noun
    symbols: Mapping[str, str]  # how "*", "#" and "+" are read
    singular: Callable[[int], bool]  # which counts take the noun's singular
    # The words of a number as they stand before a noun (feminine or not): "one" → "eine".
    before_noun: Callable[[str, int, bool], str]
    # Corrections to num2words' own words for a number said on its own.
    alone: Callable[[str], str] = lambda words: words


def _one_is_singular(n: int) -> bool:
    return n == 1


def _lv_singular(n: int) -> bool:
    return n % 10 == 1 and n % 100 != 11


def _as_is(words: str, n: int, feminine: bool) -> str:
    return words


def _de_before_noun(words: str, n: int, feminine: bool) -> str:
    # Only a lone 1 declines ("eine Minute"); "einundzwanzig Minuten" does not.
    if n == 1:
        return "eine" if feminine else "ein"
    return words


# Spanish "uno" shortens before a masculine noun and before "mil" ("un minuto", "veintiún mil")
# and is "una" before a feminine one, where the hundreds agree too ("doscientas horas").
_ES_SHORT = {"uno": "un", "veintiuno": "veintiún"}
_ES_FEMININE = {"uno": "una", "veintiuno": "veintiuna"}


def _es_alone(words: str) -> str:
    tokens = words.split()
    for i, token in enumerate(tokens[:-1]):
        if tokens[i + 1] == "mil":
            tokens[i] = _ES_SHORT.get(token, token)
    return " ".join(tokens)


def _es_before_noun(words: str, n: int, feminine: bool) -> str:
    tokens = words.split()
    if feminine:
        forms = _ES_FEMININE
        tokens = [t[: -len("cientos")] + "cientas" if t.endswith("cientos") else t for t in tokens]
    else:
        forms = _ES_SHORT
    tokens[-1] = forms.get(tokens[-1], tokens[-1])
    return " ".join(tokens)


# Latvian numbers 1-9 (alone or ending a larger one) agree with a feminine noun.
_LV_FEMININE = {
    "viens": "viena",
    "divi": "divas",
    "četri": "četras",
    "pieci": "piecas",
    "seši": "sešas",
    "septiņi": "septiņas",
    "astoņi": "astoņas",
    "deviņi": "deviņas",
}


def _lv_before_noun(words: str, n: int, feminine: bool) -> str:
    if not feminine:
        return words
    head, _, last = words.rpartition(" ")
    return f"{head} {_LV_FEMININE.get(last, last)}".lstrip()


_LANGUAGES: dict[str, _Language] = {
    "en": _Language(
        caller="You are caller number {number}.",
        wait="The estimated wait is {duration}.",
        under_a_minute="less than a minute",
        about="about {duration}",
        joiner=" and ",
        minute=_Noun("minute", "minutes", feminine=False),
        hour=_Noun("hour", "hours", feminine=False),
        symbols={"*": "star", "#": "hash", "+": "plus"},
        singular=_one_is_singular,
        before_noun=_as_is,
    ),
    "de": _Language(
        caller="Sie sind Anrufer Nummer {number}.",
        wait="Die geschätzte Wartezeit beträgt {duration}.",
        under_a_minute="weniger als eine Minute",
        about="etwa {duration}",
        joiner=" und ",
        minute=_Noun("Minute", "Minuten", feminine=True),
        hour=_Noun("Stunde", "Stunden", feminine=True),
        symbols={"*": "Stern", "#": "Raute", "+": "plus"},
        singular=_one_is_singular,
        before_noun=_de_before_noun,
    ),
    "es": _Language(
        caller="Usted ocupa el lugar número {number} en la cola.",
        wait="El tiempo de espera estimado es de {duration}.",
        under_a_minute="menos de un minuto",
        about="aproximadamente {duration}",
        joiner=" y ",
        minute=_Noun("minuto", "minutos", feminine=False),
        hour=_Noun("hora", "horas", feminine=True),
        symbols={"*": "asterisco", "#": "almohadilla", "+": "más"},
        singular=_one_is_singular,
        before_noun=_es_before_noun,
        alone=_es_alone,
    ),
    "lv": _Language(
        caller="Jūsu numurs rindā ir {number}.",
        wait="Paredzamais gaidīšanas laiks ir {duration}.",
        under_a_minute="mazāk par minūti",
        about="aptuveni {duration}",
        joiner=" un ",
        minute=_Noun("minūte", "minūtes", feminine=True),
        hour=_Noun("stunda", "stundas", feminine=True),
        symbols={"*": "zvaigznīte", "#": "restīte", "+": "plus"},
        singular=_lv_singular,
        before_noun=_lv_before_noun,
    ),
}
LANGUAGES = frozenset(_LANGUAGES)


def _lang(language: str) -> str:
    primary = language.lower().replace("_", "-").split("-", 1)[0]
    if primary not in _LANGUAGES:
        known = ", ".join(sorted(_LANGUAGES))
        raise ValueError(f"no number words for language {language!r} ({known})")
    return primary


def _words(n: int, lang: str) -> str:
    # num2words groups English thousands with a comma ("twelve thousand, three hundred"),
    # which a speech engine reads as a pause inside the number.
    return str(num2words(n, lang=lang)).replace(",", "")


def say_number(n: int, language: str) -> str:
    if not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"{n} is outside 0..{MAX_NUMBER}")
    lang = _lang(language)
    return _LANGUAGES[lang].alone(_words(n, lang))


def _count(n: int, noun: _Noun, lang: str) -> str:
    """A number with the noun it counts, both in the right form: "two minutes"."""
    spec = _LANGUAGES[lang]
    words = spec.before_noun(_words(n, lang), n, noun.feminine)
    return f"{words} {noun.one if spec.singular(n) else noun.other}"


def say_digits(digits: str, language: str) -> str:
    """Digit by digit, as one reads back a postcode or a phone number."""
    lang = _lang(language)
    symbols = _LANGUAGES[lang].symbols
    words = []
    for char in digits:
        if char.isdigit():
            words.append(_words(int(char), lang))
        elif char in symbols:
            words.append(symbols[char])
    return " ".join(words)


def say_duration(seconds: float, language: str) -> str:
    """A rounded wait: "less than a minute", "about 2 minutes", "about 1 hour and 5 minutes"."""
    lang = _lang(language)
    spec = _LANGUAGES[lang]
    if seconds < 60:
        return spec.under_a_minute
    hours, minutes = divmod(max(0, round(seconds / 60)), 60)
    parts = []
    if hours:
        parts.append(_count(hours, spec.hour, lang))
    if minutes:
        parts.append(_count(minutes, spec.minute, lang))
    return spec.about.format(duration=spec.joiner.join(parts))


def queue_announcement(position: int, wait_seconds: float | None, language: str) -> str:
    """ "You are caller number three. The estimated wait is about two minutes." """
    lang = _lang(language)
    spec = _LANGUAGES[lang]
    text = spec.caller.format(number=say_number(position, lang))
    if wait_seconds is not None:
        text += " " + spec.wait.format(duration=say_duration(wait_seconds, lang))
    return text
