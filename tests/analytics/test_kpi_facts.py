"""Each KPI from a hand-built event sequence, with its exact value (pure: no database)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from kpi_events import T0, Log

from omnidesk.analytics import kpis
from omnidesk.analytics.facts import Sums, fold_contact, to_us
from omnidesk.analytics.processing import QueueRowKey, recompute

SHORT = 5_000_000  # the short-abandon threshold: 5 s


def _fold(log: Log, contact: str = "c1"):  # type: ignore[no-untyped-def]
    events = [e for e in log.events if e.payload.get("contact_id") == contact]
    return fold_contact(contact, events, short_abandon_us=SHORT, threshold=lambda q, s: 20_000_000)


def _total(log: Log, queue: str | None = None) -> Sums:
    total = Sums()
    for key, sums in recompute(log.events, SHORT).queue_rows.items():
        if queue is None or key.queue_id == queue:
            total.add(sums)
    return total


def _interval(offset_seconds: float) -> int:
    return to_us(T0 + timedelta(seconds=offset_seconds))


def test_answered_contact_gives_wait_talk_wrap_and_disposition() -> None:
    log = Log().received(0, "c1").accepted(15, "c1", "a1", 15.0, True)
    log.ended(315, "c1", agent="a1").wrap(315, 375, "c1", "a1", "resolved")
    (visit,) = _fold(log).visits
    assert (visit.outcome, visit.agent_id, visit.disposition) == ("answered", "a1", "resolved")
    assert (visit.wait_us, visit.talk_us, visit.hold_us, visit.wrap_us) == (
        15_000_000,
        300_000_000,
        0,
        60_000_000,
    )
    sums = _total(log)
    assert kpis.service_level(sums, "missed") == 1.0
    assert kpis.asa_seconds(sums) == 15.0
    assert kpis.aht_seconds(sums) == 360.0
    assert kpis.abandon_rate(sums) == 0.0


def test_abandoned_exactly_at_the_short_threshold_is_a_short_abandon() -> None:
    log = Log().received(0, "c1").ended(5, "c1", reason="cancelled")
    log.received(0, "c2").ended(5.000001, "c2", reason="cancelled")
    assert _fold(log, "c1").visits[0].outcome == "short_abandoned"
    assert _fold(log, "c2").visits[0].outcome == "abandoned"
    sums = _total(log)
    assert (sums.offered, sums.abandoned, sums.short_abandoned) == (2, 2, 1)
    assert kpis.abandon_rate(sums) == 0.5


def test_service_level_variants_for_abandons() -> None:
    # One answered in 10 s (within 20 s), one short abandon (3 s), one abandon at 10 s (within
    # the threshold), one abandon at 30 s, one answered at 25 s (late).
    log = Log().received(0, "a").accepted(10, "a", "x", 10.0, True).ended(20, "a", agent="x")
    log.received(0, "s").ended(3, "s", reason="cancelled")
    log.received(0, "e").ended(10, "e", reason="cancelled")
    log.received(0, "l").ended(30, "l", reason="cancelled")
    log.received(0, "b").accepted(25, "b", "y", 25.0, False).ended(40, "b", agent="y")
    sums = _total(log)
    assert (sums.offered, sums.short_abandoned, sums.abandoned, sums.abandoned_in_sl) == (
        5,
        1,
        3,
        1,
    )
    assert kpis.service_level(sums, "missed") == 1 / 4  # 1 / (5 - 1)
    assert kpis.service_level(sums, "met") == 2 / 4  # (1 + 1) / (5 - 1)
    assert kpis.service_level(sums, "ignored") == 1 / 2  # 1 / (5 - 3)
    assert kpis.abandon_rate(sums) == 2 / 5
    assert kpis.asa_seconds(sums) == 17.5


def test_contact_spanning_two_intervals_counts_where_it_arrived() -> None:
    log = Log().received(14 * 60 + 50, "c1").accepted(15 * 60 + 10, "c1", "a1", 20.0, True)
    log.ended(20 * 60, "c1", agent="a1")
    rows = recompute(log.events, SHORT).queue_rows
    assert list(rows) == [QueueRowKey(_interval(0), "q1", "chat", "a1")]
    assert rows[QueueRowKey(_interval(0), "q1", "chat", "a1")].talk_us == 290_000_000


def test_transfer_counts_once_per_queue_and_a_rejected_offer_not_again() -> None:
    log = Log().received(0, "c1")
    log.add("routing.offer_rejected", 5, offer_id="c1#1", contact_id="c1", agent_id="z")
    log.queued(5, "c1", "q1", reason="rejected")
    log.accepted(10, "c1", "a1", 10.0, True)
    log.add("routing.contact_transferred", 70, contact_id="c1", agent_id="a1",
            target_kind="queue", target="q2")  # fmt: skip
    log.add("routing.wrap_up_started", 70, agent_id="a1", contact_id="c1", ends_at=None)
    log.queued(70, "c1", "q2", reason="transfer")
    log.accepted(100, "c1", "b1", 30.0, False, queue="q2")
    log.add("routing.wrap_up_ended", 110, agent_id="a1", contact_id="c1", disposition="moved",
            automatic=False)  # fmt: skip
    log.ended(200, "c1", agent="b1", queue="q2").wrap(200, 230, "c1", "b1", "resolved")
    first, second = _fold(log).visits
    assert (first.queue_id, first.outcome, first.talk_us, first.wrap_us) == (
        "q1",
        "transferred",
        60_000_000,
        40_000_000,
    )
    assert (second.queue_id, second.outcome, second.talk_us, second.wrap_us) == (
        "q2",
        "answered",
        100_000_000,
        30_000_000,
    )
    q1, q2 = _total(log, "q1"), _total(log, "q2")
    assert (q1.offered, q1.answered, q1.transferred, q1.answered_in_sl) == (1, 1, 1, 1)
    assert (q2.offered, q2.answered, q2.transferred, q2.answered_in_sl) == (1, 1, 0, 0)
    assert kpis.aht_seconds(q1) == 100.0 and kpis.aht_seconds(q2) == 130.0


def test_overflow_leaves_one_queue_and_arrives_in_the_next() -> None:
    log = Log().received(0, "c1")
    log.add("routing.contact_overflowed", 60, contact_id="c1", queue_id="q1", reason="max_wait",
            action={"kind": "queue", "queue_id": "q2"})  # fmt: skip
    log.queued(60, "c1", "q2", reason="overflow").ended(90, "c1", reason="cancelled", queue="q2")
    q1, q2 = _total(log, "q1"), _total(log, "q2")
    assert (q1.offered, q1.overflowed, q1.abandoned) == (1, 1, 0)
    assert (q2.offered, q2.abandoned, q2.wait_abandoned_us) == (1, 1, 30_000_000)


def test_wrap_up_extended_counts_until_it_really_ends() -> None:
    log = Log().received(0, "c1").accepted(1, "c1", "a1", 1.0, True).ended(61, "c1", agent="a1")
    log.add("routing.wrap_up_started", 61, agent_id="a1", contact_id="c1", ends_at="x")
    log.add("routing.wrap_up_extended", 100, agent_id="a1", contact_id="c1", ends_at="y")
    log.add("routing.wrap_up_ended", 181, agent_id="a1", contact_id="c1", disposition=None,
            automatic=True)  # fmt: skip
    sums = _total(log)
    assert sums.wrap_us == 120_000_000
    assert kpis.aht_seconds(sums) == 180.0


def test_hold_is_not_talk() -> None:
    log = Log().received(0, "c1", channel="voice").accepted(10, "c1", "a1", 10.0, True)
    log.add("voice.call_state_changed", 70, call_id="k", state="held", contact_id="c1")
    log.add("voice.call_state_changed", 100, call_id="k", state="resumed", contact_id="c1")
    log.ended(130, "c1", agent="a1")
    sums = _total(log)
    assert (sums.talk_us, sums.hold_us) == (90_000_000, 30_000_000)
    assert kpis.aht_seconds(sums) == 120.0


def test_agent_logged_out_mid_contact() -> None:
    # a1 answers, loses its session (the contact goes back to its line), b1 takes it.
    log = Log().state(0, "a1", "available", "offline").received(0, "c1")
    log.accepted(15, "c1", "a1", 15.0, True).state(15, "a1", "busy", "available")
    log.state(195, "a1", "offline", "busy").queued(195, "c1", "q1", reason="agent_disconnected")
    log.accepted(255, "c1", "b1", 255.0, False).ended(375, "c1", agent="b1")
    log.state(600, "a1", "available", "offline")
    (visit,) = _fold(log).visits
    assert (visit.agent_id, visit.wait_us, visit.talk_us) == ("a1", 15_000_000, 300_000_000)
    states = recompute(log.events, SHORT).agent_rows
    a1 = {(k.state, k.reason): us for k, us in states.items() if k.agent_id == "a1"}
    assert a1 == {("available", ""): 15_000_000, ("busy", ""): 180_000_000}
    assert kpis.occupancy({"available": 15_000_000, "busy": 180_000_000}) == 180 / 195


def test_state_time_is_split_exactly_at_interval_boundaries() -> None:
    log = Log().state(600, "a1", "available", "offline").state(1200, "a1", "busy", "available")
    log.state(2100, "a1", "wrap_up", "busy").state(2400, "a1", "away", "wrap_up", "break")
    log.state(2500, "a1", "available", "away")
    rows = recompute(log.events, SHORT).agent_rows
    got = {(k.interval_us, k.state, k.reason): us for k, us in rows.items()}
    minute = 60_000_000
    assert got == {
        (_interval(0), "available", ""): 5 * minute,
        (_interval(900), "available", ""): 5 * minute,
        (_interval(900), "busy", ""): 10 * minute,
        (_interval(1800), "busy", ""): 5 * minute,
        (_interval(1800), "wrap_up", ""): 5 * minute,
        (_interval(1800), "away", "break"): 100_000_000,
    }
    assert kpis.occupancy(
        {"available": 10 * minute, "busy": 15 * minute, "wrap_up": 5 * minute}
    ) == (20 / 30)


def test_waiting_contact_counts_nowhere_yet() -> None:
    log = Log().received(0, "c1")
    assert _fold(log).visits[0].outcome == "waiting"
    assert recompute(log.events, SHORT).queue_rows == {}


@pytest.mark.parametrize(
    ("day", "hours"),
    [(datetime(2026, 3, 29), 23), (datetime(2026, 10, 25), 25), (datetime(2026, 3, 30), 24)],
)
def test_days_in_a_zone_with_dst(day: datetime, hours: int) -> None:
    zone = ZoneInfo("Europe/Berlin")
    start = day.replace(tzinfo=zone)
    edges = kpis.boundaries(start, start + timedelta(days=2), "day", zone)
    assert edges[1] - edges[0] == timedelta(hours=hours)
    assert edges[1].astimezone(zone).hour == 0


def test_hours_on_the_fall_back_day_are_25_intervals() -> None:
    zone = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 10, 25, tzinfo=zone)
    edges = kpis.boundaries(start, datetime(2026, 10, 26, tzinfo=zone), "60m", zone)
    assert len(edges) - 1 == 25
    assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(edges))
    assert edges[0] == datetime(2026, 10, 24, 22, tzinfo=UTC)


def test_the_worked_example_of_the_docs() -> None:
    """docs/kpis.md, "Worked example": the same events, the same figures."""
    log = Log().state(0, "a1", "available", "offline")
    log.received(0, "A").accepted(10, "A", "a1", 10.0, True).state(10, "a1", "busy", "available")
    log.received(60, "B").ended(63, "B", reason="cancelled")
    log.received(120, "C").ended(130, "C", reason="cancelled")
    log.received(180, "D").ended(210, "D", reason="cancelled")
    log.ended(250, "A", agent="a1").state(250, "a1", "wrap_up", "busy")
    log.wrap(250, 310, "A", "a1", "resolved").state(310, "a1", "available", "wrap_up")
    log.received(840, "E", channel="voice").accepted(865, "E", "a2", 25.0, False, channel="voice")
    log.add("voice.call_state_changed", 960, call_id="k", state="held", contact_id="E")
    log.add("voice.call_state_changed", 1020, call_id="k", state="resumed", contact_id="E")
    log.ended(1225, "E", agent="a2").state(900, "a1", "away", "available", "lunch")
    result = recompute(log.events, SHORT)
    assert {k.interval_us for k in result.queue_rows} == {_interval(0)}
    sums = _total(log)
    assert (sums.offered, sums.answered, sums.answered_in_sl) == (5, 2, 1)
    assert (sums.abandoned, sums.short_abandoned, sums.abandoned_in_sl) == (3, 1, 1)
    assert (sums.talk_us, sums.hold_us, sums.wrap_us) == (540_000_000, 60_000_000, 60_000_000)
    assert kpis.service_level(sums, "missed") == 0.25
    assert kpis.service_level(sums, "met") == 0.5
    assert kpis.service_level(sums, "ignored") == 0.5
    assert kpis.asa_seconds(sums) == 17.5
    assert kpis.aht_seconds(sums) == 330.0
    assert kpis.abandon_rate(sums) == 0.4
    a1: dict[str, int] = {}
    for key, us in result.agent_rows.items():
        if key.agent_id == "a1":
            a1[key.state] = a1.get(key.state, 0) + us
    assert a1 == {"available": 600_000_000, "busy": 240_000_000, "wrap_up": 60_000_000}
    assert kpis.occupancy(a1) == 300 / 900
