"""KPIs through the real server: contacts routed by the routing API, the background ingester,
the analytics API (both databases); bad input; settings; a DST day in the tenant's zone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from kpi_db import append, new_tenant
from kpi_events import Log

from omnidesk.analytics import ingester, service
from omnidesk.analytics import repository as repo
from omnidesk.platform.database import SYSTEM, Database
from omnidesk.platform.tenancy import tenant_by_slug

QUEUE = {"id": "kpi", "channels": ["chat"], "name": "KPI", "service_level_seconds": 20}


async def _tenant_id(db: Database, slug: str) -> uuid.UUID:
    session = db.session(SYSTEM)
    try:
        tenant = await tenant_by_slug(session, slug)
        assert tenant is not None
        return tenant.id
    finally:
        await session.close()


def _grid(instant: datetime) -> datetime:
    return instant.replace(minute=instant.minute - instant.minute % 15, second=0, microsecond=0)


def _at(event: dict) -> datetime:  # type: ignore[type-arg]
    return datetime.fromisoformat(event["data"]["at"])


def _route_two_contacts(as_user, ids) -> None:  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    assert admin.post("/api/v1/routing/queues", json=QUEUE).status_code == 201
    r = admin.put(
        f"/api/v1/routing/agents/{ids['agent1']}",
        json={"skills": {}, "queues": {"kpi": 1}, "capacity": {"chat": 1}},
    )
    assert r.status_code == 200, r.text
    agent = as_user("agent1")
    r = agent.post(f"/api/v1/routing/agents/{ids['agent1']}/state", json={"state": "available"})
    assert r.status_code == 200, r.text
    r = admin.post("/api/v1/routing/contacts", json={"queue_id": "kpi", "channel": "chat",
                                                     "contact_id": "k1"})  # fmt: skip
    offer = r.json()["offer_id"].replace("#", "%23")
    assert agent.post(f"/api/v1/routing/offers/{offer}/accept").status_code == 200
    # The only agent is busy: the second contact waits, and its customer gives up.
    r = admin.post("/api/v1/routing/contacts", json={"queue_id": "kpi", "channel": "chat",
                                                     "contact_id": "k2"})  # fmt: skip
    assert r.status_code == 201, r.text
    assert admin.delete("/api/v1/routing/contacts/k2").status_code == 204
    assert agent.post("/api/v1/routing/contacts/k1/end").status_code == 200
    r = agent.post("/api/v1/routing/wrap-ups/k1/end", json={"disposition": "resolved"})
    assert r.status_code == 200, r.text


def test_routed_contacts_reach_the_reports(
    client: TestClient, app: FastAPI, as_user, tenants
) -> None:  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    _route_two_contacts(as_user, ids)
    client.portal.call(app.state.analytics.settled)  # type: ignore[union-attr]
    supervisor = as_user("supervisor")
    log = supervisor.get("/api/v1/events", params={"limit": 1000}).json()["events"]
    by_type = {e["event"]: e for e in log if e["event"].startswith("routing.")}
    accepted = by_type["routing.offer_accepted"]
    talk = _at(by_type["routing.contact_ended"]) - _at(accepted)
    wrap = _at(by_type["routing.wrap_up_ended"]) - _at(by_type["routing.wrap_up_started"])
    start = _grid(datetime.now(UTC)) - timedelta(minutes=15)
    params = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat(),
              "interval": "15m", "queue_id": "kpi"}  # fmt: skip
    r = supervisor.get("/api/v1/analytics/queues", params=params)
    assert r.status_code == 200, r.text
    total = r.json()["total"]
    sums = total["sums"]
    assert (sums["offered"], sums["answered"], sums["short_abandoned"], sums["abandoned"]) == (
        2,
        1,
        1,
        1,
    )
    assert len(r.json()["intervals"]) == 4
    assert sum(i["sums"]["offered"] for i in r.json()["intervals"]) == 2
    assert total["kpis"]["service_level"] == 1.0  # 1 / (2 - 1 short abandon)
    assert total["kpis"]["abandon_rate"] == 0.0
    assert total["kpis"]["asa_seconds"] == accepted["data"]["waited_seconds"]
    assert total["kpis"]["aht_seconds"] == (talk + wrap).total_seconds()
    r = supervisor.get(
        "/api/v1/analytics/agents", params={**params, "agent_id": ids["agent1"], "queue_id": None}
    )
    assert r.status_code == 200, r.text
    (agent,) = r.json()["agents"]
    assert agent["total"]["sums"]["handled"] == 1
    assert agent["total"]["sums"]["wrap_seconds"] == wrap.total_seconds()
    assert agent["total"]["kpis"]["occupancy"] > 0
    # An agent may not read reports.
    assert as_user("agent1").get("/api/v1/analytics/queues", params=params).status_code == 403
    # A rebuild from the log gives the very same report.
    db = app.state.services.db
    tenant_id = client.portal.call(_tenant_id, db, "demo")  # type: ignore[union-attr]
    client.portal.call(ingester.rebuild, db, tenant_id)  # type: ignore[union-attr]
    assert supervisor.get("/api/v1/analytics/queues", params=params).json()["total"] == total
    # A new short-abandon threshold (0 s) rebuilds the rollups: the abandon now counts.
    admin = as_user("admin")
    body = {"short_abandon_seconds": 0, "abandons_in_sl": "missed", "timezone": "UTC"}
    assert supervisor.put("/api/v1/analytics/settings", json=body).status_code == 403
    r = admin.put("/api/v1/analytics/settings", json=body)
    assert r.status_code == 200 and r.json()["rebuilding"] is True, r.text
    client.portal.call(app.state.analytics.settled)  # type: ignore[union-attr]
    again = supervisor.get("/api/v1/analytics/queues", params=params).json()["total"]
    assert (again["sums"]["abandoned"], again["sums"]["short_abandoned"]) == (1, 0)
    assert again["kpis"]["abandon_rate"] == 0.5
    assert again["kpis"]["service_level"] == 0.5


def test_a_supervisor_reads_only_their_teams_queues_and_agents(
    client: TestClient, app: FastAPI, as_user, tenants
) -> None:  # type: ignore[no-untyped-def]
    from conftest import login

    ids = tenants["demo"].ids
    _route_two_contacts(as_user, ids)
    client.portal.call(app.state.analytics.settled)  # type: ignore[union-attr]
    admin = as_user("admin")
    body = {"username": "nightlead", "display_name": "Night Lead", "role": "supervisor",
            "password": "nightlead-password-1234"}  # fmt: skip
    assert admin.post("/api/v1/users", json=body).status_code == 201
    outsider = login(client, "demo", "nightlead", body["password"])  # supervises no team
    queues, agents = "/api/v1/analytics/queues", "/api/v1/analytics/agents"
    assert outsider.get(queues, params={"queue_id": "kpi"}).status_code == 404
    assert outsider.get(queues).json()["total"]["sums"]["offered"] == 0  # none of theirs
    assert outsider.get(agents, params={"agent_id": ids["agent1"]}).status_code == 404
    assert outsider.get(agents).json()["agents"] == []
    # The team's own supervisor and the admin see the queue and its agent.
    for reader in (as_user("supervisor"), admin):
        assert reader.get(queues).json()["total"]["sums"]["offered"] == 2
        found = reader.get(agents, params={"agent_id": ids["agent1"]}).json()["agents"]
        assert [a["agent_id"] for a in found] == [ids["agent1"]]


def test_bad_ranges_name_the_field_and_empty_ranges_give_zeros(as_user, tenants) -> None:  # type: ignore[no-untyped-def]
    supervisor = as_user("supervisor")
    url = "/api/v1/analytics/queues"
    base = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z", "interval": "60m"}
    r = supervisor.get(url, params=base)
    assert r.status_code == 200, r.text
    assert len(r.json()["intervals"]) == 24
    assert r.json()["total"]["sums"]["offered"] == 0
    assert r.json()["total"]["kpis"]["service_level"] is None
    for change, field in (
        ({"start": "2026-01-01T00:07:00Z"}, "start"),
        ({"end": "2025-12-31T00:00:00Z"}, "end"),
        ({"end": "2036-01-01T00:00:00Z", "interval": "15m"}, "interval"),
    ):
        r = supervisor.get(url, params={**base, **change})
        assert r.status_code == 422, r.text
        assert r.json()["field"] == field
    r = supervisor.get(url, params={**base, "interval": "7m"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "interval"]
    r = supervisor.get(url, params={"start": "yesterday"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "start"]
    # No range: today in the tenant's zone, hour by hour.
    r = supervisor.get(url)
    assert r.status_code == 200, r.text
    assert len(r.json()["intervals"]) == 24
    r = as_user("admin").put(
        "/api/v1/analytics/settings",
        json={"short_abandon_seconds": 5, "abandons_in_sl": "met", "timezone": "Mars/Olympus"},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "timezone"]


async def test_daily_report_on_a_dst_day_in_the_tenant_zone(db: Database) -> None:
    """Berlin, 29 March 2026: the day has 23 hours. A contact at 23:30 local (21:30 UTC) is on
    that day, one at 00:30 local on the next (22:30 UTC)."""
    tenant_id = await new_tenant(db)
    start = datetime(2026, 3, 28, 23, tzinfo=UTC)  # 29 March 00:00 in Berlin (UTC+1)
    log = Log(start).received(0, "x").ended(60, "x", reason="cancelled")  # 00:00 local
    log.received(22.5 * 3600, "y").ended(22.5 * 3600 + 60, "y", reason="cancelled")  # 23:30
    log.received(23.5 * 3600, "z").ended(23.5 * 3600 + 60, "z", reason="cancelled")  # next day
    await append(db, tenant_id, log.events)
    await ingester.catch_up(db, tenant_id)
    session = db.session(tenant_id)
    try:
        settings = await repo.settings(session, tenant_id)
        settings.timezone = "Europe/Berlin"
        await session.commit()
        report = await service.queue_report(
            session,
            tenant_id,
            start=datetime(2026, 3, 29),  # no offset: the tenant's zone
            end=datetime(2026, 3, 31),
            interval="day",
            queue_id=None,
            channel=None,
        )
    finally:
        await session.close()
    first, second = report.intervals
    assert (first.start, first.end) == (start, datetime(2026, 3, 29, 22, tzinfo=UTC))
    assert first.end - first.start == timedelta(hours=23)
    assert (first.sums.offered, second.sums.offered) == (2, 1)
    assert first.sums.abandoned == 2 and first.kpis.abandon_rate == 1.0


def test_team_and_disposition_reports_through_the_server(
    client: TestClient, app: FastAPI, as_user, tenants
) -> None:  # type: ignore[no-untyped-def]
    """agent1 is in the demo team the supervisor supervises (the directory's membership
    events are in the log): the contact they handled counts for the team, under its
    disposition; the abandoned one under neither."""
    from conftest import login

    ids = tenants["demo"].ids
    _route_two_contacts(as_user, ids)
    client.portal.call(app.state.analytics.settled)  # type: ignore[union-attr]
    start = _grid(datetime.now(UTC)) - timedelta(minutes=15)
    params = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat(),
              "interval": "15m"}  # fmt: skip
    teams, dispositions = "/api/v1/analytics/teams", "/api/v1/analytics/dispositions"
    admin, supervisor = as_user("admin"), as_user("supervisor")
    for reader in (supervisor, admin):
        r = reader.get(teams, params=params)
        assert r.status_code == 200, r.text
        (team,) = [t for t in r.json()["teams"] if t["team_id"] == ids["team"]]
        assert team["name"] and team["total"]["sums"]["handled"] == 1
        assert len(team["intervals"]) == 4
        r = reader.get(dispositions, params={**params, "queue_id": "kpi"})
        assert r.status_code == 200, r.text
        body = r.json()
        found = [(d["disposition"], d["total"]["sums"]["handled"]) for d in body["dispositions"]]
        assert found == [("resolved", 1)]
        # The dispositions' total is the queue report's handled and AHT.
        queue = reader.get("/api/v1/analytics/queues", params={**params, "queue_id": "kpi"})
        assert body["total"]["kpis"]["aht_seconds"] == queue.json()["total"]["kpis"]["aht_seconds"]
    r = supervisor.get("/api/v1/analytics/teams/export", params={**params, "format": "csv"})
    assert r.status_code == 200, r.text
    assert "omnidesk-teams-" in r.headers["content-disposition"]
    assert r.content.decode("utf-8-sig").count(ids["team"]) == 5  # 4 intervals + total
    r = supervisor.get("/api/v1/analytics/dispositions/export", params={**params, "format": "xlsx"})
    assert r.status_code == 200 and r.content[:2] == b"PK"
    # Visibility: a supervisor of no team, an agent, another tenant's team.
    body = {"username": "teamless", "display_name": "Teamless", "role": "supervisor",
            "password": "teamless-password-1234"}  # fmt: skip
    assert admin.post("/api/v1/users", json=body).status_code == 201
    outsider = login(client, "demo", "teamless", body["password"])
    assert outsider.get(teams, params={**params, "team_id": ids["team"]}).status_code == 404
    assert outsider.get(teams, params=params).json()["teams"] == []
    assert outsider.get(dispositions, params={**params, "queue_id": "kpi"}).status_code == 404
    assert outsider.get(dispositions, params=params).json()["total"]["sums"]["handled"] == 0
    other_team = tenants["other"].ids["team"]
    assert supervisor.get(teams, params={**params, "team_id": other_team}).status_code == 404
    export = {**params, "team_id": ids["team"], "format": "csv"}
    assert outsider.get("/api/v1/analytics/teams/export", params=export).status_code == 404
    agent = as_user("agent1")
    assert agent.get(teams, params=params).status_code == 403
    assert agent.get(dispositions, params=params).status_code == 403


def test_team_and_disposition_reports_refuse_bad_input_naming_the_field(as_user) -> None:  # type: ignore[no-untyped-def]
    supervisor = as_user("supervisor")
    base = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z", "interval": "60m"}
    for url in ("/api/v1/analytics/teams", "/api/v1/analytics/dispositions"):
        r = supervisor.get(url, params=base)
        assert r.status_code == 200, r.text  # a range without data
        for change, field in (
            ({"start": "2026-01-01T00:07:00Z"}, "start"),
            ({"end": "2025-12-31T00:00:00Z"}, "end"),
            ({"end": "2036-01-01T00:00:00Z", "interval": "15m"}, "interval"),
        ):
            r = supervisor.get(url, params={**base, **change})
            assert r.status_code == 422, r.text
            assert r.json()["field"] == field
        r = supervisor.get(url, params={**base, "interval": "7m"})
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "interval"]
        r = supervisor.get(f"{url}/export", params=base)
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "format"]
    r = supervisor.get("/api/v1/analytics/dispositions", params=base)
    assert r.json()["dispositions"] == [] and r.json()["total"]["kpis"]["aht_seconds"] is None
    r = supervisor.get("/api/v1/analytics/teams", params=base)
    (team,) = r.json()["teams"]  # their team, with zeros
    assert team["total"]["sums"]["handled"] == 0 and team["total"]["kpis"]["aht_seconds"] is None
