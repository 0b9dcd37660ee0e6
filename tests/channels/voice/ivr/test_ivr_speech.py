from __future__ import annotations

import pytest

from omnidesk.channels.voice.ivr.languages import is_known_language
from omnidesk.channels.voice.ivr.prompts import (
    queue_announcement,
    say_digits,
    say_duration,
    say_number,
)
from omnidesk.channels.voice.ivr.speech import LANGUAGES


@pytest.mark.parametrize(
    ("n", "en", "de"),
    [
        (0, "zero", "null"),
        (1, "one", "eins"),
        (17, "seventeen", "siebzehn"),
        (21, "twenty-one", "einundzwanzig"),
        (30, "thirty", "dreißig"),
        (101, "one hundred and one", "einhunderteins"),
        (342, "three hundred and forty-two", "dreihundertzweiundvierzig"),
        (1000, "one thousand", "eintausend"),
        (2005, "two thousand and five", "zweitausendfünf"),
        (12345, "twelve thousand three hundred and forty-five",
         "zwölftausenddreihundertfünfundvierzig"),
    ],
)  # fmt: skip
def test_numbers(n: int, en: str, de: str) -> None:
    assert say_number(n, "en") == en
    assert say_number(n, "de-DE") == de


def test_digits_and_errors() -> None:
    assert say_digits("1#0*", "en") == "one hash zero star"
    assert say_digits("+49 30", "de") == "plus vier neun drei null"
    with pytest.raises(ValueError):
        say_number(-1, "en")
    with pytest.raises(ValueError):
        say_number(3, "fr")


@pytest.mark.parametrize(
    ("seconds", "en", "de"),
    [
        (20, "less than a minute", "weniger als eine Minute"),
        (80, "about one minute", "etwa eine Minute"),
        (130, "about two minutes", "etwa zwei Minuten"),
        (3600, "about one hour", "etwa eine Stunde"),
        (3900, "about one hour and five minutes", "etwa eine Stunde und fünf Minuten"),
    ],
)
def test_durations(seconds: float, en: str, de: str) -> None:
    assert say_duration(seconds, "en") == en
    assert say_duration(seconds, "de") == de


def test_queue_announcement() -> None:
    assert queue_announcement(3, 120, "en") == (
        "You are caller number three. The estimated wait is about two minutes."
    )
    assert queue_announcement(1, 45, "de") == (
        "Sie sind Anrufer Nummer eins. Die geschätzte Wartezeit beträgt weniger als eine Minute."
    )
    assert queue_announcement(2, None, "en-GB") == "You are caller number two."


@pytest.mark.parametrize(
    ("n", "es", "lv"),
    [
        (0, "cero", "nulle"),
        (1, "uno", "viens"),
        (11, "once", "vienpadsmit"),
        (16, "dieciséis", "sešpadsmit"),
        (21, "veintiuno", "divdesmit viens"),
        (31, "treinta y uno", "trīsdesmit viens"),
        (200, "doscientos", "divi simti"),
        (342, "trescientos cuarenta y dos", "trīs simti četrdesmit divi"),
        (1000, "mil", "tūkstotis"),
        (2005, "dos mil cinco", "divi tūkstoši pieci"),
        # "uno" shortens before "mil" in Spanish; num2words says "veintiuno mil".
        (21000, "veintiún mil", "divdesmit viens tūkstotis"),
        (12345, "doce mil trescientos cuarenta y cinco",
         "divpadsmit tūkstoši trīs simti četrdesmit pieci"),
    ],
)  # fmt: skip
def test_numbers_in_spanish_and_latvian(n: int, es: str, lv: str) -> None:
    assert say_number(n, "es") == es
    assert say_number(n, "lv-LV") == lv


def test_digits_in_every_language() -> None:
    assert say_digits("+34 1#", "es-MX") == "más tres cuatro uno almohadilla"
    assert say_digits("*20", "lv") == "zvaigznīte divi nulle"
    assert say_digits("+1", "de") == "plus eins"


# Minutes and hours in each language: the singular and plural, and numbers agreeing with the
# noun's gender (German "eine", Spanish "un"/"una"/"veintiún"/"veintiuna", Latvian "viena",
# "divas"). Latvian takes the singular for every number ending in 1 except 11 (21, 31, 101).
@pytest.mark.parametrize(
    ("minutes", "en", "de", "es", "lv"),
    [
        (1, "one minute", "eine Minute", "un minuto", "viena minūte"),
        (2, "two minutes", "zwei Minuten", "dos minutos", "divas minūtes"),
        (3, "three minutes", "drei Minuten", "tres minutos", "trīs minūtes"),
        (4, "four minutes", "vier Minuten", "cuatro minutos", "četras minūtes"),
        (10, "ten minutes", "zehn Minuten", "diez minutos", "desmit minūtes"),
        (11, "eleven minutes", "elf Minuten", "once minutos", "vienpadsmit minūtes"),
        (21, "twenty-one minutes", "einundzwanzig Minuten", "veintiún minutos",
         "divdesmit viena minūte"),
        (22, "twenty-two minutes", "zweiundzwanzig Minuten", "veintidós minutos",
         "divdesmit divas minūtes"),
        (31, "thirty-one minutes", "einunddreißig Minuten", "treinta y un minutos",
         "trīsdesmit viena minūte"),
        (59, "fifty-nine minutes", "neunundfünfzig Minuten", "cincuenta y nueve minutos",
         "piecdesmit deviņas minūtes"),
    ],
)  # fmt: skip
def test_minutes_agree_in_every_language(minutes: int, en: str, de: str, es: str, lv: str) -> None:
    seconds = minutes * 60
    assert say_duration(seconds, "en") == f"about {en}"
    assert say_duration(seconds, "de") == f"etwa {de}"
    assert say_duration(seconds, "es") == f"aproximadamente {es}"
    assert say_duration(seconds, "lv") == f"aptuveni {lv}"


@pytest.mark.parametrize(
    ("hours", "es", "lv"),
    [
        (1, "una hora", "viena stunda"),
        (2, "dos horas", "divas stundas"),
        (11, "once horas", "vienpadsmit stundas"),
        (21, "veintiuna horas", "divdesmit viena stunda"),
        (101, "ciento una horas", "simtu viena stunda"),
        (111, "ciento once horas", "simts vienpadsmit stundas"),
        (200, "doscientas horas", "divi simti stundas"),
    ],
)
def test_hours_agree_in_spanish_and_latvian(hours: int, es: str, lv: str) -> None:
    assert say_duration(hours * 3600, "es") == f"aproximadamente {es}"
    assert say_duration(hours * 3600, "lv") == f"aptuveni {lv}"


def test_durations_join_hours_and_minutes_in_every_language() -> None:
    seconds = 3600 + 21 * 60
    assert say_duration(seconds, "en") == "about one hour and twenty-one minutes"
    assert say_duration(seconds, "de") == "etwa eine Stunde und einundzwanzig Minuten"
    assert say_duration(seconds, "es") == "aproximadamente una hora y veintiún minutos"
    assert say_duration(seconds, "lv") == "aptuveni viena stunda un divdesmit viena minūte"
    assert say_duration(30, "es") == "menos de un minuto"
    assert say_duration(59, "lv") == "mazāk par minūti"


def test_queue_announcement_in_spanish_and_latvian() -> None:
    assert queue_announcement(21, 60, "es-ES") == (
        "Usted ocupa el lugar número veintiuno en la cola. "
        "El tiempo de espera estimado es de aproximadamente un minuto."
    )
    assert queue_announcement(3, 1260, "lv") == (
        "Jūsu numurs rindā ir trīs. "
        "Paredzamais gaidīšanas laiks ir aptuveni divdesmit viena minūte."
    )
    assert queue_announcement(1, None, "lv") == "Jūsu numurs rindā ir viens."


def test_every_language_with_words_has_a_voice() -> None:
    # A flow in one of these languages passes validation and is spoken.
    assert {"en", "de", "es", "lv"} <= LANGUAGES
    for language in LANGUAGES:
        assert is_known_language(language)
        assert queue_announcement(2, 120, language)
