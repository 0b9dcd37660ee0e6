"""What-if through the real server (both databases): a day of traffic routed by the routing API,
the KPI rollups from the ingester, then a queue change run through the twin beside routing as it
is; bad input; who may run it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient

from omnidesk.wfm.whatif import (
    Day,
    ForecastCell,
    StreamDay,
    covered_days,
    forecast_volumes,
    periods,
    scenario,
    shift_presence,
)

QUEUE = {"id": "wi", "channels": ["chat"], "name": "What-if", "service_level_seconds": 20}
CONTACTS = 6


def _route_a_morning(as_user, ids) -> None:  # type: ignore[no-untyped-def]
    """Six chats answered by agent1 at once, and one that waited behind the first and was
    given up."""
    admin = as_user("admin")
    assert admin.post("/api/v1/routing/queues", json=QUEUE).status_code == 201
    r = admin.put(
        f"/api/v1/routing/agents/{ids['agent1']}",
        json={"skills": {"lang.en": 3}, "queues": {"wi": 1}, "capacity": {"chat": 1}},
    )
    assert r.status_code == 200, r.text
    agent = as_user("agent1")
    r = agent.post(f"/api/v1/routing/agents/{ids['agent1']}/state", json={"state": "available"})
    assert r.status_code == 200, r.text
    for n in range(CONTACTS):
        body = {"queue_id": "wi", "channel": "chat", "contact_id": f"w{n}"}
        r = admin.post("/api/v1/routing/contacts", json=body)
        assert r.status_code == 201, r.text
        offer = r.json()["offer_id"].replace("#", "%23")
        assert agent.post(f"/api/v1/routing/offers/{offer}/accept").status_code == 200
        if n == 0:
            # While the agent talks, a customer arrives, waits and gives up.
            body = {"queue_id": "wi", "channel": "chat", "contact_id": "gone"}
            assert admin.post("/api/v1/routing/contacts", json=body).status_code == 201
            assert admin.delete("/api/v1/routing/contacts/gone").status_code == 204
        assert agent.post(f"/api/v1/routing/contacts/w{n}/end").status_code == 200
        r = agent.post(f"/api/v1/routing/wrap-ups/w{n}/end", json={"disposition": "resolved"})
        assert r.status_code == 200, r.text


def test_a_change_runs_beside_routing_as_it_is_on_the_same_customers(
    client: TestClient, app: FastAPI, as_user, tenants
) -> None:  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    _route_a_morning(as_user, ids)
    client.portal.call(app.state.analytics.settled)  # type: ignore[union-attr]
    admin = as_user("admin")
    version = admin.get("/api/v1/routing/queues/wi").json()["version"]
    # The day of the first arrival (the demo tenant's KPI zone is UTC); counted from the log, so
    # a run across midnight still knows how many arrived that day.
    log = admin.get("/api/v1/events", params={"limit": 1000}).json()["events"]
    arrivals = [
        datetime.fromisoformat(e["data"]["at"]).astimezone(UTC).date()
        for e in log
        if e["event"] == "routing.contact_received"
    ]
    assert len(arrivals) == CONTACTS + 1
    today = arrivals[0].isoformat()
    # Nobody has the skill the changed step asks for: nothing can be answered after the change.
    change = {"id": "wi", "steps": [{"target": "skills.lang.fi >= 1"}]}
    body = {"day": today, "queues": [change], "replications": 5, "seed": 3}
    r = admin.post("/api/v1/wfm/what-if", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["timezone"] == "UTC" and out["agents"] == 1
    (stream,) = out["streams"]
    assert (stream["queue_id"], stream["channel"]) == ("wi", "chat")
    assert stream["contacts"] == arrivals.count(arrivals[0])
    assert stream["handle_seconds"] is not None and stream["handle_seconds"] >= 0
    assert stream["patience_seconds"] is not None  # one customer gave up
    runs = {run["variant"]: run for run in out["study"]["runs"]}
    assert set(runs) == {"baseline", "change"}
    baseline, changed = runs["baseline"]["total"], runs["change"]["total"]
    assert baseline["answered"]["mean"] > 0
    assert changed["answered"]["mean"] == 0
    (difference,) = out["study"]["differences"]
    assert difference["variant"] == "change"
    assert difference["total"]["answered"]["mean"] == -baseline["answered"]["mean"]
    # Nothing was changed: routing still has the queue as it was.
    assert admin.get("/api/v1/routing/queues/wi").json()["version"] == version
    # The same request gives the same figures (seeded).
    again = admin.post("/api/v1/wfm/what-if", json=body).json()
    assert again["study"]["runs"][0]["total"] == out["study"]["runs"][0]["total"]

    # Bad input names the field; nothing runs.
    bad = {**body, "queues": [{"id": "wi", "priority": "high"}]}
    r = admin.post("/api/v1/wfm/what-if", json=bad)
    assert r.status_code == 422 and r.json()["field"] == "queues[0].priority", r.text
    bad = {**body, "queues": [{"id": "wi", "prioritty": 3}]}  # misspelt: refused, not dropped
    r = admin.post("/api/v1/wfm/what-if", json=bad)
    assert r.status_code == 422 and r.json()["field"] == "queues[0].prioritty", r.text
    bad = {**body, "queues": [{"id": "wi", "steps": [{"target": "skills.lang.fi >="}]}]}
    r = admin.post("/api/v1/wfm/what-if", json=bad)
    assert r.status_code == 422 and r.json()["field"].startswith("queues[0].steps[0]"), r.text
    r = admin.post("/api/v1/wfm/what-if", json={**body, "day": "2001-01-01"})
    assert r.status_code == 422 and r.json()["field"] == "day", r.text
    r = admin.post("/api/v1/wfm/what-if", json={**body, "replications": 500})
    assert r.status_code == 422, r.text
    # Admins only.
    assert as_user("supervisor").post("/api/v1/wfm/what-if", json=body).status_code == 403
    assert as_user("agent1").post("/api/v1/wfm/what-if", json=body).status_code == 403


def _forecast_of(admin, day: str, per_hour: float, *, aht: float = 200.0) -> dict:  # type: ignore[no-untyped-def]
    """A stored forecast of `day` (UTC, the demo tenant's KPI zone) for wi/chat: per_hour
    contacts every hour (seasonal naive: `day` repeats the history's first day, a week before;
    the other days have a contact an hour, so the history has a handle time)."""
    today = datetime.fromisoformat(day).replace(tzinfo=UTC)
    lines = ["interval_start,queue_id,channel,volume,aht"]
    for hour in range(7 * 24):
        t = (today - timedelta(days=7, hours=-hour)).strftime("%Y-%m-%dT%H:%M:%S")
        lines.append(f"{t},wi,chat,{per_hour if hour < 24 else 1:g},{aht:g}")
    body = {
        "source": "csv",
        "csv": "\n".join(lines) + "\n",
        "method": "seasonal_naive",
        "horizon_days": 1,
        "backtest_days": 0,
    }
    r = admin.post("/api/v1/wfm/forecasts", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_a_forecast_day_runs_on_the_forecasts_volumes(
    client: TestClient, app: FastAPI, as_user, tenants
) -> None:  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    _route_a_morning(as_user, ids)
    client.portal.call(app.state.analytics.settled)  # type: ignore[union-attr]
    admin = as_user("admin")
    log = admin.get("/api/v1/events", params={"limit": 1000}).json()["events"]
    today = next(
        datetime.fromisoformat(e["data"]["at"]).astimezone(UTC).date().isoformat()
        for e in log
        if e["event"] == "routing.contact_received"
    )  # the day of the first arrival: a run across midnight still has a day with contacts
    change = {"id": "wi", "priority": 2}
    common = {"queues": [change], "replications": 2, "seed": 1}
    recorded = admin.post("/api/v1/wfm/what-if", json={**common, "day": today})
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["sources"]["volumes"] == "recorded_day"
    recorded_offered = recorded.json()["study"]["runs"][0]["total"]["offered"]["mean"]

    busy = _forecast_of(admin, today, 40)
    body = {**common, "forecast": {"id": busy["id"], "day": today}}
    r = admin.post("/api/v1/wfm/what-if", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    sources = out["sources"]
    assert (sources["volumes"], sources["handle"], sources["patience"]) == (
        "forecast",
        "forecast",
        "recorded_day",
    )
    # The reference day is today: the latest day on the forecast day's weekday with contacts.
    assert sources["reference_day"] == today and sources["reference_chosen"] == "same_weekday"
    assert sources["forecast_id"] == busy["id"] and out["day"] == today
    (stream,) = out["streams"]
    assert stream["contacts"] == 40 * 24
    # The forecast's AHT, split into handle and wrap-up by the recorded day's shares.
    assert stream["handle_seconds"] + stream["wrap_up_seconds"] == 200
    assert stream["patience_seconds"] is not None  # from the recorded day's abandon
    offered = out["study"]["runs"][0]["total"]["offered"]["mean"]
    assert offered > recorded_offered and offered > 40 * 24 / 2
    assert out["agents"] == 1  # agent1's presence, from the recorded day

    quiet = _forecast_of(admin, today, 0)
    body = {**common, "forecast": {"id": quiet["id"], "day": today, "reference_day": today}}
    r = admin.post("/api/v1/wfm/what-if", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["sources"]["reference_chosen"] == "given"
    assert r.json()["study"]["runs"][0]["total"]["offered"]["mean"] == 0

    # Refusals name the field.
    tomorrow = (datetime.fromisoformat(today) + timedelta(days=1)).date().isoformat()
    for bad, status, field in (
        ({**common, "day": today, "forecast": {"id": busy["id"], "day": today}}, 422, "forecast"),
        (common, 422, "day"),
        ({**common, "forecast": {"id": busy["id"], "day": tomorrow}}, 422, "forecast.day"),
        ({**common, "forecast": {"id": str(uuid.uuid4()), "day": today}}, 404, None),
    ):
        r = admin.post("/api/v1/wfm/what-if", json=bad)
        assert r.status_code == status, r.text
        if field is not None:
            assert r.json()["field"] == field, r.text
    # Another tenant's forecast is not found, as if it did not exist.
    body = {**common, "forecast": {"id": busy["id"], "day": today}}
    other = as_user("admin", tenant="other").post("/api/v1/wfm/what-if", json=body)
    assert other.status_code == 404, other.text
    assert other.json()["detail"] == f"forecast {busy['id']} not found", other.text


def test_a_forecast_day_on_the_twins_grid() -> None:
    day = datetime(2026, 3, 2, tzinfo=UTC)
    # An hourly forecast splits over four 15-minute intervals; a 10-minute one adds up.
    hourly = [ForecastCell(day + timedelta(hours=h), 60, 8.0, 100.0 * (h + 1)) for h in (0, 1)]
    volumes, aht = forecast_volumes(hourly, day, 96)
    assert volumes[:9] == [2.0] * 8 + [0.0]
    assert aht == 150.0  # weighted by volume
    tens = [ForecastCell(day + timedelta(minutes=10 * k), 10, 3.0, 60.0) for k in range(3)]
    volumes, _ = forecast_volumes(tens, day, 96)
    assert volumes[:3] == [4.5, 4.5, 0.0]
    assert forecast_volumes([ForecastCell(day, 60, 0.0, 0.0)], day, 96)[1] is None
    # Whole local days only: a forecast from midnight UTC starts Berlin's days a day later.
    end = day + timedelta(days=3)
    assert covered_days(day, end, "UTC") == (day.date(), (end - timedelta(days=1)).date())
    berlin = covered_days(day, end, "Europe/Berlin")
    assert berlin == ((day + timedelta(days=1)).date(), (day + timedelta(days=2)).date())
    assert covered_days(day, day + timedelta(hours=12), "UTC") is None
    # Presence moves by whole local days, the same times of day.
    moved = shift_presence({"a": [(day, day + timedelta(hours=8))]}, 7, "UTC")
    assert moved == {"a": [(day + timedelta(days=7), day + timedelta(days=7, hours=8))]}


def test_the_scenario_takes_the_days_means_and_who_was_there() -> None:
    start = datetime(2026, 3, 2, tzinfo=UTC)
    minute = 60_000_000
    day = Day(
        start=start,
        timezone="UTC",
        intervals=96,
        streams=[
            StreamDay(
                "q",
                "chat",
                [0] * 40 + [4, 6] + [0] * 54,
                answered=8,
                abandoned=2,
                handle_us=8 * 5 * minute,
                wrap_us=8 * minute,
                wait_us=6 * minute,
            ),
            StreamDay("gone", "chat", [1] + [0] * 95),
        ],
        presence={
            "a1": periods([start.replace(hour=10), start.replace(hour=10, minute=15)]),
            "a2": periods([start.replace(hour=11)]),
        },
    )
    queues = {"q": {"id": "q", "channels": ["chat"], "disposition_required": True}}
    agents = {
        "a1": {"id": "a1", "queues": {"q": 0}, "capacity": {"chat": 2}, "teams": ["t"]},
        "a2": {"id": "a2", "queues": {"q": 0}, "capacity": {"chat": 1}},
        "a3": {"id": "a3", "queues": {"q": 0}, "capacity": {"chat": 1}},  # not there that day
    }
    data = scenario(day, queues, agents, [{"id": "q", "priority": 3}], replications=4, seed=1)
    (stream,) = data["contacts"]  # the removed queue's stream is left out
    assert stream["rates"][40:42] == [4.0, 6.0]
    assert stream["handle"] == {"kind": "exponential", "mean": 300.0}
    assert stream["wrap_up"] == {"kind": "exponential", "mean": 60.0}
    assert stream["patience"] == {"kind": "exponential", "mean": 180.0}  # 6 min / 2 abandons
    assert [a["id"] for a in data["agents"]] == ["a1", "a2"]
    assert data["agents"][0]["shifts"] == [
        {"start": "2026-03-02T10:00:00+00:00", "end": "2026-03-02T10:30:00+00:00"}
    ]
    assert data["queues"] == [{"id": "q", "channels": ["chat"]}]  # routing's own fields dropped
    assert data["variants"] == [{"name": "change", "queues": [{"id": "q", "priority": 3}]}]
