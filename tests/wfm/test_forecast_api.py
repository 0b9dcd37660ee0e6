"""Forecasting over HTTP on both databases: history from the event log, forecasts from it and
from CSV, reforecast, staffing, events and audit, bad input, roles and tenant isolation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from omnidesk.platform import eventlog
from omnidesk.platform.database import SYSTEM
from omnidesk.platform.eventlog import EventRecord
from omnidesk.platform.tenancy import tenant_by_slug
from omnidesk.wfm.staffing import staff
from spine_checks import assert_problem, events_of

START = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday
HOURS = range(8, 18)
FORECASTS = "/api/v1/wfm/forecasts"
AUDIENCE = {"users": [], "teams": [], "scope_change_for": []}


def pattern(day: int, hour: int) -> int:
    """Contacts of q1/chat in an hour: weekly, every weekday alike except Monday's extra one."""
    if hour not in HOURS:
        return 0
    return 1 + hour % 3 + (1 if day % 7 == 0 else 0)


def talk(hour: int) -> float:
    return 60.0 + 30.0 * (hour % 2)


class Log:
    """Routing events as the routing service writes them, at chosen instants."""

    def __init__(self) -> None:
        self.events: list[tuple[str, datetime, dict[str, Any]]] = []
        self.count = 0

    def add(self, kind: str, at: datetime, **payload: Any) -> None:
        self.events.append((kind, at, payload))

    def contact(
        self,
        at: datetime,
        *,
        queue: str = "q1",
        channel: str = "chat",
        handle: float | None = None,
        wrap: float | None = 30.0,
    ) -> None:
        """A contact arriving at `at`; with `handle`, accepted 10 s later and held that long,
        then wrapped up for `wrap` seconds (None: still in wrap-up); without, it is cancelled."""
        self.count += 1
        cid = f"c{self.count}"
        self.add("routing.contact_received", at, contact_id=cid, queue_id=queue, channel=channel)
        if handle is None:
            end = at + timedelta(seconds=40)
            self.add("routing.contact_ended", end, contact_id=cid, queue_id=queue, agent_id=None)
            return
        accepted = at + timedelta(seconds=10)
        ended = accepted + timedelta(seconds=handle)
        self.add("routing.offer_accepted", accepted, contact_id=cid, agent_id="a1", queue_id=queue)
        self.add("routing.contact_ended", ended, contact_id=cid, queue_id=queue, agent_id="a1")
        self.add("routing.wrap_up_started", ended, contact_id=cid, agent_id="a1")
        if wrap is not None:
            self.add(
                "routing.wrap_up_ended",
                ended + timedelta(seconds=wrap),
                contact_id=cid,
                agent_id="a1",
            )

    async def write(self, db: Any, slug: str) -> None:
        session = db.session(SYSTEM)
        try:
            tenant = await tenant_by_slug(session, slug)
            assert tenant is not None
            first = await eventlog.allocate(session, tenant.id, len(self.events))
            session.add_all(
                EventRecord(
                    tenant_id=tenant.id,
                    seq=first + k,
                    type=kind,
                    version=1,
                    occurred_at=at,
                    actor_id=None,
                    subject_type="contact",
                    subject_id=payload["contact_id"],
                    payload={"type": kind, "at": at.isoformat(), **payload},
                    audience=AUDIENCE,
                )
                for k, (kind, at, payload) in enumerate(self.events)
            )
            await session.commit()
        finally:
            await session.close()


def two_weeks() -> tuple[Log, np.ndarray, np.ndarray]:
    """14 days of q1/chat plus noise; returns the log and the expected (days, 24) volume and
    AHT (NaN without handled contacts)."""
    log = Log()
    volume = np.zeros((14, 24))
    aht = np.full((14, 24), np.nan)
    for day in range(14):
        for hour in HOURS:
            at = START + timedelta(days=day, hours=hour, minutes=5)
            for k in range(pattern(day, hour)):
                log.contact(at + timedelta(minutes=2 * k), handle=talk(hour))
            volume[day, hour] = pattern(day, hour)
            aht[day, hour] = talk(hour) + 30.0
            # Noise that must not count: another queue, another channel.
            log.contact(at, queue="q2", handle=500.0)
            log.contact(at, channel="email", handle=500.0)
    # Day 9, 12:00: a cancelled contact (offered, not handled) and one still in wrap-up
    # (handled once it ended: its talk counts, its wrap-up once it ends).
    at = START + timedelta(days=9, hours=12, minutes=40)
    log.contact(at)
    log.contact(at + timedelta(minutes=1), handle=999.0, wrap=None)
    handled = pattern(9, 12)
    aht[9, 12] = (handled * aht[9, 12] + 999.0) / (handled + 1)
    volume[9, 12] += 2
    return log, volume, aht


@pytest.fixture
def history(app, client, tenants):  # type: ignore[no-untyped-def]
    log, volume, aht = two_weeks()
    client.portal.call(log.write, app.state.services.db, "demo")
    return volume, aht


def _csv(days: int, *, start: datetime = START, queue: str = "q1", scale: float = 1.0) -> str:
    lines = ["interval_start,queue_id,channel,volume,aht"]
    for day in range(days):
        for hour in range(24):
            t = (start + timedelta(days=day, hours=hour)).strftime("%Y-%m-%dT%H:%M:%S")
            volume = pattern(day, hour) * scale
            lines.append(f"{t},{queue},chat,{volume:g},{talk(hour) + 30 if volume else ''}")
    return "\n".join(lines) + "\n"


def _create(caller: Any, **body: Any) -> dict[str, Any]:
    r = caller.post(FORECASTS, json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


# --- history --------------------------------------------------------------------------------


def test_history_counts_arrivals_and_handle_time_per_interval(as_user, history) -> None:
    volume, aht = history
    params = {
        "queue_id": "q1",
        "channel": "chat",
        "interval_minutes": 60,
        "start": "2025-03-03T00:00:00Z",
        "end": "2025-03-17T00:00:00Z",
    }
    r = as_user("supervisor").get("/api/v1/wfm/history", params=params)
    assert r.status_code == 200, r.text
    out = r.json()
    rows = out["intervals"]
    assert len(rows) == 14 * 24
    assert [row["volume"] for row in rows] == volume.ravel().astype(int).tolist()
    got = np.array([np.nan if row["aht"] is None else row["aht"] for row in rows])
    assert np.allclose(got, aht.ravel(), equal_nan=True)
    # The cancelled contact counts as offered, not as handled.
    noon = rows[9 * 24 + 12]
    assert noon["volume"] == noon["handled"] + 1
    assert out["volume"] == int(volume.sum()) and out["handled"] == out["volume"] - 1
    assert "offered" in out["definition"]
    # Half-hour intervals: every contact arrived in the first half of its hour.
    r = as_user("admin").get("/api/v1/wfm/history", params={**params, "interval_minutes": 30})
    halves = np.array([row["volume"] for row in r.json()["intervals"]]).reshape(-1, 2)
    # (the cancelled and the wrapping contact came at 12:40 and 12:41)
    assert halves[:, 1].sum() == 2 and halves[:, 0].sum() == volume.sum() - 2
    # Without filters, all queues and channels.
    unfiltered = {k: v for k, v in params.items() if k not in ("queue_id", "channel")}
    r = as_user("admin").get("/api/v1/wfm/history", params=unfiltered)
    assert r.json()["volume"] == int(volume.sum()) + 2 * 14 * len(HOURS)
    assert r.json()["queue_id"] is None


def test_history_from_real_routing_events(as_user, tenants) -> None:
    admin = as_user("admin")
    agent = tenants["demo"].ids["agent1"]
    queue = {"id": "sales", "channels": ["chat"], "wrap_up_seconds": 60}
    assert admin.post("/api/v1/routing/queues", json=queue).status_code == 201
    profile = {"queues": {"sales": 1}, "capacity": {"chat": 1}}
    assert admin.put(f"/api/v1/routing/agents/{agent}", json=profile).status_code == 200
    r = as_user("agent1").post(f"/api/v1/routing/agents/{agent}/state", json={"state": "available"})
    assert r.status_code == 200
    contact = admin.post(
        "/api/v1/routing/contacts",
        json={"queue_id": "sales", "channel": "chat", "contact_id": "real1"},
    ).json()
    offer = contact["offer_id"].replace("#", "%23")
    assert as_user("agent1").post(f"/api/v1/routing/offers/{offer}/accept").status_code == 200
    assert as_user("agent1").post("/api/v1/routing/contacts/real1/end").status_code == 200
    r = as_user("agent1").post("/api/v1/routing/wrap-ups/real1/end", json={})
    assert r.status_code == 200, r.text
    # Default window: the 28 days up to the end of today.
    r = admin.get("/api/v1/wfm/history", params={"queue_id": "sales", "channel": "chat"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["volume"], out["handled"]) == (1, 1)
    assert out["aht"] is not None and 0 <= out["aht"] < 60
    assert len(out["intervals"]) == 28 * 48


def test_history_counts_queue_visits_that_have_left(app, client, as_user) -> None:
    """The rollups' definition, by hand: a transfer is offered in both queues, each with its
    own part of the handle time; a contact still waiting counts nowhere yet."""
    log = Log()
    hour = datetime(2025, 4, 7, 10, tzinfo=UTC)

    def at(seconds: int) -> datetime:
        return hour + timedelta(seconds=seconds)

    t = {"contact_id": "t1"}
    log.add("routing.contact_received", at(300), **t, queue_id="q1", channel="chat")
    log.add("routing.offer_accepted", at(310), **t, agent_id="a1", queue_id="q1")
    log.add("routing.wrap_up_started", at(430), **t, agent_id="a1")
    log.add("routing.contact_queued", at(430), **t, queue_id="q2", channel="chat")
    log.add("routing.wrap_up_ended", at(460), **t, agent_id="a1")
    log.add("routing.offer_accepted", at(490), **t, agent_id="a2", queue_id="q2")
    log.add("routing.contact_ended", at(610), **t, agent_id="a2", queue_id="q2")
    log.add("routing.wrap_up_started", at(610), **t, agent_id="a2")
    log.add("routing.wrap_up_ended", at(620), **t, agent_id="a2")
    log.add("routing.contact_received", at(1200), contact_id="w1", queue_id="q1", channel="chat")
    log.contact(at(1800))  # abandoned after 40 s
    client.portal.call(log.write, app.state.services.db, "demo")
    admin = as_user("admin")
    window = {"start": "2025-04-07T10:00:00Z", "end": "2025-04-07T11:00:00Z"}
    got = {}
    for queue in ("q1", "q2"):
        params = {**window, "queue_id": queue, "channel": "chat", "interval_minutes": 60}
        r = admin.get("/api/v1/wfm/history", params=params)
        assert r.status_code == 200, r.text
        row = r.json()["intervals"][0]
        got[queue] = (row["volume"], row["handled"], row["aht"])
    # q1: t1 (talk 120 s + its agent's wrap-up 30 s) and the abandoned one; w1 still waits.
    # q2: t1 from its transfer (talk 120 s + wrap-up 10 s).
    assert got == {"q1": (2, 1, 150.0), "q2": (1, 1, 130.0)}
    r = admin.get("/api/v1/wfm/history", params={**window, "interval_minutes": 15})
    assert [i["volume"] for i in r.json()["intervals"]] == [2, 0, 1, 0]  # t1 in q1 and q2
    r = admin.get("/api/v1/wfm/history", params={**window, "interval_minutes": 10})
    assert_problem(r, 422, "interval_minutes", "multiple of 15")


# --- forecasts ------------------------------------------------------------------------------


def test_forecast_from_history_is_stored_with_event_audit_and_backtest(as_user, history) -> None:
    volume, _ = history
    admin = as_user("admin")
    body = {
        "queue_id": "q1",
        "channel": "chat",
        "interval_minutes": 60,
        "history_start": "2025-03-03",
        "history_end": "2025-03-17",
        "method": "seasonal_naive",
        "horizon_days": 7,
        "backtest_days": 7,
    }
    out = _create(as_user("supervisor"), **body)
    assert out["source"] == "history" and out["method"] == "seasonal_naive"
    assert out["start"].startswith("2025-03-17T00:00") and out["end"].startswith("2025-03-24")
    got = np.array([i["volume"] for i in out["intervals"]])
    assert np.array_equal(got, volume[7:].ravel())
    bt = out["backtest"]["seasonal_naive"]
    assert [h["day_ahead"] for h in bt["horizons"]] == list(range(1, 8))
    assert bt["overall"]["accuracy"] == pytest.approx(1 - bt["overall"]["wape"])
    assert out["accuracy"] == bt["overall"]["accuracy"]
    # Read back, listed, in the event log and the audit log.
    assert admin.get(f"{FORECASTS}/{out['id']}").json() == out
    listed = admin.get(FORECASTS, params={"queue_id": "q1", "channel": "chat"}).json()
    assert [f["id"] for f in listed] == [out["id"]]
    assert admin.get(FORECASTS, params={"queue_id": "q2"}).json() == []
    created = events_of(admin, "wfm.forecast_created")
    assert len(created) == 1 and created[0]["subject"] == {"type": "forecast", "id": out["id"]}
    assert created[0]["data"]["method"] == "seasonal_naive"
    audit = admin.get("/api/v1/audit-log", params={"limit": 50}).json()
    assert any(e["action"] == "wfm.forecast.create" and e["target_id"] == out["id"] for e in audit)


def test_forecast_from_csv_with_given_holiday_factor(as_user) -> None:
    body = {
        "source": "csv",
        "csv": _csv(14),
        "method": "seasonal_naive",
        "horizon_days": 3,
        "backtest_days": 0,
        "holidays": {"dates": ["2025-03-18"], "factor": 0.5},
    }
    out = _create(as_user("admin"), **body)
    assert (out["queue_id"], out["channel"], out["source"]) == ("q1", "chat", "csv")
    assert out["backtest"] == {} and out["accuracy"] is None
    rows = out["intervals"]
    assert len(rows) == 72 and rows[0]["interval_start"].startswith("2025-03-17T00:00")
    expected = np.array([pattern(d, h) for d in range(14, 17) for h in range(24)], dtype=float)
    expected[24:48] *= 0.5
    assert np.allclose([r["volume"] for r in rows], expected)
    assert [r["holiday"] for r in rows] == [False] * 24 + [True] * 24 + [False] * 24
    assert out["holidays"]["factor_source"] == "given"
    assert out["holidays"]["forecast_days"] == ["2025-03-18"]
    assert rows[9]["aht"] == pytest.approx(talk(9) + 30)


def test_statsforecast_method_through_the_api(as_user) -> None:
    body = {"source": "csv", "csv": _csv(28), "method": "ets", "horizon_days": 2}
    out = _create(as_user("admin"), **body)
    assert out["method"] == "ets" and set(out["backtest"]) == {"ets", "seasonal_naive"}
    assert len(out["intervals"]) == 48 and all(i["volume"] >= 0 for i in out["intervals"])


def test_reforecast_from_the_body_and_from_the_event_log(app, client, as_user, history) -> None:
    admin = as_user("admin")
    body = {
        "queue_id": "q1",
        "channel": "chat",
        "interval_minutes": 60,
        "history_start": "2025-03-03",
        "history_end": "2025-03-17",
        "method": "seasonal_naive",
        "horizon_days": 2,
        "backtest_days": 5,
    }
    forecast = _create(admin, **body)
    monday = [float(pattern(7, h)) for h in range(24)]
    actual = {8: 6.0, 9: 7.0}
    sent = [
        {"interval_start": f"2025-03-17T{h:02d}:00:00Z", "volume": v} for h, v in actual.items()
    ]
    url = f"{FORECASTS}/{forecast['id']}/reforecast"
    r = admin.post(url, json={"actuals": sent, "day_error": 0.2})
    assert r.status_code == 200, r.text
    out = r.json()
    planned = sum(monday[:10])
    weight = planned * 0.04 / (planned * 0.04 + 1)
    factor = 1 + weight * (13.0 / planned - 1)
    assert out["source"] == "body" and out["day"] == "2025-03-17"
    assert out["forecast_so_far"] == pytest.approx(planned) and out["actual_so_far"] == 13.0
    assert out["weight"] == pytest.approx(weight) and out["factor"] == pytest.approx(factor)
    assert len(out["elapsed"]) == 10 and len(out["intervals"]) == 14
    assert out["intervals"][0]["volume"] == pytest.approx(monday[10] * factor)
    # Without day_error: the forecast's own backtest supplies it.
    r = admin.post(url, json={"actuals": sent})
    stored = forecast["backtest"]["seasonal_naive"]["day_error"]
    assert r.json()["day_error_source"] == "backtest" and r.json()["day_error"] == stored
    # From the event log: 4 + 5 contacts at 08:00 and 09:00 on the forecast day.
    log = Log()
    day = datetime(2025, 3, 17, tzinfo=UTC)
    for hour, count in ((8, 4), (9, 5)):
        for k in range(count):
            log.contact(day + timedelta(hours=hour, minutes=k), handle=60.0)
    log.contact(day + timedelta(hours=10, minutes=1), handle=60.0)  # after as_of
    client.portal.call(log.write, app.state.services.db, "demo")
    r = admin.post(url, json={"as_of": "2025-03-17T10:00:00Z", "day_error": 0.2})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["source"] == "event_log" and out["actual_so_far"] == 9.0
    assert [e["actual"] for e in out["elapsed"]][8:] == [4.0, 5.0]
    # Bad requests name the field.
    r = admin.post(url, json={"actuals": [{"interval_start": "2025-03-25T08:00:00Z", "volume": 1}]})
    assert_problem(r, 422, "day", "outside the forecast")
    bad = [{"interval_start": "2025-03-17T08:30:00Z", "volume": 1}]
    assert_problem(admin.post(url, json={"actuals": bad}), 422, "actuals[0]", "60-minute")
    both = {"actuals": sent, "as_of": "2025-03-17T10:00:00Z"}
    assert_problem(admin.post(url, json=both), 422, "not both")


def test_staffing_table_from_a_forecast(as_user) -> None:
    admin = as_user("admin")
    body = {"source": "csv", "csv": _csv(8, scale=20), "method": "seasonal_naive"}
    forecast = _create(admin, **body, horizon_days=1, backtest_days=0)
    targets = {"model": "c", "answer_time": 20, "target_sl": 0.8, "shrinkage": 0.25}
    url = f"{FORECASTS}/{forecast['id']}/staffing"
    window = {"start": "2025-03-11T08:00:00Z", "end": "2025-03-11T18:00:00Z"}
    r = admin.post(url, json={**targets, **window})
    assert r.status_code == 200, r.text
    rows = r.json()["intervals"]
    assert len(rows) == 10 and rows[0]["start"].startswith("2025-03-11T08:00")
    calls = np.array([pattern(8, h) * 20.0 for h in HOURS])
    expected = staff(
        "c",
        calls=calls,
        interval_seconds=3600,
        aht=np.array([talk(h) + 30 for h in HOURS]),
        answer_time=20,
        target_sl=0.8,
        shrinkage=0.25,
    )
    assert [row["agents"] for row in rows] == expected.agents.tolist()
    # The whole day, including empty night hours (0 agents).
    r = admin.post(url, json=targets)
    assert len(r.json()["intervals"]) == 24 and r.json()["intervals"][0]["agents"] == 0
    late = {"start": "2025-04-01T00:00:00Z"}
    assert_problem(admin.post(url, json={**targets, **late}), 422, "start", "no forecast interval")
    assert_problem(admin.post(url, json={**targets, "max_occupancy": 1.5}), 422, "max_occupancy")


def test_forecast_accuracy_against_the_rollups(app, client, as_user) -> None:
    # Seasonal naive on 8 days: Tuesday 11 March repeats Tuesday 4 March, F = pattern(1, h)
    # contacts with AHT talk(h) + 30: F(08, 09, 10, 12) = 3, 1, 2, 1; AHT 90, 120, 90, 90.
    forecast = _create(
        as_user("supervisor"),
        source="csv",
        csv=_csv(8),
        method="seasonal_naive",
        horizon_days=1,
        backtest_days=0,
    )
    assert forecast["start"].startswith("2025-03-11T00:00")
    log = Log()
    day = datetime(2025, 3, 11, tzinfo=UTC)
    for k in range(2):  # 08:00: 2 contacts of 60 + 30 s
        log.contact(day + timedelta(hours=8, minutes=k), handle=60.0)
    for k in range(4):  # 10:00: 4 of 120 + 30 s and one cancelled; 09:00 and 12:00: none
        log.contact(day + timedelta(hours=10, minutes=k), handle=120.0)
    log.contact(day + timedelta(hours=10, minutes=30))
    client.portal.call(log.write, app.state.services.db, "demo")
    url = f"{FORECASTS}/{forecast['id']}/accuracy"
    r = as_user("supervisor").get(
        url, params={"start": "2025-03-11T08:00:00Z", "end": "2025-03-11T11:00:00Z"}
    )
    assert r.status_code == 200, r.text
    out = r.json()
    rows = [
        (i["forecast_volume"], i["actual_volume"], i["forecast_aht"], i["actual_aht"], i["handled"])
        for i in out["intervals"]
    ]
    assert rows == [(3, 2, 90, 90, 2), (1, 0, 120, None, 0), (2, 5, 90, 150, 4)]
    total = out["total"]
    assert (total["forecast_volume"], total["actual_volume"], total["handled"]) == (6, 7, 6)
    # |2 - 3| + |0 - 1| + |5 - 2| over 7; MAPE skips the zero-actual 09:00.
    assert total["wape"] == 5 / 7 and total["accuracy"] == 1 - 5 / 7
    assert total["mape"] == pytest.approx((1 / 2 + 3 / 5) / 2)
    assert total["bias"] == -1 and total["bias_ratio"] == -1 / 7
    assert total["forecast_aht"] == 95.0  # (3·90 + 1·120 + 2·90) / 6
    assert total["actual_aht"] == 130.0  # (2·90 + 4·150) / 6
    assert total["aht_bias"] == -35.0
    assert total["aht_wape"] == 240 / 780  # (|180 - 2·90| + |600 - 4·90|) / 780
    assert "offered" in out["definition"]
    # A range where nothing was offered: no WAPE (and no accuracy), the bias still counts.
    noon = {"start": "2025-03-11T12:00:00Z", "end": "2025-03-11T13:00:00Z"}
    total = as_user("admin").get(url, params=noon).json()["total"]
    assert (total["actual_volume"], total["wape"], total["accuracy"]) == (0, None, None)
    assert (total["bias"], total["bias_ratio"], total["actual_aht"]) == (1, None, None)
    # Default: the whole forecast day (it has ended).
    out = as_user("admin").get(url).json()
    assert len(out["intervals"]) == 24 and out["total"]["actual_volume"] == 7
    # Bad ranges name the field.
    admin = as_user("admin")
    for params, field, words in (
        ({"start": "2025-03-11T08:30:00Z"}, "start", "60-minute grid"),
        ({"start": "2025-03-10T00:00:00Z"}, "start", "outside the forecast"),
        ({"end": "2025-03-13T00:00:00Z"}, "end", "outside the forecast"),
        ({"start": "2025-03-11T10:00:00Z", "end": "2025-03-11T10:00:00Z"}, "end", "after"),
    ):
        assert_problem(admin.get(url, params=params), 422, field, words)
    # A forecast from tomorrow on: nothing to compare yet, and no actuals of the future.
    today = datetime.combine(datetime.now(UTC).date(), datetime.min.time(), tzinfo=UTC)
    ahead = _create(
        admin,
        source="csv",
        csv=_csv(7, start=today - timedelta(days=6)),
        method="seasonal_naive",
        horizon_days=1,
        backtest_days=0,
    )
    url = f"{FORECASTS}/{ahead['id']}/accuracy"
    assert_problem(admin.get(url), 422, "end", "after start")
    later = (today + timedelta(days=1, hours=1)).isoformat()
    assert_problem(admin.get(url, params={"end": later}), 422, "end", "not come yet")


# --- bad input, roles, isolation ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ({"csv": "interval_start,queue_id,channel,volume\n"}, ["aht", "line 1"]),
        (
            {"csv": _csv(2).replace(",2,90", ",two,90", 1)},
            ["volume", "'two' is not a number"],
        ),
        ({"csv": _csv(2).replace("T03:00:00", "T03:20:00", 1)}, ["not on the 60-minute grid"]),
        ({"csv": _csv(10), "method": "ets", "backtest_days": 0}, ["ets needs at least 21 days"]),
        ({"csv": _csv(3), "backtest_days": 7}, ["history", "8 days"]),
        ({"csv": _csv(2) + _csv(2, queue="q9").split("\n", 1)[1]}, ["several queue/channel"]),
        ({"csv": _csv(2), "queue_id": "nope"}, ["queue_id", "q1/chat"]),
        ({"csv": _csv(8), "holidays": {"country": "XX"}}, ["holidays.country"]),
        ({"csv": None}, ["csv"]),
        ({"csv": _csv(8), "history_end": "2025-03-01"}, ["history_end"]),
        ({"csv": _csv(8), "horizon_days": 0}, ["horizon_days"]),
        ({"csv": _csv(8), "method": "prophet"}, ["method"]),
        ({"csv": _csv(8), "colour": "red"}, ["colour"]),
        ({"csv": _csv(8), "interval_minutes": 7}, ["interval_minutes"]),
    ],
)
def test_bad_forecast_requests_are_422_naming_the_problem(as_user, body, fragments) -> None:
    r = as_user("admin").post(FORECASTS, json={"source": "csv", **body})
    assert_problem(r, 422, *fragments)


def test_history_source_errors(as_user, tenants) -> None:
    admin = as_user("admin")
    body = {"queue_id": "q1", "channel": "chat", "history_end": "2025-03-17"}
    assert_problem(admin.post(FORECASTS, json=body), 422, "queue_id", "no contacts")
    assert_problem(admin.post(FORECASTS, json={"channel": "chat"}), 422, "queue_id")
    r = admin.get("/api/v1/wfm/history", params={"start": "2025-03-03T00:10:00Z"})
    assert_problem(r, 422, "start", "grid")
    r = admin.get("/api/v1/wfm/history", params={"interval_minutes": 7})
    assert_problem(r, 422, "interval_minutes")


def test_agents_are_refused_everywhere(as_user) -> None:
    forecast = _create(
        as_user("supervisor"),
        source="csv",
        csv=_csv(2),
        method="seasonal_naive",
        horizon_days=1,
        backtest_days=0,
    )
    agent = as_user("agent1")
    url = f"{FORECASTS}/{forecast['id']}"
    for response in (
        agent.get("/api/v1/wfm/history"),
        agent.get(FORECASTS),
        agent.get(url),
        agent.post(FORECASTS, json={"source": "csv", "csv": _csv(2)}),
        agent.post(f"{url}/reforecast", json={"day_error": 0.1}),
        agent.post(f"{url}/staffing", json={"answer_time": 20, "target_sl": 0.8}),
        agent.get(f"{url}/accuracy"),
    ):
        assert_problem(response, 403, "supervisor or admin")


def test_another_tenants_forecasts_are_not_found(app, client, as_user) -> None:
    theirs = _create(
        as_user("admin", tenant="other"),
        source="csv",
        csv=_csv(2),
        method="seasonal_naive",
        horizon_days=1,
        backtest_days=0,
    )
    # Their event log too: the same queue name in tenant B.
    log = Log()
    log.contact(START + timedelta(hours=9), handle=60.0)
    client.portal.call(log.write, app.state.services.db, "other")
    admin = as_user("admin")
    url = f"{FORECASTS}/{theirs['id']}"
    assert_problem(admin.get(url), 404)
    assert_problem(admin.post(f"{url}/reforecast", json={"day_error": 0.1}), 404)
    assert_problem(admin.post(f"{url}/staffing", json={"answer_time": 20, "target_sl": 0.8}), 404)
    assert_problem(admin.get(f"{url}/accuracy"), 404)
    assert admin.get(FORECASTS).json() == []
    params = {"start": "2025-03-03T00:00:00Z", "end": "2025-03-04T00:00:00Z"}
    assert admin.get("/api/v1/wfm/history", params=params).json()["volume"] == 0
    other = as_user("admin", tenant="other")
    assert other.get("/api/v1/wfm/history", params=params).json()["volume"] == 1
    assert [f["id"] for f in other.get(FORECASTS).json()] == [theirs["id"]]
    assert date.fromisoformat(theirs["start"][:10]) == date(2025, 3, 5)
