"""Scheduled report emails through the real server, on both databases: the API's validation,
refusals, version conflicts and visibility; and the scheduler against a real SMTP server
(aiosmtpd's controller on 127.0.0.1) on an injected clock: a due schedule is mailed once with
the export route's file, a refused mail is retried then recorded failed, a restart neither
sends a period twice nor skips the latest one that came due while it was down."""

from __future__ import annotations

import queue
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI
from fastapi.testclient import TestClient
from kpi_db import append
from kpi_events import Log
from sqlalchemy import select

from omnidesk.analytics import ingester
from omnidesk.analytics.models import ReportSchedule
from omnidesk.analytics.scheduler import Job, ReportScheduler, _period
from omnidesk.platform.audit import AuditEntry
from omnidesk.platform.database import SYSTEM, Database
from omnidesk.platform.eventlog import EventSequence
from omnidesk.platform.tenancy import tenant_by_slug

URL = "/api/v1/analytics/report-schedules"
SENDER = "reports@example.com"


@dataclass
class Relay:
    """A real SMTP server: every mail taken, parsed; `refuse` answers 451 to DATA."""

    received: queue.Queue[EmailMessage] = field(default_factory=queue.Queue)
    refuse: bool = False

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            return "451 4.3.0 Relay busy"
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        mail = message_from_bytes(raw, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.received.put(mail)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def relay() -> Iterator[tuple[Relay, int]]:
    handler = Relay()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def ok(response: Any, code: int = 200) -> Any:
    assert response.status_code == code, response.text
    return response.json() if response.content else None


def _account(admin: Any, port: int, address: str = SENDER, smtp: bool = True) -> None:
    body = {
        "kind": "email",
        "name": "Omnidesk Reports",
        "queue_id": "kpi",
        "address": address,
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
    }
    ok(admin.post("/api/v1/channels/accounts", json=body), 201)


def _queues(admin: Any, ids: dict[str, str]) -> None:
    """`kpi` (agent1 serves it: the demo supervisor's team sees it) and `hidden` (admins)."""
    for queue_id in ("kpi", "hidden"):
        body = {"id": queue_id, "channels": ["chat", "email"], "name": queue_id.title()}
        ok(admin.post("/api/v1/routing/queues", json=body), 201)
    body = {"skills": {}, "queues": {"kpi": 1}, "capacity": {"chat": 1}}
    ok(admin.put(f"/api/v1/routing/agents/{ids['agent1']}", json=body))


def schedule(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Daily queues",
        "report": "queues",
        "queue_id": "kpi",
        "interval": "60m",
        "period": "previous_day",
        "format": "csv",
        "cadence": "daily",
        "at": "06:00",
        "recipients": ["boss@example.com", "team@example.com"],
        "sender_address": SENDER,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def _field(response: Any, code: int = 422) -> str:
    assert response.status_code == code, response.text
    body = response.json()
    if "errors" in body:
        return ".".join(str(p) for p in body["errors"][0]["loc"][1:])
    return str(body.get("field"))


async def _audit_actions(db: Database) -> list[str]:
    async with db.read_session(SYSTEM) as session:
        rows = await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.target_type == "report_schedule")
            .order_by(AuditEntry.id)
        )
        return list(rows)


def test_schedules_are_validated_versioned_and_scoped(
    client: TestClient, app: FastAPI, as_user: Any, tenants: Any, relay: tuple[Relay, int]
) -> None:
    admin, supervisor = as_user("admin"), as_user("supervisor")
    _queues(admin, tenants["demo"].ids)
    _account(admin, relay[1])
    assert as_user("agent1").get(URL).status_code == 403
    assert as_user("agent1").post(URL, json=schedule()).status_code == 403
    # Bad input: 422 naming the field; nothing stored.
    assert _field(supervisor.post(URL, json=schedule(recipients=["boss@example.com", "nope"])))
    assert _field(supervisor.post(URL, json=schedule(recipients=[]))) == "recipients"
    many = [f"r{i}@example.com" for i in range(51)]
    assert _field(supervisor.post(URL, json=schedule(recipients=many))) == "recipients"
    twice = ["a@example.com", "A@example.com"]
    assert _field(supervisor.post(URL, json=schedule(recipients=twice))) == "recipients.1"
    assert _field(supervisor.post(URL, json=schedule(at="25:00"))) == "at"
    assert _field(supervisor.post(URL, json=schedule(cadence="weekly"))) == "weekday"
    assert _field(supervisor.post(URL, json=schedule(report="agents"))) == "queue_id"
    unknown = schedule(sender_address="nobody@example.com")
    assert _field(supervisor.post(URL, json=unknown)) == "sender_address"
    # Another team's queue: not found, as the exports answer.
    assert _field(supervisor.post(URL, json=schedule(queue_id="hidden")), 404) == "queue_id"
    assert _field(supervisor.post(URL, json=schedule(language="fr"))) == "language"
    assert _field(supervisor.post(URL, json=schedule(language="DE"))) == "language"
    assert ok(supervisor.get(URL)) == []
    # A weekly one of the supervisor's queue.
    weekly = schedule(cadence="weekly", weekday=0, period="previous_week", format="xlsx")
    created = ok(supervisor.post(URL, json=weekly), 201)
    assert created["version"] == 1 and created["weekday"] == 0 and created["last_run"] is None
    assert created["language"] == "en"  # none given: English (no tenant-wide language exists)
    due = datetime.fromisoformat(created["next_due_at"])
    assert due.weekday() == 0 and due > datetime.now(UTC)
    sid = created["id"]
    assert [s["id"] for s in ok(supervisor.get(URL))] == [sid]
    assert [s["id"] for s in ok(admin.get(URL))] == [sid]
    # Another tenant's admin does not see it.
    other = as_user("admin", "other")
    assert ok(other.get(URL)) == []
    assert other.get(f"{URL}/{sid}").status_code == 404
    assert other.get(f"{URL}/{sid}/runs").status_code == 404
    # Versioned: a change on a stale version is 409; without one 422.
    changed = {**weekly, "name": "Weekly queues", "version": 1}
    saved = ok(supervisor.put(f"{URL}/{sid}", json=changed))
    assert (saved["name"], saved["version"]) == ("Weekly queues", 2)
    stale = supervisor.put(f"{URL}/{sid}", json=changed)
    assert stale.status_code == 409 and stale.json()["code"] == "version_conflict"
    # The language: changed when given, refused when unknown (nothing changed), and kept by a
    # change that does not name it.
    german = {**changed, "language": "de", "version": 2}
    assert _field(supervisor.put(f"{URL}/{sid}", json={**german, "language": "xx"})) == "language"
    assert ok(supervisor.get(f"{URL}/{sid}"))["language"] == "en"
    assert ok(supervisor.put(f"{URL}/{sid}", json=german))["language"] == "de"
    kept = ok(supervisor.put(f"{URL}/{sid}", json={**changed, "version": 3}))
    assert (kept["language"], kept["version"]) == ("de", 4)
    assert _field(supervisor.put(f"{URL}/{sid}", json=weekly)) == "version"
    assert supervisor.delete(f"{URL}/{sid}", params={"version": 1}).status_code == 409
    assert ok(supervisor.get(f"{URL}/{sid}"))["version"] == 4
    assert supervisor.delete(f"{URL}/{sid}", params={"version": 4}).status_code == 204
    assert supervisor.get(f"{URL}/{sid}").status_code == 404
    db = app.state.services.db
    actions = client.portal.call(_audit_actions, db)  # type: ignore[union-attr]
    assert actions == [
        "report_schedule.create",
        *["report_schedule.update"] * 3,
        "report_schedule.delete",
    ]


async def _tenant(db: Database, slug: str) -> tuple[uuid.UUID, int]:
    async with db.read_session(SYSTEM) as session:
        tenant = await tenant_by_slug(session, slug)
        assert tenant is not None
        last = await session.scalar(
            select(EventSequence.last_seq).where(EventSequence.tenant_id == tenant.id)
        )
        return tenant.id, int(last or 0)


def _traffic(client: TestClient, app: FastAPI, agent: str, day_start: datetime) -> None:
    """Two chats in `kpi` at 10:00 of the reported day: one answered, one abandoned."""
    log = Log(day_start + timedelta(hours=10))
    log.received(0, "c1", queue="kpi").accepted(10, "c1", agent, 10.0, True, "kpi")
    log.ended(70, "c1", agent=agent, queue="kpi").wrap(70, 85, "c1", agent)
    log.received(20, "c2", queue="kpi").ended(50, "c2", reason="cancelled", queue="kpi")
    db = app.state.services.db
    # The events below take the log's next seqs without its allocator: wait until the server's
    # ingester has pushed what it holds (its first batch pushes every team's figures), or its
    # figures events would take those seqs first.
    client.portal.call(app.state.analytics.settled)  # type: ignore[union-attr]
    tenant_id, last = client.portal.call(_tenant, db, "demo")  # type: ignore[union-attr]
    events = [replace(e, seq=last + e.seq) for e in log.events]
    client.portal.call(append, db, tenant_id, events)  # type: ignore[union-attr]
    client.portal.call(ingester.catch_up, db, tenant_id)  # type: ignore[union-attr]


def _attachment(mail: EmailMessage) -> tuple[str, bytes]:
    (part,) = list(mail.iter_attachments())
    raw = part.get_payload(decode=True)
    assert isinstance(raw, bytes)
    return str(part.get_filename()), raw


def _subject(mail: EmailMessage) -> str:
    # Python folds a subject that does not fit one line right after "Subject:"; unfolded,
    # the space that starts the next line is the one a client drops after the colon.
    return str(mail["Subject"]).lstrip()


def _language(mail: EmailMessage) -> str:
    body = mail.get_body(("plain",))
    assert body is not None
    return str(body["Content-Language"])


def _text(mail: EmailMessage) -> str:
    body = mail.get_body(("plain",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")  # CRLF on the wire (SMTP)


def test_a_due_schedule_is_mailed_once_retried_and_caught_up(
    client: TestClient, app: FastAPI, as_user: Any, tenants: Any, relay: tuple[Relay, int]
) -> None:
    handler, port = relay
    # The app's own scheduler runs on the wall clock: this test drives one on its own clock.
    client.portal.call(app.state.report_scheduler.stop)  # type: ignore[union-attr]
    admin = as_user("admin")
    ids = tenants["demo"].ids
    _queues(admin, ids)
    _account(admin, port)
    zone = {"short_abandon_seconds": 5, "abandons_in_sl": "missed", "timezone": "Europe/Riga"}
    ok(admin.put("/api/v1/analytics/settings", json=zone))
    created = ok(admin.post(URL, json=schedule()), 201)
    due = datetime.fromisoformat(created["next_due_at"])
    # 06:00 in Riga: 04:00 UTC in winter (EET), 03:00 in summer (EEST).
    assert due.astimezone(UTC).hour in (3, 4)
    now = [due + timedelta(minutes=1)]

    def scheduler() -> ReportScheduler:
        return ReportScheduler(
            app.state.services.db,
            app.state.routing,
            app.state.services.identities,
            app.state.report_mail,
            clock=lambda: now[0],
            retry_delays=(60.0, 60.0),
        )

    first = scheduler()
    # Before the due time: nothing.
    now[0] = due - timedelta(seconds=1)
    client.portal.call(first.tick)  # type: ignore[union-attr]
    assert handler.received.empty()
    assert ok(admin.get(f"{URL}/{created['id']}/runs")) == []
    now[0] = due + timedelta(minutes=1)
    runs_url = f"{URL}/{created['id']}/runs"
    # The day reported: the local day before the due date (traffic in it, logged before).
    local_due = due.astimezone(ZoneInfo("Europe/Riga"))
    day = local_due.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    _traffic(client, app, ids["agent1"], day.astimezone(UTC))
    client.portal.call(first.tick)  # type: ignore[union-attr]
    mail = handler.received.get(timeout=10)
    assert mail["From"] == f"Omnidesk Reports <{SENDER}>"
    assert mail["To"] == "boss@example.com, team@example.com"
    assert mail["Auto-Submitted"] == "auto-generated"
    (run,) = ok(admin.get(runs_url))
    assert (run["status"], run["attempts"], run["manual"]) == ("sent", 1, False)
    start, end = run["period_start"], run["period_end"]
    assert datetime.fromisoformat(start) == day.astimezone(UTC)
    # The attachment is the export route's file for that range, to the byte.
    name, content = _attachment(mail)
    # No language given: English, the reported day as the local date in the report zone.
    assert _subject(mail) == f"Daily queues: Queue report ({name})"
    assert _language(mail) == "en"
    assert _text(mail) == (
        f"Queue report for {day.date().isoformat()} (Europe/Riga), as scheduled in Omnidesk "
        f"(Daily queues).\nThe file is attached: {name}.\n"
    )
    params = {"start": start, "end": end, "interval": "60m", "queue_id": "kpi", "format": "csv"}
    export = admin.get("/api/v1/analytics/queues/export", params=params)
    assert export.status_code == 200
    assert content == export.content
    assert f'filename="{name}"' in export.headers["content-disposition"]
    assert b"Kpi" in content and b",2," in content  # the day's two offered contacts
    # Once per due time: a second pass, and a restarted scheduler, send nothing more.
    now[0] = due + timedelta(minutes=5)
    client.portal.call(first.tick)  # type: ignore[union-attr]
    client.portal.call(scheduler().tick)  # type: ignore[union-attr]
    assert handler.received.empty()
    assert len(ok(admin.get(runs_url))) == 1
    # Down for three days: on start the latest missed period is sent, the older ones not.
    now[0] = due + timedelta(days=3, hours=2)
    restarted = scheduler()
    client.portal.call(restarted.tick)  # type: ignore[union-attr]
    handler.received.get(timeout=10)
    assert handler.received.empty()
    latest, previous = ok(admin.get(runs_url))
    assert latest["status"] == "sent"
    assert datetime.fromisoformat(latest["due_at"]) == due + timedelta(days=3)
    assert datetime.fromisoformat(latest["period_end"]) - datetime.fromisoformat(
        previous["period_end"]
    ) == timedelta(days=3)
    # The relay refuses: tried again after each delay, then failed with its words.
    handler.refuse = True
    now[0] = due + timedelta(days=4, seconds=30)
    client.portal.call(restarted.tick)  # type: ignore[union-attr]
    run = ok(admin.get(runs_url))[0]
    assert (run["status"], run["attempts"]) == ("pending", 1)
    assert "451" in run["reason"]
    client.portal.call(restarted.tick)  # type: ignore[union-attr]  # not yet time: no attempt
    assert ok(admin.get(runs_url))[0]["attempts"] == 1
    for attempt in (2, 3):
        now[0] += timedelta(seconds=60)
        client.portal.call(restarted.tick)  # type: ignore[union-attr]
        assert ok(admin.get(runs_url))[0]["attempts"] == attempt
    run = ok(admin.get(runs_url))[0]
    assert (run["status"], run["attempts"]) == ("failed", 3)
    assert "451" in run["reason"] and run["finished_at"] is not None
    now[0] += timedelta(hours=1)
    client.portal.call(restarted.tick)  # type: ignore[union-attr]
    assert ok(admin.get(runs_url))[0]["attempts"] == 3
    assert handler.received.empty()
    # The list shows the latest run.
    (listed,) = ok(admin.get(URL))
    assert listed["last_run"]["status"] == "failed"
    # Send now: a manual run of the latest whole period, mailed on the next pass, beside the
    # schedule's own runs (and another schedule's id is a 404).
    handler.refuse = False
    manual = ok(admin.post(f"{URL}/{created['id']}/send-now"), 202)
    assert (manual["manual"], manual["status"]) == (True, "pending")
    client.portal.call(restarted.tick)  # type: ignore[union-attr]
    mail = handler.received.get(timeout=10)
    assert _attachment(mail)[1].startswith(b"\xef\xbb\xbf")  # the CSV export, as mailed above
    (sent,) = [r for r in ok(admin.get(runs_url)) if r["id"] == manual["id"]]
    assert (sent["manual"], sent["status"], sent["attempts"]) == (True, "sent", 1)
    missing = admin.post(f"{URL}/{uuid.uuid4()}/send-now")
    assert missing.status_code == 404, missing.text


def test_mails_are_in_the_schedules_language(
    client: TestClient, app: FastAPI, as_user: Any, tenants: Any, relay: tuple[Relay, int]
) -> None:
    """A German and a Latvian schedule, sent now: subject and text in that language, the
    period as local dates of the report zone (a week as its first and last day)."""
    handler, port = relay
    client.portal.call(app.state.report_scheduler.stop)  # type: ignore[union-attr]
    admin = as_user("admin")
    _queues(admin, tenants["demo"].ids)
    _account(admin, port)
    zone = {"short_abandon_seconds": 5, "abandons_in_sl": "missed", "timezone": "Europe/Riga"}
    ok(admin.put("/api/v1/analytics/settings", json=zone))
    german = schedule(name="Täglich", language="de", recipients=["de@example.com"])
    latvian = schedule(
        name="Nedēļas aģenti",
        report="agents",
        queue_id=None,
        cadence="weekly",
        weekday=0,
        period="previous_week",
        language="lv",
        recipients=["lv@example.com"],
    )
    riga = ZoneInfo("Europe/Riga")
    periods: dict[str, tuple[datetime, datetime]] = {}
    for body in (german, latvian):
        created = ok(admin.post(URL, json=body), 201)
        assert created["language"] == body["language"]
        run = ok(admin.post(f"{URL}/{created['id']}/send-now"), 202)
        periods[body["language"]] = (
            datetime.fromisoformat(run["period_start"]).astimezone(riga),
            datetime.fromisoformat(run["period_end"]).astimezone(riga),
        )
    scheduler = ReportScheduler(
        app.state.services.db,
        app.state.routing,
        app.state.services.identities,
        app.state.report_mail,
    )
    client.portal.call(scheduler.tick)  # type: ignore[union-attr]
    mails = {str(m["To"]): m for m in (handler.received.get(timeout=10) for _ in range(2))}
    assert handler.received.empty()

    de = mails["de@example.com"]
    name = _attachment(de)[0]
    assert _subject(de) == f"Täglich: Warteschlangenbericht ({name})"
    assert _language(de) == "de"
    assert de["Auto-Submitted"] == "auto-generated"
    day = periods["de"][0].date()
    assert periods["de"][1].date() == day + timedelta(days=1)
    assert _text(de) == (
        f"Warteschlangenbericht für den {day.isoformat()} (Europe/Riga), wie in Omnidesk "
        f"geplant (Täglich).\nDie Datei ist angehängt: {name}.\n"
    )

    lv = mails["lv@example.com"]
    name = _attachment(lv)[0]
    assert _subject(lv) == f"Nedēļas aģenti: Aģentu atskaite ({name})"
    assert _language(lv) == "lv"
    assert lv["Auto-Submitted"] == "auto-generated"
    first, end = periods["lv"][0].date(), periods["lv"][1].date()
    assert first.weekday() == 0 and end - first == timedelta(days=7)
    last = end - timedelta(days=1)
    assert _text(lv) == (
        f"Aģentu atskaite no {first.isoformat()} līdz {last.isoformat()} (Europe/Riga), kā "
        f"ieplānots Omnidesk (Nedēļas aģenti).\nFails ir pievienots: {name}.\n"
    )


def test_a_period_is_named_by_its_local_dates() -> None:
    """A whole local month as its first and last day; a period whose ends are not local
    midnights (the tenant's zone changed after the run was recorded) with its times."""
    riga = ZoneInfo("Europe/Riga")

    def job(start: datetime, end: datetime, zone: str) -> Job:
        return Job(uuid.uuid4(), uuid.uuid4(), ReportSchedule(), start, end, 1, zone)

    month = job(
        datetime(2026, 11, 1, tzinfo=riga), datetime(2026, 12, 1, tzinfo=riga), "Europe/Riga"
    )
    assert _period(month, "es") == "del 2026-11-01 al 2026-11-30"
    assert _period(month, "en") == "for 2026-11-01 to 2026-11-30"
    # Riga's midnights are 22:00 UTC the day before in winter.
    moved = replace(month, zone="UTC")
    assert _period(moved, "de") == "von 2026-10-31 22:00 bis 2026-11-30 22:00"
