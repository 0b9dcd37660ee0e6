from __future__ import annotations

import pytest

from omnidesk.channels.voice.ivr.prompts import (
    queue_announcement,
    say_digits,
    say_duration,
    say_number,
)


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
