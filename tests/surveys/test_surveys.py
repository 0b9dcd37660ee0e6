"""Post-contact surveys on both databases: definitions and their validation; a chat that ends
sends a survey into the visitor's widget conversation; answering by token (once; a second time
409; unknown 404; expired 410), by JSON and by the page; messaging outside its 24-hour window
is recorded as not sent with the reason; results with hand-picked answers; erasure of a
customer's answers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from survey_helpers import (
    SURVEY,
    accept_and_close,
    available,
    expire_all,
    make_survey,
    mark,
    ok,
    sends,
    settle,
    token_in,
)

from omnidesk.channels.surveys import ConversationSurveys
from omnidesk.platform.database import SYSTEM, utcnow
from omnidesk.platform.tenancy import tenant_by_slug
from omnidesk.surveys.dispatch import SurveyDispatcher
from omnidesk.surveys.models import SurveyCursor

WEB = {"id": "web", "channels": ["chat"], "name": "Web chat", "steps": [{"target": None}]}
WIDGET = {"title": "Talk to us", "prechat_fields": [{"key": "name", "label": "Name"}]}
RESPONSES = "/api/v1/surveys/responses"


@pytest.fixture
def chat(client, as_user, tenants) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin = as_user("admin")
    ok(admin.post("/api/v1/routing/queues", json=WEB), 201)
    ok(
        admin.put(
            f"/api/v1/routing/agents/{ids['agent1']}",
            json={"queues": {"web": 1}, "capacity": {"chat": 2}},
        )
    )
    account = {
        "kind": "chat",
        "name": "Website",
        "queue_id": "web",
        "secret": "widget-secret-0123456789abcdef",
        "widget": WIDGET,
    }
    key = ok(admin.post("/api/v1/channels/accounts", json=account), 201)["id"]
    available(as_user, ids)
    return {"key": key, "ids": ids}


class Visitor:
    def __init__(self, client: Any, key: str) -> None:
        self.client = client
        self.base = f"/api/v1/chat/widget/{key}"
        self.headers = {"origin": "https://shop.example"}
        r = self.post("/visitors")
        assert r.status_code == 201, r.text
        self.headers["X-Omnidesk-Visitor"] = r.json()["visitor_token"]

    def get(self, path: str) -> Any:
        self.client.cookies.clear()
        return self.client.get(self.base + path, headers=self.headers)

    def post(self, path: str, **kw: Any) -> Any:
        self.client.cookies.clear()
        return self.client.post(self.base + path, headers=self.headers, **kw)


def chat_ended(
    client, app, as_user, chat, name: str = "Jane Doe"
) -> tuple[Visitor, dict[str, Any]]:  # type: ignore[no-untyped-def]
    """A visitor's chat, accepted by agent1 and closed."""
    visitor = Visitor(client, chat["key"])
    ok(visitor.post("/conversation", json={"prechat": {"name": name}}))
    admin = as_user("admin")
    conversation = next(c for c in ok(admin.get("/api/v1/conversations")) if c["peer_name"] == name)
    accept_and_close(as_user, "agent1", conversation)
    settle(client, app)
    return visitor, conversation


def test_definitions_are_validated_and_admins_only(as_user) -> None:  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    for who in ("agent1", "supervisor"):
        assert as_user(who).post("/api/v1/surveys/definitions", json=SURVEY).status_code == 403
    assert as_user("agent1").get("/api/v1/surveys/definitions").status_code == 403

    def refused(body: dict[str, Any], field: str) -> None:
        r = admin.post("/api/v1/surveys/definitions", json={**SURVEY, **body})
        assert r.status_code == 422, r.text
        problem = r.json()
        named = problem.get("field") or ".".join(str(p) for p in problem["errors"][0]["loc"])
        assert field in named, (field, problem)

    refused({"channels": []}, "channels")
    refused({"channels": ["fax"]}, "channels")
    # The phone asks only what keys can answer: a voice survey needs a scored question.
    only_text = [{"id": "comment", "kind": "text", "text": "Anything else?"}]
    refused({"channels": ["chat", "voice"], "questions": only_text}, "channels")
    refused({"channels": ["chat", "chat"]}, "channels")
    refused({"questions": []}, "questions")
    refused({"questions": [{"id": "q", "kind": "stars", "text": "?"}]}, "questions.0.kind")
    refused({"questions": [{"id": "Bad id", "kind": "csat", "text": "?"}]}, "questions.0.id")
    twice = [{"id": "q", "kind": "csat", "text": "?"}, {"id": "q", "kind": "nps", "text": "?"}]
    refused({"questions": twice}, "questions.1.id")
    refused({"expires_after_days": 0}, "expires_after_days")
    refused({"queue_ids": ["no spaces"]}, "queue_ids.0")
    refused({"surprise": 1}, "surprise")

    created = make_survey(admin, queue_ids=["web"], enabled=False)
    assert created["queue_ids"] == ["web"] and created["enabled"] is False
    assert [q["kind"] for q in created["questions"]] == ["csat", "nps", "ces", "text"]
    url = f"/api/v1/surveys/definitions/{created['id']}"
    assert ok(as_user("supervisor").get(url))["name"] == SURVEY["name"]
    changed = ok(admin.put(url, json={**SURVEY, "name": "Renamed", "channels": ["email", "voice"]}))
    assert changed["name"] == "Renamed" and changed["channels"] == ["email", "voice"]
    assert [s["id"] for s in ok(admin.get("/api/v1/surveys/definitions"))] == [created["id"]]
    assert admin.delete(url).status_code == 204
    assert admin.get(url).status_code == 404


def test_a_chat_that_ends_gets_a_survey_answered_once(client, app, as_user, chat) -> None:  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    make_survey(admin)
    visitor, conversation = chat_ended(client, app, as_user, chat)

    # The invitation is in the visitor's conversation, with the link.
    messages = ok(visitor.get("/conversation"))["messages"]
    invitation = messages[-1]
    assert invitation["direction"] == "outbound" and "/s/" in invitation["text"]
    assert invitation["form"] == "survey"  # the widget shows its link as a button
    token = token_in(invitation["text"])
    (sent,) = sends(admin, conversation["contact_id"])
    assert sent["status"] == "sent" and sent["channel"] == "chat"
    assert sent["agent_id"] == chat["ids"]["agent1"] and sent["queue_id"] == "web"
    assert sent["customer_id"] == conversation["customer_id"]
    # The desk shows it as the system's message.
    desk = ok(admin.get(f"/api/v1/conversations/{conversation['id']}/messages"))
    assert any(m["sender_type"] == "system" and m["event"] == "survey" for m in desk)

    # The page: a form with a labelled scale per question, no script from elsewhere.
    client.cookies.clear()
    page = client.get(f"/s/{token}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert "<form" in page.text and 'name="overall"' in page.text and "<legend" in page.text
    assert "http" not in page.text.split("<main>")[0].replace('content="width', "")
    assert 'lang="de"' in client.get(f"/s/{token}?lang=de").text
    # The tenant's branding: its name, and its accent colour behind the name and the button.
    brand = {"display_name": "Acme <Care>", "accent_color": "#1a4d2e", "version": 1}
    ok(admin.put("/api/v1/branding", json=brand))
    client.cookies.clear()
    branded = client.get(f"/s/{token}").text
    assert '<p class="brand" style="background:#1a4d2e">Acme &lt;Care&gt;</p>' in branded
    assert '<button type="submit" style="background:#1a4d2e">' in branded
    # The widget shows the survey itself, from the customer's site: cross-origin, no cookies.
    site = {"origin": "https://shop.example"}
    preflight = client.options(
        f"{RESPONSES}/{token}",
        headers={**site, "access-control-request-method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://shop.example"
    asked = client.get(f"{RESPONSES}/{token}", headers=site)
    assert asked.headers["access-control-allow-origin"] == "https://shop.example"
    form = ok(asked)
    assert [(q["id"], q["min"], q["max"]) for q in form["questions"]][:3] == [
        ("overall", 1, 5),
        ("recommend", 0, 10),
        ("effort", 1, 7),
    ]

    # While the dispatcher has not yet marked it sent (the widget asks the moment the
    # invitation arrives), its questions are shown as well.
    mark(client, app, "pending")
    assert ok(client.get(f"{RESPONSES}/{token}", headers=site))["questions"] == form["questions"]
    assert client.get(f"/s/{token}").status_code == 200
    mark(client, app, "sent")

    # Bad answers name the question; nothing is stored for them.
    for answers, field in (
        ({"overall": 6}, "answers.overall"),
        ({"recommend": 9}, "answers.overall"),  # required
        ({"overall": 5, "recommend": 11}, "answers.recommend"),
        ({"overall": 5, "effort": "easy"}, "answers.effort"),
        ({"overall": 5, "nope": 1}, "answers.nope"),
    ):
        r = client.post(f"{RESPONSES}/{token}", json={"answers": answers})
        assert r.status_code == 422 and r.json()["field"] == field, r.text
    good = {"overall": 4, "recommend": 10, "effort": 2, "comment": "Quick and kind."}
    assert ok(client.post(f"{RESPONSES}/{token}", json={"answers": good}), 201)["answers"] == 4
    again = client.post(f"{RESPONSES}/{token}", json={"answers": good})
    assert again.status_code == 409 and again.json()["code"] == "survey_answered"
    assert client.get(f"/s/{token}").status_code == 409
    assert client.get(f"{RESPONSES}/{'x' * 43}").status_code == 404
    assert client.get(f"/s/{'x' * 43}").status_code == 404
    (answered,) = sends(admin, conversation["contact_id"])
    assert answered["status"] == "answered"

    result = ok(as_user("supervisor").get("/api/v1/surveys/results", params={"group_by": "agent"}))
    assert result["total"]["sent"] == 1 and result["total"]["answered"] == 1
    assert result["total"]["csat"] == {"answers": 1, "satisfied": 1, "score": 100.0}
    assert result["total"]["nps"]["score"] == 100.0 and result["total"]["ces"]["mean"] == 2.0
    assert [r["key"] for r in result["rows"]] == [chat["ids"]["agent1"]]
    assert [t["text"] for t in result["texts"]] == ["Quick and kind."]
    assert as_user("agent1").get("/api/v1/surveys/results").status_code == 403

    # The log has the survey's events, and none carries the free text.
    log = ok(admin.get("/api/v1/events", params={"after": 0, "limit": 500}))
    kinds = [e["event"] for e in log["events"] if e["event"].startswith("survey.")]
    assert kinds.count("survey.sent") == 1 and kinds.count("survey.answered") == 1
    assert "Quick and kind." not in str(log)


def test_the_page_answers_and_an_expired_survey_is_refused(client, app, as_user, chat) -> None:  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    solved = {"id": "solved", "kind": "resolved", "text": "Was it solved?"}
    make_survey(admin, questions=[*SURVEY["questions"], solved])
    visitor, _ = chat_ended(client, app, as_user, chat, name="Page Person")
    token = token_in(ok(visitor.get("/conversation"))["messages"][-1]["text"])
    client.cookies.clear()
    # A "was it resolved?" question is a yes/no choice, in words.
    page = client.get(f"/s/{token}").text
    assert 'name="solved" value="1"' in page and ">Yes</label>" in page and ">No</label>" in page
    # A form post from the page itself (no script): a bad value shows the form again.
    for wrong in ("overall=9", "overall=5&solved=2"):
        bad = client.post(
            f"/s/{token}",
            content=wrong,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert bad.status_code == 422 and 'role="alert"' in bad.text
    done = client.post(
        f"/s/{token}",
        content="overall=5&recommend=6&comment=Sch%C3%B6n&solved=1",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200 and "Thank you" in done.text
    result = ok(admin.get("/api/v1/surveys/results"))
    assert result["total"]["nps"]["detractors"] == 1 and result["texts"][0]["text"] == "Schön"
    assert result["total"]["fcr"] == {"answers": 1, "resolved": 1, "score": 100.0}

    # Another chat, whose survey lies unanswered past its days: 410.
    visitor, _ = chat_ended(client, app, as_user, chat, name="Late Person")
    late = token_in(ok(visitor.get("/conversation"))["messages"][-1]["text"])
    expire_all(client, app)
    r = client.post(f"{RESPONSES}/{late}", json={"answers": {"overall": 5}})
    assert r.status_code == 410 and r.json()["code"] == "survey_expired"
    assert client.get(f"/s/{late}").status_code == 410


def test_no_survey_for_the_queue_is_recorded_with_why(client, app, as_user, chat) -> None:  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    make_survey(admin, queue_ids=["elsewhere"])
    make_survey(admin, name="Mail only", channels=["email"])
    _, conversation = chat_ended(client, app, as_user, chat)
    (row,) = sends(admin, conversation["contact_id"])
    assert row["status"] == "not_sent" and row["reason"] == "no_survey"
    result = ok(admin.get("/api/v1/surveys/results"))
    assert result["not_sent_reasons"] == {"no_survey": 1} and result["total"]["sent"] == 0


def test_an_erased_customers_answers_are_erased(client, app, as_user, chat) -> None:  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    make_survey(admin)
    visitor, conversation = chat_ended(client, app, as_user, chat)
    token = token_in(ok(visitor.get("/conversation"))["messages"][-1]["text"])
    answers = {"overall": 2, "comment": "My parcel to Zanzibar was late."}
    ok(client.post(f"{RESPONSES}/{token}", json={"answers": answers}), 201)
    before = ok(admin.get("/api/v1/surveys/results"))
    assert len(before["texts"]) == 1
    r = admin.post(f"/api/v1/crm/customers/{conversation['customer_id']}/erase")
    assert r.status_code == 200, r.text
    assert (r.json()["surveys"], r.json()["survey_texts"]) == (1, 1)  # said in the answer
    after = ok(admin.get("/api/v1/surveys/results"))
    assert after["texts"] == []
    # The score stays (it says nothing of the person once they are gone): results add up.
    assert after["total"]["csat"] == before["total"]["csat"]
    assert "Zanzibar" not in str(ok(admin.get("/api/v1/events", params={"after": 0, "limit": 500})))


def test_results_of_an_empty_range_are_zeros_and_bad_ranges_name_the_field(as_user) -> None:  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    now = utcnow()
    empty = ok(
        admin.get(
            "/api/v1/surveys/results",
            params={"start": (now - timedelta(days=400)).isoformat(), "end": now.isoformat()},
        )
    )
    zero = {"sent": 0, "not_sent": 0, "answered": 0}
    assert {k: empty["total"][k] for k in zero} == zero
    assert empty["total"]["csat"]["score"] == 0 and empty["total"]["nps"]["score"] == 0
    assert empty["total"]["ces"]["mean"] == 0 and empty["texts"] == []
    r = admin.get(
        "/api/v1/surveys/results",
        params={"start": now.isoformat(), "end": (now - timedelta(hours=1)).isoformat()},
    )
    assert r.status_code == 422 and r.json()["field"] == "end"
    assert admin.get("/api/v1/surveys/results", params={"group_by": "team"}).status_code == 422


def test_a_contact_that_ended_while_surveys_were_down_is_surveyed_after(  # type: ignore[no-untyped-def]
    client, app, as_user, chat
) -> None:
    """The dispatcher reads the event log from its cursor: an end it was not woken for (it
    was stopped, the process restarted) is surveyed when it starts again, once."""
    admin = as_user("admin")
    make_survey(admin)
    client.portal.call(app.state.surveys.settled)  # its cursor stands at the log's end
    client.portal.call(app.state.surveys.stop)
    _, conversation = chat_ended(client, app, as_user, chat)
    assert sends(admin, conversation["contact_id"]) == []

    again = SurveyDispatcher(
        app.state.services.db,
        app.state.services.bus,
        ConversationSurveys(app.state.conversations),
        public_url="https://desk.example.com",
    )
    app.state.surveys = again  # stopped with the app
    client.portal.call(again.start)
    settle(client, app)
    (row,) = sends(admin, conversation["contact_id"])
    assert row["status"] == "sent"

    # The whole log read again (another node, a replay): still one survey.
    async def replay() -> None:
        session = app.state.services.db.session(SYSTEM)
        try:
            tenant = await tenant_by_slug(session, "demo")
            assert tenant is not None
            await session.execute(update(SurveyCursor).values(last_seq=0))
            await session.commit()
        finally:
            await session.close()
        await again.catch_up(tenant.id)

    client.portal.call(replay)
    assert len(sends(admin, conversation["contact_id"])) == 1


def test_a_survey_answered_before_it_is_marked_sent_counts_once_as_sent(  # type: ignore[no-untyped-def]
    client, app, as_user, chat
) -> None:
    """The widget shows the survey the moment the invitation arrives, so the answer can come
    before the dispatcher marks the survey sent: it is taken, and the mark still notes when
    it was sent (no later than answered) and logs it sent once."""
    from omnidesk.surveys import answers

    admin = as_user("admin")
    make_survey(admin)
    services = app.state.services

    class AnsweredAtOnce(ConversationSurveys):
        async def deliver(self, tenant_id, invitation):  # type: ignore[no-untyped-def]
            await super().deliver(tenant_id, invitation)
            token = invitation.url.rsplit("/", 1)[-1]
            await answers.answer(services.db, services.bus, token, {"overall": 5})

    client.portal.call(app.state.surveys.stop)
    quick = SurveyDispatcher(
        services.db,
        services.bus,
        AnsweredAtOnce(app.state.conversations),
        public_url="https://desk.example.com",
    )
    app.state.surveys = quick  # stopped with the app
    client.portal.call(quick.start)
    _, conversation = chat_ended(client, app, as_user, chat)
    settle(client, app)
    (row,) = sends(admin, conversation["contact_id"])
    assert row["status"] == "answered" and row["sent_at"] is not None, row
    assert row["sent_at"] <= row["answered_at"], row
    result = ok(admin.get("/api/v1/surveys/results"))
    assert result["total"]["sent"] == 1 and result["total"]["answered"] == 1
    log = ok(admin.get("/api/v1/events", params={"after": 0, "limit": 500}))
    kinds = [e["event"] for e in log["events"] if e["event"].startswith("survey.")]
    assert kinds.count("survey.sent") == 1 and kinds.count("survey.answered") == 1
