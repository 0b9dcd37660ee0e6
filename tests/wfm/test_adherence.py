"""Adherence and conformance against hand-computed timelines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from omnidesk.wfm.scheduling import (
    AdherenceInputError,
    ScheduledBreak,
    ScheduledShift,
    StateChange,
    adherence,
    scheduled_spans,
)


def t(hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(2026, 3, 23, hh, mm, ss, tzinfo=UTC)


SHIFT = ScheduledShift("day", t(8), t(16), (ScheduledBreak(t(12), t(12, 30), False),), 450)
PLAN = scheduled_spans([SHIFT])


def test_schedule_becomes_working_and_break_spans() -> None:
    assert [(s.start, s.end, s.activity) for s in PLAN] == [
        (t(8), t(12), "working"),
        (t(12), t(12, 30), "break"),
        (t(12, 30), t(16), "working"),
    ]


def test_a_day_with_training_a_late_break_a_late_return_and_an_early_log_off() -> None:
    changes = [
        StateChange(t(7, 55), "available"),
        StateChange(t(10), "away", "training"),  # 20 min away from work: out
        StateChange(t(10, 20), "available"),
        StateChange(t(12, 0, 30), "away", "break"),  # 30 s into the break still working: grace
        StateChange(t(12, 35), "available"),  # 5 min late back
        StateChange(t(15, 50), "offline"),  # 10 min early
    ]
    report = adherence(PLAN, changes, t(8), t(16))
    assert report.scheduled == timedelta(hours=8)
    assert report.raw_in_adherence == timedelta(seconds=28800 - 1200 - 30 - 300 - 600)
    assert report.in_adherence == timedelta(seconds=26700)
    assert report.adherence == pytest.approx(26700 / 28800, abs=0)
    assert report.raw_adherence == 26670 / 28800
    assert report.scheduled_work == timedelta(hours=7, minutes=30)
    assert report.worked == timedelta(seconds=7200 + 6030 + 11700)
    assert report.conformance == 24930 / 27000
    spans = [(s.start, s.end, s.pieces[0].scheduled, s.pieces[0].actual) for s in report.spans]
    assert spans == [
        (t(10), t(10, 20), "working", "away"),
        (t(12, 30), t(12, 35), "working", "break"),
        (t(15, 50), t(16), "working", "off"),
    ]
    assert report.spans[0].pieces[0].reason == "training"
    assert [s.seconds for s in report.spans] == [1200, 300, 600]


def test_grace_forgives_up_to_and_including_its_length() -> None:
    def late_by(seconds: int) -> float | None:
        changes = [StateChange(t(8) + timedelta(seconds=seconds), "available")]
        report = adherence(PLAN[:1], changes, t(8), t(12))
        return report.adherence

    assert late_by(60) == 1.0
    assert late_by(61) == (4 * 3600 - 61) / (4 * 3600)


def test_adjacent_mismatches_form_one_span_for_the_grace() -> None:
    # Offline from 11:59:30 to 12:00:30: 30 s of work and 30 s of break missed, one 60 s span.
    changes = [
        StateChange(t(8), "busy"),
        StateChange(t(11, 59, 30), "offline"),
        StateChange(t(12, 0, 30), "away", "lunch"),
        StateChange(t(12, 30), "wrap_up"),
    ]
    assert adherence(PLAN, changes, t(8), t(16)).spans == ()
    strict = adherence(PLAN, changes, t(8), t(16), grace=timedelta(seconds=59))
    [span] = strict.spans
    assert (span.start, span.end, span.seconds) == (t(11, 59, 30), t(12, 0, 30), 60)
    assert [(p.scheduled, p.actual) for p in span.pieces] == [("working", "off"), ("break", "off")]
    assert strict.adherence == (28800 - 60) / 28800


def test_time_scheduled_off_counts_for_conformance_not_adherence() -> None:
    changes = [StateChange(t(6), "available"), StateChange(t(18), "offline")]
    report = adherence(PLAN, changes, t(6), t(18))
    assert report.scheduled == timedelta(hours=8)
    # Working through the break is out of adherence for its 30 minutes.
    assert report.adherence == (8 * 3600 - 1800) / (8 * 3600)
    assert report.worked == timedelta(hours=12)
    assert report.conformance == 12 / 7.5


def test_state_before_the_window_and_no_events_at_all() -> None:
    before = [StateChange(t(7), "available"), StateChange(t(7, 30), "away", "Break")]
    report = adherence(PLAN, before, t(12), t(12, 30))
    assert report.adherence == 1.0  # reasons match case-insensitively
    nothing = adherence(PLAN, [], t(8), t(9))
    assert nothing.adherence == 0.0 and nothing.conformance == 0.0
    assert nothing.spans[0].pieces[0].state == "offline"
    off_day = adherence(PLAN, [], t(17), t(18))
    assert off_day.adherence is None and off_day.conformance is None


def test_other_offsets_and_custom_break_reasons() -> None:
    plus2 = timezone(timedelta(hours=2))
    changes = [StateChange(datetime(2026, 3, 23, 14, 0, tzinfo=plus2), "away", "prayer")]
    report = adherence(PLAN[1:2], changes, t(12), t(12, 30), break_reasons=frozenset({"Prayer"}))
    assert report.adherence == 1.0
    assert adherence(PLAN[1:2], changes, t(12), t(12, 30)).adherence == 0.0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"start": t(9), "end": t(9)}, "end"),
        ({"start": datetime(2026, 3, 23, 8), "end": t(9)}, "start"),
        ({"changes": [StateChange(t(8), "dancing")]}, "changes.0.state"),
        ({"changes": [StateChange(datetime(2026, 3, 23, 8), "busy")]}, "changes.0.at"),
        ({"grace": timedelta(seconds=-1)}, "grace"),
    ],
)
def test_bad_input_names_the_field(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"changes": [], "start": t(8), "end": t(16)}
    args.update(kwargs)
    grace = args.pop("grace", timedelta(seconds=60))
    with pytest.raises(AdherenceInputError) as caught:
        adherence(PLAN, args["changes"], args["start"], args["end"], grace=grace)  # type: ignore[arg-type]
    assert caught.value.field == field
