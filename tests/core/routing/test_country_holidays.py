"""A queue's hours name a country (and subdivision) whose public holidays close it, from the
`holidays` package's calendars, checked by the engine with its injected clock: 6 January 2025
(a Monday) is Epiphany in Bavaria but a working day in Germany as a whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omnidesk.core.routing import (
    AddQueue,
    ContactArrived,
    Engine,
    Hours,
    InvalidDefinition,
    OverflowAction,
    OverflowKind,
    QueueDef,
    Tick,
)
from omnidesk.core.routing.hours import is_open, next_closing

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)  # Monday 10:00 in Berlin, Epiphany in Bavaria
WEEKDAYS_8_18 = {day: (("08:00", "18:00"),) for day in ("mon", "tue", "wed", "thu", "fri")}


def hours(country: str | None, subdivision: str | None = None, **extra: Any) -> Hours:
    return Hours(
        "Europe/Berlin",
        WEEKDAYS_8_18,
        holiday_country=country,
        holiday_subdivision=subdivision,
        **extra,
    )


def test_a_subdivisions_holiday_closes_only_its_queues() -> None:
    assert is_open(hours("DE"), T0)
    assert not is_open(hours("DE", "BY"), T0)
    assert is_open(hours("DE", "BY"), T0 + timedelta(days=1))
    # National holidays close every subdivision, with the listed dates on top.
    new_year = datetime(2025, 1, 1, 10, tzinfo=UTC)
    assert not is_open(hours("DE"), new_year)
    assert not is_open(hours("DE", "BE", holidays=("2025-01-07",)), T0 + timedelta(days=1))
    assert is_open(hours(None), T0)


def test_the_holiday_is_a_local_day() -> None:
    # 23:30 UTC on 5 January is already the 6th in Berlin.
    late = datetime(2025, 1, 5, 23, 30, tzinfo=UTC)
    night = Hours(
        "Europe/Berlin",
        {"mon": (("00:00", "06:00"),)},
        holiday_country="DE",
        holiday_subdivision="BY",
    )
    assert not is_open(night, late)
    assert is_open(Hours("Europe/Berlin", {"mon": (("00:00", "06:00"),)}), late)


def test_waiting_contacts_overflow_when_a_country_holiday_begins() -> None:
    # Friday 3 January 2025 at 17:00 Berlin; the queue is open on Monday 6 January too, unless
    # Bavaria's Epiphany closes it: the next closing is Friday 18:00 either way, and the next
    # opening is Monday 08:00 or Tuesday 08:00.
    friday = datetime(2025, 1, 3, 16, tzinfo=UTC)
    us = int(friday.timestamp() * 1_000_000)
    assert next_closing(hours("DE", "BY"), us) == int(
        datetime(2025, 1, 3, 17, tzinfo=UTC).timestamp() * 1_000_000
    )


def test_the_engine_closes_the_queue_on_the_holiday_with_its_clock() -> None:
    engine = Engine()
    engine.handle(AddQueue(QueueDef(id="night", channels=("voice",))), T0)
    engine.handle(
        AddQueue(
            QueueDef(
                id="by",
                channels=("voice",),
                hours=hours("DE", "BY"),
                on_closed=OverflowAction(OverflowKind.QUEUE, queue_id="night"),
            )
        ),
        T0,
    )
    events = [e.to_dict() for e in engine.handle(ContactArrived("c1", "by", "voice"), T0)]
    assert [e["type"] for e in events] == [
        "routing.contact_received",
        "routing.contact_overflowed",
        "routing.contact_queued",
    ]
    assert events[1]["reason"] == "closed" and events[2]["queue_id"] == "night"
    tuesday = T0 + timedelta(days=1)
    engine.handle(Tick(), tuesday)
    events = [e.to_dict() for e in engine.handle(ContactArrived("c2", "by", "voice"), tuesday)]
    assert [e["type"] for e in events] == ["routing.contact_received", "routing.contact_queued"]
    assert events[1]["queue_id"] == "by"


@pytest.mark.parametrize(
    ("country", "subdivision", "field"),
    [
        ("XX", None, "queue.hours.holiday_country"),
        ("DE", "ZZ", "queue.hours.holiday_subdivision"),
        (None, "BY", "queue.hours.holiday_subdivision"),
    ],
)
def test_an_unknown_calendar_is_refused_on_its_field(
    country: str | None, subdivision: str | None, field: str
) -> None:
    queue = QueueDef(
        id="q",
        channels=("voice",),
        hours=hours(country, subdivision),
        on_closed=OverflowAction(OverflowKind.DISCONNECT),
    )
    with pytest.raises(InvalidDefinition) as caught:
        Engine().handle(AddQueue(queue), T0)
    assert caught.value.details.get("field") == field


def test_the_calendar_round_trips_through_json() -> None:
    queue = QueueDef(
        id="q",
        channels=("voice",),
        hours=hours("DE", "BY"),
        on_closed=OverflowAction(OverflowKind.DISCONNECT),
    )
    assert QueueDef.from_dict(queue.to_dict()) == queue
