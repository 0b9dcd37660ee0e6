"""Team and disposition rollups from a hand-built log: exact figures per team (membership
when the agent accepted, a transfer between agents of two teams) and per disposition (one
given after the transfer moved the visit, none given), the same one event a batch, replayed,
and rebuilt; and their reports through the service (both databases)."""

from __future__ import annotations

import uuid

from kpi_db import append, dimension_rollups, new_tenant
from kpi_events import T0, Log

from omnidesk.analytics import dimensions, ingester
from omnidesk.analytics.facts import LogEvent, Sums, to_us
from omnidesk.analytics.processing import DispositionRowKey, TeamRowKey, recompute
from omnidesk.platform.database import Database

S = 1_000_000
SHORT = 5 * S
AT = to_us(T0)  # every contact arrives in the 10:00 interval


def _log() -> Log:
    log = Log().member_set(0, "t1", "a1").member_set(0, "t2", "a2")
    log.member_set(0, "t2", "a2", "supervisor")  # a role change: the same teams
    # A: answered by a1 (team t1) in q1, transferred to q2 where a2 (team t2) answers; a1's
    # wrap-up ends after the transfer with "moved", a2's with "resolved".
    log.received(0, "A").accepted(10, "A", "a1", 10.0, True)
    log.add("routing.wrap_up_started", 70, agent_id="a1", contact_id="A", ends_at=None)
    log.queued(70, "A", "q2", reason="transfer").accepted(80, "A", "a2", 10.0, True, "q2")
    log.add("routing.wrap_up_ended", 100, agent_id="a1", contact_id="A", disposition="moved",
            automatic=False)  # fmt: skip
    log.ended(200, "A", agent="a2", queue="q2").wrap(200, 230, "A", "a2", "resolved")
    # B: answered by a2, no wrap-up: no disposition.
    log.received(300, "B").accepted(305, "B", "a2", 5.0, True).ended(400, "B", agent="a2")
    # C: abandoned: no team, no disposition.
    log.received(500, "C").ended(530, "C", "cancelled")
    # a2 moves from t2 to t1; then D, answered by a2, counts for t1.
    log.member_removed(600, "t2", "a2").member_set(600, "t1", "a2")
    log.received(610, "D").accepted(620, "D", "a2", 10.0, True).ended(700, "D", agent="a2")
    log.wrap(700, 760, "D", "a2", "sale")
    # The team t2 is deleted later: figures already counted stay.
    return log.team_deleted(800, "t2")


def _nonzero(rows: dict) -> dict:  # type: ignore[type-arg]
    return {k: v for k, v in rows.items() if v != Sums()}


EXPECTED_TEAMS = {
    # v1 of A (a1) + D (a2, in t1 since 600 s)
    TeamRowKey(AT, "t1"): Sums(
        offered=2, answered=2, answered_in_sl=2, transferred=1, wait_answered_us=20 * S,
        talk_us=140 * S, wrap_us=90 * S,
    ),
    # v2 of A (a2) + B (a2)
    TeamRowKey(AT, "t2"): Sums(
        offered=2, answered=2, answered_in_sl=2, wait_answered_us=15 * S, talk_us=215 * S,
        wrap_us=30 * S,
    ),
}  # fmt: skip
EXPECTED_DISPOSITIONS = {
    DispositionRowKey(AT, "q1", "chat", "moved"): Sums(answered=1, talk_us=60 * S, wrap_us=30 * S),
    DispositionRowKey(AT, "q2", "chat", "resolved"): Sums(
        answered=1, talk_us=120 * S, wrap_us=30 * S
    ),
    DispositionRowKey(AT, "q1", "chat", ""): Sums(answered=1, talk_us=95 * S),
    DispositionRowKey(AT, "q1", "chat", "sale"): Sums(answered=1, talk_us=80 * S, wrap_us=60 * S),
}


def test_exact_figures_per_team_and_disposition() -> None:
    result = recompute(_log().events, SHORT)
    assert _nonzero(result.team_rows) == EXPECTED_TEAMS
    assert _nonzero(result.disposition_rows) == EXPECTED_DISPOSITIONS
    # A's first visit was counted without a disposition when it left q1, and moved to
    # "moved" when a1's wrap-up ended: the row it left is exactly zero.
    assert result.disposition_rows[DispositionRowKey(AT, "q1", "chat", "")] == Sums(
        answered=1, talk_us=95 * S
    )
    # Per queue, the dispositions add up to the queue's handled, talk and wrap-up.
    for queue in ("q1", "q2"):
        handled = Sums()
        for key, sums in result.disposition_rows.items():
            if key.queue_id == queue:
                handled.add(sums)
        queue_sums = Sums()
        for key, sums in result.queue_rows.items():
            if key.queue_id == queue:
                queue_sums.add(sums)
        assert (handled.answered, handled.talk_us, handled.wrap_us) == (
            queue_sums.answered,
            queue_sums.talk_us,
            queue_sums.wrap_us,
        )


async def _apply(db: Database, tenant_id: uuid.UUID, batch: list[LogEvent]) -> int:
    session = db.session(tenant_id)
    try:
        async with session.begin():
            return await ingester.apply_batch(session, tenant_id, batch)
    finally:
        await session.close()


async def test_one_event_a_batch_replayed_and_rebuilt_gives_the_same_rows(db: Database) -> None:
    tenant_id = await new_tenant(db)
    events = _log().events
    await append(db, tenant_id, events)
    for n, event in enumerate(events):
        await _apply(db, tenant_id, [event])
        await _apply(db, tenant_id, events[: n + 1])  # delivered again: nothing changes
    expected = recompute(events, SHORT)
    for _ in range(2):  # incremental, then `kpis rebuild`
        teams, dispositions = await dimension_rollups(db, tenant_id)
        assert teams == expected.team_rows and _nonzero(teams) == EXPECTED_TEAMS
        assert dispositions == expected.disposition_rows
        assert _nonzero(dispositions) == EXPECTED_DISPOSITIONS
        await ingester.rebuild(db, tenant_id, batch=3)


async def test_the_reports(db: Database) -> None:
    tenant_id = await new_tenant(db)
    await append(db, tenant_id, _log().events)
    await ingester.catch_up(db, tenant_id)
    session = db.session(tenant_id)
    try:
        day = {"start": T0.replace(hour=0), "end": T0.replace(hour=0).replace(day=3)}
        teams = await dimensions.team_report(
            session, tenant_id, **day, interval="day", team_id=None
        )
        by_id = {t.team_id: t.total for t in teams.teams}
        assert set(by_id) == {"t1", "t2"}  # deleted teams keep their history
        assert by_id["t1"].sums.handled == 2 and by_id["t1"].sums.transferred == 1
        assert by_id["t1"].kpis.aht_seconds == (140 + 90) / 2
        assert by_id["t1"].kpis.asa_seconds == 10.0
        assert by_id["t2"].kpis.aht_seconds == (215 + 30) / 2
        assert by_id["t2"].kpis.asa_seconds == 7.5
        assert [t.name for t in teams.teams] == [None, None]  # not in the directory
        only = await dimensions.team_report(
            session, tenant_id, **day, interval="60m", team_id="t2", teams={"t2"}
        )
        assert [t.team_id for t in only.teams] == ["t2"] and len(only.teams[0].intervals) == 24
        assert sum(i.sums.handled for i in only.teams[0].intervals) == 2

        report = await dimensions.disposition_report(
            session, tenant_id, **day, interval="day", queue_id=None
        )
        totals = {d.disposition: d.total for d in report.dispositions}
        assert list(totals) == ["moved", "resolved", "sale", None]  # none last
        assert {k: (v.sums.handled, v.kpis.aht_seconds) for k, v in totals.items()} == {
            "moved": (1, 90.0),
            "resolved": (1, 150.0),
            "sale": (1, 140.0),
            None: (1, 95.0),
        }
        assert report.total.sums.handled == 4
        assert report.total.sums.handle_seconds == 355 + 120  # talk + wrap-up
        q2 = await dimensions.disposition_report(
            session, tenant_id, **day, interval="day", queue_id="q2", queues={"q2"}
        )
        assert [d.disposition for d in q2.dispositions] == ["resolved"]
        # A range without data: zeros and null KPIs, no error.
        later = {"start": day["end"], "end": day["end"].replace(day=4)}
        empty = await dimensions.disposition_report(
            session, tenant_id, **later, interval="day", queue_id=None
        )
        assert empty.dispositions == [] and empty.total.sums.handled == 0
        assert empty.total.kpis.aht_seconds is None
        none = await dimensions.team_report(
            session, tenant_id, **later, interval="day", team_id="t1"
        )
        assert (
            none.teams[0].total.sums.handled == 0 and none.teams[0].total.kpis.aht_seconds is None
        )
    finally:
        await session.close()
