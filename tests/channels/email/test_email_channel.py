"""The email channel end to end against real servers: mail sent with smtplib to the built-in
SMTP listener (127.0.0.1, a port the system chose) becomes a routed contact on the right CRM
customer, offered to the agent who speaks its language; the agent's reply (API) reaches a
local aiosmtpd relay with Message-ID, In-Reply-To and References; the customer's reply joins
the same conversation; automated mail and bounces open no contact (the bounce marks the reply
failed); a mail in a Dovecot mailbox (IMAP, IDLE) becomes a contact. On both databases."""

from __future__ import annotations

import imaplib
import shutil
import smtplib
import tempfile
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from mail_servers import PASSWORD, USER, Relay, start_dovecot

from omnidesk.platform.settings import Settings, load_settings

SUPPORT = "support@example.com"
ANNA = "anna.schmidt@example.org"
QUEUE = {
    "id": "email",
    "channels": ["email"],
    "name": "Email",
    "steps": [
        {"target": "skill(contact.language_skill) >= 1", "timeout_seconds": 60},
        {"target": None},
    ],
    "offer_timeout_seconds": 120,
}
GERMAN = "Guten Tag, ich habe eine Frage zu meiner letzten Rechnung und bitte um Rückruf."


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Any]:
    # Its own folder, readable by Dovecot's unprivileged processes (pytest's tmp is 0700).
    root = Path(tempfile.mkdtemp(prefix="omnidesk-dovecot-"))
    root.chmod(0o755)
    server = start_dovecot(root)
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


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
        email_imap_poll_seconds=0.2,
        email_reopen_limit=2,
    )


@pytest.fixture
def relay(client) -> Iterator[Relay]:  # type: ignore[no-untyped-def]
    found = Relay()
    client.portal.call(found.start)
    yield found
    client.portal.call(found.stop)


@pytest.fixture
def desk(client, app, as_user, tenants, relay) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin = as_user("admin")
    assert admin.post("/api/v1/routing/queues", json=QUEUE).status_code == 201
    for agent, language in (("agent1", "lang.en"), ("agent2", "lang.de")):
        r = admin.put(
            f"/api/v1/routing/agents/{ids[agent]}",
            json={"skills": {language: 3}, "queues": {"email": 1}, "capacity": {"email": 5}},
        )
        assert r.status_code == 200, r.text
        r = as_user(agent).post(
            f"/api/v1/routing/agents/{ids[agent]}/state", json={"state": "available"}
        )
        assert r.status_code == 200, r.text
    r = admin.post("/api/v1/channels/accounts", json=account_body(relay))
    assert r.status_code == 201, r.text
    account = r.json()
    assert account["webhook_url"] is None and account["config"]["address"] == SUPPORT
    # One account per address, whichever tenant: the listener finds it by the address.
    again = as_user("admin", "other").post(
        "/api/v1/channels/accounts", json={**account_body(relay), "queue_id": "x"}
    )
    assert again.status_code == 409, again.text
    return {"account": account, "ids": ids, "port": app.state.email.listener.port}


def account_body(relay: Relay, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "email",
        "name": "Example Support",
        "queue_id": "email",
        "address": SUPPORT,
        "smtp_host": "127.0.0.1",
        "smtp_port": relay.port,
        "smtp_security": "none",
        **extra,
    }


def mail(
    sender: str = ANNA,
    subject: str = "Rechnung 4711",
    body: str = GERMAN,
    to: str = SUPPORT,
    **headers: str,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Anna Schmidt <{sender}>" if sender == ANNA else sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.org")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def send(port: int, message: EmailMessage | bytes, sender: str | None = None) -> None:
    """Through the listener, as a mail server would: 250 means stored."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        if isinstance(message, bytes):
            smtp.sendmail(sender or ANNA, [SUPPORT], message)
        else:
            smtp.send_message(message, from_addr=sender)


def conversations(user: Any) -> list[dict[str, Any]]:
    r = user.get("/api/v1/conversations")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def messages(user: Any, conversation_id: str) -> list[dict[str, Any]]:
    r = user.get(f"/api/v1/conversations/{conversation_id}/messages")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def contact(user: Any, contact_id: str) -> dict[str, Any]:
    r = user.get(f"/api/v1/routing/contacts/{contact_id}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def accept(user: Any, offer_id: str) -> None:
    r = user.post(f"/api/v1/routing/offers/{offer_id.replace('#', '%23')}/accept")
    assert r.status_code == 200, r.text


def ids_of(header: str | None) -> list[str]:
    return [part.strip("<>") for part in (header or "").split()]


def test_mail_to_contact_reply_threading_and_follow_ups(  # type: ignore[no-untyped-def]
    as_user, desk, relay
) -> None:
    port, ids = desk["port"], desk["ids"]
    admin = as_user("admin")

    # An unknown recipient is refused at RCPT: the listener is no open relay.
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(port, mail(to="nobody@example.com"))
    first = mail()
    send(port, first)
    # 250 came after the commit: it is there, now.
    (conv,) = conversations(admin)
    assert conv["channel"] == "email" and conv["peer_id"] == ANNA
    assert conv["peer_name"] == "Anna Schmidt" and conv["language"] == "de"
    customer = admin.get(f"/api/v1/crm/customers/{conv['customer_id']}").json()
    assert {"kind": "email", "value": ANNA}.items() <= customer["identities"][0].items()
    routed = contact(admin, conv["contact_id"])
    assert routed["state"] == "offered" and routed["agent_id"] == ids["agent2"]
    assert routed["channel"] == "email" and routed["attributes"]["language"] == "de"
    (inbound,) = messages(admin, conv["id"])
    assert inbound["subject"] == "Rechnung 4711" and inbound["text"].strip() == GERMAN
    assert inbound["external_id"] == first["Message-ID"].strip("<>")
    # The same mail again (a sending server retrying): stored once.
    send(port, first)
    assert len(messages(admin, conv["id"])) == 1

    agent = as_user("agent2")
    accept(agent, routed["offer_id"])
    r = agent.post(f"/api/v1/conversations/{conv['id']}/messages", json={"text": "Gerne!"})
    assert r.status_code == 201, r.text
    reply = r.json()
    assert reply["status"] == "sent"
    envelope, out = relay.next()
    token = f"[#{uuid.UUID(conv['id']).hex[:8].upper()}]"
    assert envelope.mail_from == SUPPORT and envelope.rcpt_tos == [ANNA]
    assert out["To"] == ANNA and SUPPORT in out["From"]
    assert out["Subject"] == f"Re: Rechnung 4711 {token}"
    assert out["Message-ID"].strip("<>") == reply["external_id"]
    assert ids_of(out["In-Reply-To"]) == [first["Message-ID"].strip("<>")]
    assert ids_of(out["References"]) == [first["Message-ID"].strip("<>")]
    assert "Auto-Submitted" not in out and out.get_content().strip() == "Gerne!"

    # The customer answers: In-Reply-To our reply; her client rewrote the subject.
    answer = mail(
        subject="AW: Rechnung",
        body="Danke, die Rechnungsnummer ist 4711.",
        In_Reply_To=out["Message-ID"],
        References=f"{first['Message-ID']} {out['Message-ID']}",
    )
    send(port, answer)
    # A colleague on Cc answers in the thread from another address: joins it, not hers.
    colleague = mail(
        sender="bob@example.org",
        subject="Re: Rechnung 4711",
        body="Ich bin Annas Kollege.",
        References=out["Message-ID"],
    )
    send(port, colleague)
    # A client that drops reference headers: the ticket token in the subject finds it.
    tokened = mail(subject=f"AW: Fwd: Rechnung 4711 {token}", body="Noch eine Frage.")
    send(port, tokened)
    (same,) = conversations(admin)
    assert same["id"] == conv["id"] and same["rounds"] == 1
    assert same["customer_id"] == conv["customer_id"] and same["peer_id"] == ANNA
    texts = [(m["direction"], m["sender_id"]) for m in messages(admin, conv["id"])]
    assert texts == [
        ("inbound", ANNA),
        ("outbound", ids["agent2"]),
        ("inbound", ANNA),
        ("inbound", "bob@example.org"),
        ("inbound", ANNA),
    ]
    # The second reply names every earlier id, oldest first.
    r = agent.post(f"/api/v1/conversations/{conv['id']}/messages", json={"html": "<p>Ok</p>"})
    assert r.status_code == 201, r.text
    _, second = relay.next()
    earlier = [m["external_id"] for m in messages(admin, conv["id"])[:-1]]
    assert ids_of(second["References"]) == earlier
    assert ids_of(second["In-Reply-To"]) == [tokened["Message-ID"].strip("<>")]

    # A stranger quoting the token is not attached to Anna's thread (zammad#5064).
    send(port, mail(sender="eve@example.net", subject=f"Re: {token}", body="Hello there friend"))
    found = {c["peer_id"]: c for c in conversations(admin)}
    assert set(found) == {ANNA, "eve@example.net"}


def test_charsets_html_attachments_and_malformed_mime(as_user, desk) -> None:  # type: ignore[no-untyped-def]
    port = desk["port"]
    admin = as_user("admin")
    # No charset declared, Windows-1252 bytes; an unknown charset; a wrong one.
    undeclared = (
        b"From: Ana <ana@example.org>\r\nTo: support@example.com\r\n"
        b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
        b"Message-ID: <cp1252@example.org>\r\nContent-Type: text/plain\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\nSch\xf6ne Gr\xfc\xdfe aus M\xfcnchen\r\n"
    )
    send(port, undeclared, "ana@example.org")
    unknown = undeclared.replace(b"<cp1252@", b"<unknown@").replace(
        b"text/plain", b'text/plain; charset="x-no-such-charset"'
    )
    send(port, unknown, "ana@example.org")
    wrong = undeclared.replace(b"<cp1252@", b"<wrong@").replace(
        b"text/plain", b"text/plain; charset=utf-8"
    )
    send(port, wrong, "ana@example.org")
    # HTML with a script, an inline cid: image without Content-Disposition (Outlook), a PDF.
    rich = mail(sender="ana@example.org", subject="Bild", body="see the picture")
    rich.add_alternative(
        '<p onclick="x()">Look <img src="cid:pic1@example.org"><script>alert(1)</script></p>',
        subtype="html",
    )
    html_part = rich.get_payload()[1]
    html_part.add_related(b"\x89PNG fake", "image", "png", cid="<pic1@example.org>")
    rich.add_attachment(b"%PDF-1.4 tiny", "application", "pdf", filename="rechnung.pdf")
    send(port, rich)
    (conv,) = conversations(admin)
    first, second, wrongly, third = messages(admin, conv["id"])
    assert first["text"].strip() == "Schöne Grüße aus München" and first["subject"] == "Grüße"
    assert second["text"].strip() == "Schöne Grüße aus München"
    assert wrongly["text"].strip() == "Schöne Grüße aus München"
    assert "<script>" not in third["html"] and "onclick" not in third["html"]
    assert "Look" in third["html"]
    files = {a["content_type"]: a for a in third["attachments"]}
    assert files["image/png"]["state"] == "stored" and files["image/png"]["filename"] == "pic1"
    assert files["application/pdf"]["state"] == "stored"
    assert files["application/pdf"]["filename"] == "rechnung.pdf"
    picture = admin.get(files["image/png"]["url"])
    assert picture.status_code == 200 and picture.content == b"\x89PNG fake"

    # Malformed MIME: a multipart without a boundary, and no sender: refused with a reason.
    broken = (
        b"From: ana@example.org\r\nTo: support@example.com\r\nSubject: broken\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\nno parts at all\r\n"
    )
    for raw in (broken, b"To: support@example.com\r\nSubject: who\r\n\r\nanonymous\r\n"):
        with pytest.raises(smtplib.SMTPDataError) as refused:
            send(port, raw, "ana@example.org")
        assert refused.value.smtp_code == 550
    assert len(messages(admin, conv["id"])) == 4


def test_automated_mail_bounces_and_the_reopen_limit(  # type: ignore[no-untyped-def]
    as_user, desk, relay, settings
) -> None:
    port, ids = desk["port"], desk["ids"]
    admin = as_user("admin")
    unrouted = Path(settings.data_dir) / "channels" / "email" / "unrouted"

    # Automated mail outside any thread: accepted (250), kept as a file, no conversation.
    automated = [
        mail(sender="robot@example.net", Auto_Submitted="auto-replied"),
        mail(sender="news@example.net", Precedence="bulk"),
        mail(sender="list@example.net", List_Id="<support.lists.example.net>"),
        mail(sender="ex@example.net", X_Auto_Response_Suppress="All"),
    ]
    for message in automated:
        send(port, message)
    send(port, mail(sender="daemon@example.net"), sender="")  # MAIL FROM:<>
    assert conversations(admin) == []
    assert len(list(unrouted.rglob("*.eml"))) == 5

    # A person writes; the agent answers; that answer bounces.
    first = mail()
    send(port, first)
    (conv,) = conversations(admin)
    agent = as_user("agent2")
    accept(agent, contact(admin, conv["contact_id"])["offer_id"])
    r = agent.post(f"/api/v1/conversations/{conv['id']}/messages", json={"text": "Antwort"})
    assert r.status_code == 201, r.text
    _, out = relay.next()
    dsn = bounce_for(out["Message-ID"])
    send(port, dsn, sender="")
    sent = [m for m in messages(admin, conv["id"]) if m["direction"] == "outbound"]
    assert sent[0]["status"] == "failed" and sent[0]["error"]["status"] == "5.1.1"
    assert "user unknown" in sent[0]["error"]["detail"]

    # An out-of-office answer to our reply joins the thread and opens nothing.
    agent.post(f"/api/v1/conversations/{conv['id']}/close")
    ooo = mail(
        subject="Abwesenheitsnotiz", In_Reply_To=out["Message-ID"], Auto_Submitted="auto-replied"
    )
    send(port, ooo)
    (after,) = conversations(admin)
    assert after["status"] == "closed" and after["rounds"] == 1
    assert messages(admin, conv["id"])[-1]["subject"] == "Abwesenheitsnotiz"

    # A loop: the customer's side keeps answering; after the limit (2 rounds in the window)
    # mail is stored in the thread but opens no contact.
    send(port, mail(subject="Re: Antwort", body="Noch einmal bitte, danke sehr."))
    (reopened,) = conversations(admin)
    assert reopened["status"] == "open" and reopened["rounds"] == 2
    assert admin.post(f"/api/v1/conversations/{conv['id']}/close").status_code == 200
    send(port, mail(subject="Re: Antwort", body="Und noch einmal, danke sehr."))
    (limited,) = conversations(admin)
    assert limited["status"] == "closed" and limited["rounds"] == 2
    assert messages(admin, conv["id"])[-1]["text"].strip() == "Und noch einmal, danke sehr."
    assert ids["agent2"]  # the agent list is the demo's


def bounce_for(message_id: str) -> bytes:
    """A delivery-status notification (RFC 3464) as Postfix sends one."""
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
        f"To: {SUPPORT}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-1@mx.example.org>\r\nAuto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B0"\r\n\r\n'
        "--B0\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B0\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.org\r\n\r\n"
        f"Final-Recipient: rfc822; {ANNA}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        "--B0\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: {SUPPORT}\r\nTo: {ANNA}\r\nMessage-ID: {message_id}\r\n\r\n"
        "--B0--\r\n"
    ).encode()


def test_acknowledgement_is_marked_automatic(as_user, desk, relay) -> None:  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    r = admin.post(
        "/api/v1/channels/accounts",
        json=account_body(
            relay, address="hilfe@example.com", auto_reply="Danke, wir melden uns bald."
        ),
    )
    assert r.status_code == 201, r.text
    send(desk["port"], mail(to="hilfe@example.com"))
    envelope, ack = relay.next()
    assert envelope.rcpt_tos == [ANNA] and ack["Auto-Submitted"] == "auto-replied"
    assert ack.get_content().strip() == "Danke, wir melden uns bald."
    (conv,) = conversations(admin)
    kinds = [(m["direction"], m["sender_type"], m["status"]) for m in messages(admin, conv["id"])]
    assert kinds == [("inbound", "customer", "received"), ("outbound", "system", "sent")]


def test_a_dovecot_mailbox_mail_becomes_a_contact(  # type: ignore[no-untyped-def]
    as_user, desk, relay, dovecot
) -> None:
    admin = as_user("admin")
    imap = imaplib.IMAP4("127.0.0.1", dovecot.port)
    imap.login(USER, PASSWORD)
    imap.select("INBOX")
    # Left over from the other backend's run of this module: the mailbox starts empty.
    imap.store("1:*", "+FLAGS.SILENT", "(\\Deleted)") if imap.search(None, "ALL")[1][0] else None
    imap.expunge()
    # A mail without a sender: never a contact, left in the mailbox flagged, never lost.
    status, _ = imap.append("INBOX", None, None, b"Subject: who\r\n\r\nanonymous\r\n")
    assert status == "OK"
    r = admin.post(
        "/api/v1/channels/accounts",
        json=account_body(
            relay,
            address="mailbox@example.com",
            imap_host="127.0.0.1",
            imap_port=dovecot.port,
            imap_security="none",
            imap_username=USER,
            imap_password=PASSWORD,
        ),
    )
    assert r.status_code == 201, r.text
    assert set(r.json()["config"]) >= {"imap_host", "imap_username"}
    assert "imap_password" not in r.json()["config"]
    with admin.websocket() as ws:
        ws.send_json({"type": "register", "last_event_id": None})
        ws.receive_json()
        for n, sender in enumerate(("lina@example.org", "marco@example.org")):
            message = mail(sender=sender, to="mailbox@example.com", body=f"Hello, question {n}")
            status, _ = imap.append("INBOX", None, None, message.as_bytes())
            assert status == "OK"
            opened = until(ws, "conversation.contact_opened")
            assert opened["data"]["reopened"] is False
    found = {c["peer_id"]: c for c in conversations(admin)}
    assert set(found) == {"lina@example.org", "marco@example.org"}
    routed = contact(admin, found["lina@example.org"]["contact_id"])
    assert routed["state"] == "offered" and routed["channel"] == "email"
    # Flagged only after it was stored: the first is seen (the second's flag may follow).
    imap.select("INBOX")
    unseen = imap.search(None, "UNSEEN")[1][0].split()
    assert b"1" not in unseen and b"2" not in unseen and len(unseen) <= 1
    assert imap.search(None, "FLAGGED")[1][0].split() == [b"1"]
    assert imap.search(None, "ALL")[1][0].split() == [b"1", b"2", b"3"]
    imap.logout()


def until(ws: Any, event: str) -> dict[str, Any]:
    while True:
        message = ws.receive_json()
        if message.get("type") == "event" and message.get("event") == event:
            return message  # type: ignore[no-any-return]


def test_mail_that_would_open_a_contact_waits_out_an_overload(  # type: ignore[no-untyped-def]
    as_user, desk, overloaded
) -> None:
    """451 (the sending server keeps the mail and tries again), nothing stored; then taken."""
    message = mail()
    with overloaded(), pytest.raises(smtplib.SMTPDataError) as deferred:
        send(desk["port"], message)
    assert deferred.value.smtp_code == 451
    admin = as_user("admin")
    assert conversations(admin) == []
    send(desk["port"], message)  # the sender's retry, same Message-ID
    (conv,) = conversations(admin)
    assert [m["direction"] for m in messages(admin, conv["id"])] == ["inbound"]
