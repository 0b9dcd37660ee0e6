"""The call history and recordings list APIs over a log of ended calls: filters, cursor paging,
outcomes, and who sees what (the live-call rule). Both databases.

The calls are written as the voice server writes them — the same event types, audiences and
recording rows, through a unit of work — without running SIP: what is read is the log's shape.
The end-to-end tests (tests/e2e/test_getting_started.py, test_demo_traffic.py) read the same
APIs after real calls."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omnidesk.channels.voice import call_events as ev
from omnidesk.channels.voice.models import Recording
from omnidesk.channels.voice.quality import LegQuality
from omnidesk.platform.bus import InProcessBus
from omnidesk.platform.database import SCOPE_KEY, SYSTEM
from omnidesk.platform.events import Audience
from omnidesk.platform.tenancy import tenant_by_slug
from omnidesk.platform.uow import UnitOfWork

HISTORY = "/api/v1/voice/call-history"
RECORDINGS = "/api/v1/voice/recordings"
NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass
class Call:
    """One ended call to write: its steps, its end, its recordings."""

    name: str
    caller: str
    queue: str | None = None
    agent: str | None = None  # username
    answered: bool = False
    reason: str = "caller bye"
    steps: tuple[tuple[str, dict[str, Any]], ...] = ()
    recordings: int = 0
    voicemail: bool = False
    team_sees: bool = False
    started: datetime = NOW - timedelta(minutes=30)
    direction: str = "inbound"
    audio: tuple[LegQuality, ...] = ()


# An agent on a browser phone at home: 5 % of their audio lost, 40 ms jitter, 320 ms round trip.
AUDIO = (
    LegQuality(
        leg="customer",
        transport="rtp",
        packets_received=7000,
        jitter_ms=2.5,
        jitter_max_ms=2.5,
        samples=1,
    ),
    LegQuality(
        leg="agent",
        transport="webrtc",
        packets_received=6650,
        packets_lost=350,
        jitter_ms=12.0,
        jitter_max_ms=40.0,
        packets_sent=7000,
        remote_packets_lost=70,
        remote_jitter_max_ms=8.0,
        rtt_ms=180.0,
        rtt_max_ms=320.0,
        samples=29,
    ),
)

CALLS = [
    Call("answered", "+15550001", queue="support", agent="agent1", answered=True,
         reason="agent bye", steps=(("queued", {}), ("ringing", {}), ("connected", {})),
         recordings=1, team_sees=True, audio=AUDIO),
    Call("abandoned", "+15550002", queue="support", steps=(("queued", {}),), team_sees=True),
    Call("ivr", "+15550003"),
    Call("voicemail", "+15550004", voicemail=True),
    Call("yesterday", "+15550005", queue="sales", agent="agent2", answered=True,
         reason="caller bye", steps=(("queued", {}), ("connected", {})), team_sees=True,
         started=NOW - timedelta(days=1)),
    Call("callback", "+15550006", queue="support", steps=(("queued", {}), ("callback", {})),
         team_sees=True),
    Call("out", "+15550007", agent="agent2", direction="outbound", reason="far busy"),
]  # fmt: skip


def _write(app: Any, client: Any, slug: str, ids: dict[str, str], call: Call) -> str:
    """Write `call` to tenant `slug`'s log as the voice server would; returns its id."""
    call_id = uuid.uuid4().hex
    agent = uuid.UUID(ids[call.agent]) if call.agent else None
    audience = Audience.of(
        [agent] if agent else [], [uuid.UUID(ids["team"])] if call.team_sees else []
    )
    start = call.started
    connected = start + timedelta(seconds=40) if call.answered else None

    async def write() -> None:
        db = app.state.services.db
        session = db.session(SYSTEM)
        try:
            tenant = await tenant_by_slug(session, slug)
            assert tenant is not None
            session.info[SCOPE_KEY] = tenant.id
            uow = UnitOfWork(session, InProcessBus(), tenant_id=tenant.id)
            view = {"call_id": call_id, "queue_id": call.queue}
            for state, detail in call.steps:
                detail = (
                    {**detail, "queue": call.queue} if state in ("queued", "callback") else detail
                )
                uow.record(ev.CallStateChanged(call_id=call_id, state=state, detail=detail,
                                               call=view), audience)  # fmt: skip
            recordings = []
            for i in range(call.recordings + int(call.voicemail)):
                row = Recording(
                    id=uuid.uuid4(), tenant_id=tenant.id, contact_id=call_id, path=f"x{i}.wav",
                    duration_s=10.0, state="complete", sha256="0" * 64,
                    started_at=start + timedelta(seconds=50 + i),
                    ended_at=start + timedelta(minutes=2),
                )  # fmt: skip
                session.add(row)
                recordings.append(str(row.id))
            if call.voicemail:
                detail = {"voicemail": "started", "queue": "voicemail"}
                uow.record(ev.CallStateChanged(call_id=call_id, state="voicemail", detail=detail))
                detail = {"voicemail": "saved", "recording_id": recordings[-1]}
                uow.record(ev.CallStateChanged(call_id=call_id, state="voicemail", detail=detail))
            uow.record(
                ev.CallEnded(
                    call_id=call_id, direction=call.direction, caller=call.caller,
                    callee="+15550100", contact_id=call_id if call.queue else None,
                    agent_id=agent if call.answered or call.direction == "outbound" else None,
                    started_at=start, connected_at=connected,
                    ended_at=start + timedelta(minutes=3), reason=call.reason,
                    recording_ids=recordings, ivr_path=["welcome", "menu"],
                    audio=list(call.audio),
                ),
                audience,
            )  # fmt: skip
            await uow.commit()
        finally:
            await session.close()

    client.portal.call(write)
    return call_id


@pytest.fixture
def calls(app, client, tenants) -> dict[str, str]:
    made = {c.name: _write(app, client, "demo", tenants["demo"].ids, c) for c in CALLS}
    other = Call("other tenant", "+15550009", queue="support", agent="agent1", answered=True)
    made["other"] = _write(app, client, "other", tenants["other"].ids, other)
    return made


def _names(calls: dict[str, str], items: list[dict[str, Any]]) -> list[str]:
    by_id = {v: k for k, v in calls.items()}
    return [by_id[item["call_id"]] for item in items]


def _all(user: Any, url: str = HISTORY, **params: Any) -> list[dict[str, Any]]:
    r = user.get(url, params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


def test_who_sees_which_ended_calls(calls, as_user) -> None:
    # Newest first in the log's order: "yesterday" started a day ago but was written fifth.
    assert _names(calls, _all(as_user("admin"))) == [
        "out", "callback", "yesterday", "voicemail", "ivr", "abandoned", "answered"
    ]  # fmt: skip
    # A supervisor: the calls of their team's queues and agents (not IVR-only or voicemail
    # calls no team followed, not another tenant's).
    assert _names(calls, _all(as_user("supervisor"))) == [
        "callback", "yesterday", "abandoned", "answered"
    ]  # fmt: skip
    assert _names(calls, _all(as_user("agent1"))) == ["answered"]
    assert _names(calls, _all(as_user("agent2"))) == ["out", "yesterday"]
    # Another tenant's call, and a call the user may not see, are not found.
    assert as_user("admin").get(f"{HISTORY}/{calls['other']}").status_code == 404
    assert as_user("supervisor").get(f"{HISTORY}/{calls['ivr']}").status_code == 404
    assert as_user("agent2").get(f"{HISTORY}/{calls['answered']}").status_code == 404
    assert as_user("admin").get(f"{HISTORY}/{uuid.uuid4().hex}").status_code == 404


def test_one_ended_call_has_its_whole_record(calls, as_user, tenants) -> None:
    r = as_user("agent1").get(f"{HISTORY}/{calls['answered']}")
    assert r.status_code == 200, r.text
    call = r.json()
    assert call["queue_id"] == "support" and call["agent_id"] == tenants["demo"].ids["agent1"]
    assert call["outcome"] == "answered" and call["talk_seconds"] == 140.0
    assert call["ivr_path"] == ["welcome", "menu"] and len(call["recording_ids"]) == 1
    assert (call["caller"], call["callee"], call["end_reason"]) == (
        "+15550001", "+15550100", "agent bye"
    )  # fmt: skip
    outcomes = {name: as_user("admin").get(f"{HISTORY}/{calls[name]}").json()["outcome"]
                for name in ("abandoned", "ivr", "voicemail", "callback", "out")}  # fmt: skip
    assert outcomes == {"abandoned": "abandoned", "ivr": "ivr", "voicemail": "voicemail",
                        "callback": "callback", "out": "not_connected"}  # fmt: skip
    voicemail = as_user("admin").get(f"{HISTORY}/{calls['voicemail']}").json()
    assert voicemail["queue_id"] == "voicemail" and voicemail["audio"] == []


def test_audio_quality_figures_per_leg(calls, as_user) -> None:
    (listed,) = [c for c in _all(as_user("supervisor")) if c["call_id"] == calls["answered"]]
    customer, agent = listed["audio"]
    assert (customer["leg"], customer["transport"], customer["issues"]) == ("customer", "rtp", [])
    assert (customer["loss_pct"], customer["jitter_peak_ms"], customer["rtt_ms"]) == (0, 2.5, None)
    # The agent's leg: the worse direction's loss (350 of 7000 from the browser), the highest
    # jitter either way, the round trip from RTCP; each beyond its threshold.
    assert (agent["leg"], agent["transport"]) == ("agent", "webrtc")
    assert (agent["loss_pct"], agent["jitter_peak_ms"]) == (5.0, 40.0)
    assert (agent["rtt_ms"], agent["rtt_max_ms"]) == (180.0, 320.0)
    assert agent["issues"] == ["loss", "jitter", "rtt"]
    assert (agent["packets_received"], agent["packets_lost"], agent["samples"]) == (6650, 350, 29)
    assert agent["remote_packets_lost"] == 70 and agent["packets_sent"] == 7000
    # One call's record says the same.
    assert as_user("agent1").get(f"{HISTORY}/{calls['answered']}").json()["audio"] == [
        customer,
        agent,
    ]


def test_filters(calls, as_user, tenants) -> None:
    admin = as_user("admin")
    ids = tenants["demo"].ids
    assert sorted(_names(calls, _all(admin, queue_id="support"))) == sorted(
        ["answered", "abandoned", "callback"]
    )
    assert _names(calls, _all(admin, agent_id=ids["agent1"])) == ["answered"]
    assert _names(calls, _all(admin, number="+15550002")) == ["abandoned"]
    assert _names(calls, _all(admin, number="15550002")) == ["abandoned"]
    assert _names(calls, _all(admin, outcome="abandoned")) == ["abandoned"]
    since = (NOW - timedelta(hours=2)).isoformat()
    assert "yesterday" not in _names(calls, _all(admin, since=since))
    until = (NOW - timedelta(hours=2)).isoformat()
    assert _names(calls, _all(admin, until=until)) == ["yesterday"]
    # The supervisor's filters only narrow what they see.
    assert _names(calls, _all(as_user("supervisor"), outcome="ivr")) == []
    # An agent cannot widen their view by naming someone else.
    assert _names(calls, _all(as_user("agent1"), agent_id=ids["agent2"])) == []


def test_cursor_paging_walks_every_call_once(calls, as_user) -> None:
    for user, expected in (("admin", 7), ("supervisor", 4)):
        seen: list[str] = []
        cursor = None
        for _ in range(20):
            params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            body = as_user(user).get(HISTORY, params=params).json()
            assert len(body["items"]) <= 2
            seen += [item["call_id"] for item in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == expected
        assert seen == [c["call_id"] for c in _all(as_user(user))]


@pytest.mark.parametrize(
    "params",
    [
        {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"cursor": "abc"},
        {"cursor": "0"},
        {"outcome": "lost"},
        {"limit": 0},
        {"agent_id": "not-a-uuid"},
        # ISO 8601, but no datetime holds its UTC instant.
        {"since": "0001-01-01T00:00:00+05:00"},
        {"until": "9999-12-31T23:00:00-05:00"},
    ],
)
def test_bad_filters_are_422(calls, as_user, params) -> None:
    r = as_user("admin").get(HISTORY, params=params)
    assert r.status_code == 422, r.text


def test_recordings_list_follows_the_calls(calls, as_user, tenants) -> None:
    admin = as_user("admin")
    recordings = _all(admin, RECORDINGS)
    kinds = {(r["call_id"], r["kind"]) for r in recordings}
    assert kinds == {(calls["answered"], "call"), (calls["voicemail"], "voicemail")}
    answered = next(r for r in recordings if r["kind"] == "call")
    assert answered["queue_id"] == "support"
    assert answered["agent_id"] == tenants["demo"].ids["agent1"]
    assert answered["audio_url"] == f"/api/v1/voice/recordings/{answered['id']}/audio"
    # The metadata endpoint agrees on the same id.
    assert admin.get(f"{RECORDINGS}/{answered['id']}").json()["sha256"] == "0" * 64

    assert [r["kind"] for r in _all(admin, RECORDINGS, call_id=calls["voicemail"])] == ["voicemail"]
    assert [r["id"] for r in _all(admin, RECORDINGS, queue_id="support")] == [answered["id"]]
    agent1 = tenants["demo"].ids["agent1"]
    assert [r["id"] for r in _all(admin, RECORDINGS, agent_id=agent1)] == [answered["id"]]
    after = (NOW + timedelta(hours=1)).isoformat()
    assert _all(admin, RECORDINGS, since=after) == []
    # Agents see the recordings of their own calls; supervisors those of their teams' calls.
    assert [r["id"] for r in _all(as_user("agent1"), RECORDINGS)] == [answered["id"]]
    assert _all(as_user("agent2"), RECORDINGS) == []
    assert [r["id"] for r in _all(as_user("supervisor"), RECORDINGS)] == [answered["id"]]
    assert admin.get(RECORDINGS, params={"call_id": calls["other"]}).status_code == 404
    # Paging: one recording per page here, each once.
    page = admin.get(RECORDINGS, params={"limit": 1}).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = admin.get(RECORDINGS, params={"limit": 1, "cursor": page["next_cursor"]}).json()
    assert {page["items"][0]["id"], rest["items"][0]["id"]} == {r["id"] for r in recordings}


def test_openapi_declares_the_models_and_refusals(client) -> None:
    spec = client.get("/openapi.json").json()
    listing = spec["paths"]["/api/v1/voice/call-history"]["get"]["responses"]
    assert listing["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "CallHistoryPage"
    )
    assert {"401", "422"} <= set(listing)
    one = spec["paths"]["/api/v1/voice/call-history/{call_id}"]["get"]["responses"]
    assert one["200"]["content"]["application/json"]["schema"]["$ref"].endswith("EndedCallOut")
    assert "404" in one
    recordings = spec["paths"]["/api/v1/voice/recordings"]["get"]["responses"]
    assert recordings["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "RecordingPage"
    )
