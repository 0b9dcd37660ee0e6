"""Surveys on email and messaging, on both databases: an email contact that ends gets the
survey by mail through the account's relay (a local aiosmtpd server), threaded and marked
automatic; a relay that refuses it leaves it recorded as not sent (send_failed); a WhatsApp
contact whose 24-hour window closed is recorded as not sent (window_closed), nothing sent; a
messaging contact without a window gets the link through its provider, and a customer who
opted out of surveys gets none (opted_out)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import queue
import smtplib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import update
from survey_helpers import accept_and_close, available, make_survey, ok, sends, settle, token_in

from omnidesk.channels.conversations.models import Conversation
from omnidesk.channels.messaging.signature import sign
from omnidesk.platform.database import SYSTEM, utcnow
from omnidesk.platform.settings import Settings, load_settings

SUPPORT = "support@example.com"
ANNA = "anna.schmidt@example.org"
EMAIL_QUEUE = {"id": "email", "channels": ["email"], "name": "Email", "steps": [{"target": None}]}
WA_QUEUE = {"id": "wa", "channels": ["messaging"], "name": "WhatsApp", "steps": [{"target": None}]}
APP_SECRET = "wa-app-secret-0123456789"


@dataclass
class Relay:
    """The outbound relay: every mail the channel sends, parsed; `refuse` answers 554."""

    port: int = 0
    received: queue.Queue[EmailMessage] = field(default_factory=queue.Queue)
    server: asyncio.Server | None = None
    refuse: bool = False

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            return "554 Transaction failed"
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        mail = message_from_bytes(raw, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.received.put(mail)
        return "250 OK"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: SMTP(self), "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        None,
        database_url=database_url,
        data_dir=tmp_path / "data",
        auto_migrate=False,
        argon2_time_cost=1,
        argon2_memory_kib=8,
        argon2_parallelism=1,
        email_smtp_enabled=True,
        email_smtp_port=0,
        public_url="https://desk.example.com",
    )


@pytest.fixture
def relay(client) -> Iterator[Relay]:  # type: ignore[no-untyped-def]
    found = Relay()
    client.portal.call(found.start)
    yield found
    client.portal.call(found.stop)


def email_desk(app, as_user, tenants, relay: Relay) -> int:  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin = as_user("admin")
    ok(admin.post("/api/v1/routing/queues", json=EMAIL_QUEUE), 201)
    body = {"queues": {"email": 1}, "capacity": {"email": 5}}
    ok(admin.put(f"/api/v1/routing/agents/{ids['agent1']}", json=body))
    available(as_user, ids)
    account = {
        "kind": "email",
        "name": "Example Support",
        "queue_id": "email",
        "address": SUPPORT,
        "smtp_host": "127.0.0.1",
        "smtp_port": relay.port,
        "smtp_security": "none",
    }
    ok(admin.post("/api/v1/channels/accounts", json=account), 201)
    return int(app.state.email.listener.port)


def mail_in(port: int, subject: str) -> None:
    message = EmailMessage()
    message["From"] = f"Anna Schmidt <{ANNA}>"
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.org")
    message.set_content("Hello, where is my parcel? It should have arrived last week.")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.send_message(message)


def test_an_email_contact_gets_the_survey_by_mail(client, app, as_user, tenants, relay) -> None:  # type: ignore[no-untyped-def]
    port = email_desk(app, as_user, tenants, relay)
    admin = as_user("admin")
    make_survey(admin, channels=["email"])
    mail_in(port, "Parcel 1")
    (conversation,) = ok(admin.get("/api/v1/conversations"))
    accept_and_close(as_user, "agent1", conversation)
    settle(client, app)

    survey = relay.received.get(timeout=15)
    assert survey["To"] == ANNA and SUPPORT in survey["From"]
    assert survey["Auto-Submitted"] == "auto-replied"
    assert survey["In-Reply-To"]  # in the customer's thread
    body = survey.get_content()
    assert "https://desk.example.com/s/" in body
    token = token_in(body)
    (sent,) = sends(admin, conversation["contact_id"])
    assert sent["status"] == "sent" and sent["channel"] == "email" and sent["queue_id"] == "email"
    ok(client.post(f"/api/v1/surveys/responses/{token}", json={"answers": {"overall": 5}}), 201)

    # The relay refuses the next one: recorded as not sent, with the relay's words.
    relay.refuse = True
    mail_in(port, "Parcel 2")
    conversation = ok(admin.get("/api/v1/conversations"))[0]
    accept_and_close(as_user, "agent1", conversation)
    settle(client, app)
    (failed,) = sends(admin, conversation["contact_id"])
    assert failed["status"] == "not_sent" and failed["reason"] == "send_failed"
    assert "554" in failed["detail"]
    log = ok(admin.get("/api/v1/events", params={"after": 0, "limit": 500}))["events"]
    not_sent = [e for e in log if e["event"] == "survey.not_sent"]
    assert [e["data"]["reason"] for e in not_sent] == ["send_failed"]


def test_messaging_outside_its_window_is_not_sent(client, app, as_user, tenants) -> None:  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin = as_user("admin")
    ok(admin.post("/api/v1/routing/queues", json=WA_QUEUE), 201)
    body = {"queues": {"wa": 1}, "capacity": {"messaging": 3}}
    ok(admin.put(f"/api/v1/routing/agents/{ids['agent1']}", json=body))
    available(as_user, ids)
    account = {
        "kind": "whatsapp",
        "name": "Support number",
        "queue_id": "wa",
        "phone_number_id": "1234567890",
        # Nothing may be sent: a provider that is not there would fail the test loudly.
        "api_base_url": "http://127.0.0.1:9",
        "api_version": "v21.0",
        "app_secret": APP_SECRET,
        "verify_token": "verify-0123456789",
        "access_token": "token-0123456789",
    }
    url = ok(admin.post("/api/v1/channels/accounts", json=account), 201)["webhook_url"]
    make_survey(admin, channels=["messaging"])
    delivery = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA-1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"phone_number_id": "1234567890"},
                            "messages": [
                                {
                                    "from": "4915112345678",
                                    "id": "wamid.1",
                                    "timestamp": "1765000000",
                                    "type": "text",
                                    "text": {"body": "Hello, my parcel is late."},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    raw = json.dumps(delivery).encode()
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    client.cookies.clear()
    r = client.post(
        url,
        content=raw,
        headers={"content-type": "application/json", "X-Hub-Signature-256": signature},
    )
    assert r.status_code == 200, r.text
    (conversation,) = ok(admin.get("/api/v1/conversations"))

    async def window_closes() -> None:  # the customer's last message was 25 hours ago
        session = app.state.services.db.session(SYSTEM)
        try:
            await session.execute(
                update(Conversation).values(last_inbound_at=utcnow() - timedelta(hours=25))
            )
            await session.commit()
        finally:
            await session.close()

    client.portal.call(window_closes)
    accept_and_close(as_user, "agent1", conversation)
    settle(client, app)
    (row,) = sends(admin, conversation["contact_id"])
    assert row["status"] == "not_sent" and row["reason"] == "window_closed"
    messages = ok(admin.get(f"/api/v1/conversations/{conversation['id']}/messages"))
    assert not any(m["event"] == "survey" for m in messages)


class Provider(ThreadingHTTPServer):
    """A messaging provider on loopback: the JSON bodies of the messages it was asked to send."""

    def __init__(self) -> None:
        self.sent: queue.Queue[dict[str, Any]] = queue.Queue()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                provider.sent.put(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"id": "provider-1"}')

            def log_message(self, *args: Any) -> None:
                return None

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture
def provider() -> Iterator[Provider]:
    server = Provider()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_messaging_in_its_window_gets_the_link_and_opting_out_stops_it(  # type: ignore[no-untyped-def]
    client, app, as_user, tenants, provider
) -> None:
    ids = tenants["demo"].ids
    admin = as_user("admin")
    ok(admin.post("/api/v1/routing/queues", json=WA_QUEUE), 201)
    body = {"queues": {"wa": 1}, "capacity": {"messaging": 3}}
    ok(admin.put(f"/api/v1/routing/agents/{ids['agent1']}", json=body))
    available(as_user, ids)
    secret = "gateway-secret-0123456789"
    account = {
        "kind": "webhook",
        "name": "SMS gateway",
        "queue_id": "wa",
        "outbound_url": f"http://127.0.0.1:{provider.server_address[1]}/send",
        "secret": secret,
    }
    url = ok(admin.post("/api/v1/channels/accounts", json=account), 201)["webhook_url"]
    make_survey(admin, channels=["messaging"])

    def inbound(message_id: str) -> dict[str, Any]:
        raw = json.dumps(
            {"messages": [{"id": message_id, "from": "+4915112345678", "text": "Hello?"}]}
        ).encode()
        client.cookies.clear()
        r = client.post(
            url,
            content=raw,
            headers={"content-type": "application/json", "X-Omnidesk-Signature": sign(secret, raw)},
        )
        assert r.status_code == 200, r.text
        (conversation,) = ok(admin.get("/api/v1/conversations"))
        return conversation  # type: ignore[no-any-return]

    conversation = inbound("m-1")
    accept_and_close(as_user, "agent1", conversation)
    settle(client, app)
    sent = provider.sent.get(timeout=15)
    assert sent["to"] == "+4915112345678" and "/s/" in sent["text"]
    (row,) = sends(admin, conversation["contact_id"])
    assert row["status"] == "sent" and row["channel"] == "messaging"

    # The customer opts out of surveys: their next contact's survey is not sent, with why.
    consent = {"opt_out": {"surveys": True}, "source": "phone call"}
    ok(admin.put(f"/api/v1/crm/customers/{conversation['customer_id']}/consent", json=consent))
    conversation = inbound("m-2")
    accept_and_close(as_user, "agent1", conversation)
    settle(client, app)
    (row,) = sends(admin, conversation["contact_id"])
    assert row["status"] == "not_sent" and row["reason"] == "opted_out"
    assert provider.sent.empty()
