"""The post-call survey on the phone, with real peers: sipp calls, agent1's baresip answers.

1. The caller hangs up while talking to agent1: nobody is left to ask, so the contact's survey
   is recorded as not sent, `caller_hung_up`.
2. agent1 hangs up on their softphone: the caller stays on, hears the survey and keys a CSAT
   of 4, an NPS of ten (1 then 0) and "no" (2) to "was it resolved?" by SIP INFO (the text
   question is skipped); Omnidesk thanks and hangs up. The results for voice show exactly
   these scores, for agent1 and the support queue; agent1 wrapped up while the caller
   answered.
3. Again, but the caller keys 9 to the CSAT question (not on 1-5: the question is asked again),
   then 5, and hangs up during the next question: the CSAT of 5 counts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from voice_call_helpers import (
    CALLER_HZ,
    PEERS,
    agent1_phone,
    configure,
    finish_sipp,
    kill,
    make_available,
    needs,
    registered,
    start_sipp,
    voice_settings_fixture,
)
from voice_call_helpers import wait_until as _wait

from omnidesk.bench import sipp as scenarios
from omnidesk.bench.sipp import CALLER_BYE, tone_wav
from omnidesk.channels.voice.calls import utcnow
from spine_checks import events_of

pytestmark = needs(*PEERS)
settings = voice_settings_fixture()

SURVEY = {
    "name": "After the call",
    "channels": ["voice"],
    "queue_ids": ["support"],
    "questions": [
        {"id": "overall", "kind": "csat", "text": "How satisfied are you?", "required": True},
        {"id": "comment", "kind": "text", "text": "Anything else?"},
        {"id": "recommend", "kind": "nps", "text": "Would you recommend us?"},
        {"id": "fixed", "kind": "resolved", "text": "Was your matter resolved?"},
    ],
}
# The survey's keys start this long after the menu's 1: by then agent1 has answered and hung
# up (the test checks the survey began first), and keys are 1 s apart.
SURVEY_KEYS_AFTER_MS = 10000
KEY_GAP_MS = 1000


def caller(tmp: Path, *, keys: tuple[str, ...] = (), hangup_ms: int | None = None) -> Path:
    """A caller (600 Hz) who keys 1 in the menu by INFO, then `keys` (the survey's), and
    waits for Omnidesk's BYE — or hangs up `hangup_ms` after the menu key."""
    tmp.mkdir(exist_ok=True)
    tone = tone_wav(tmp / "caller.wav", CALLER_HZ)
    text = scenarios.caller_scenario(
        tone, digits=["1", *keys], dtmf="info", digit_gap_ms=KEY_GAP_MS, stay_ms=60000
    )
    gap = f'<pause milliseconds="{KEY_GAP_MS}"/>'
    text = text.replace(gap, f'<pause milliseconds="{SURVEY_KEYS_AFTER_MS}"/>', 1)
    if hangup_ms is not None:
        text = text[: text.index('  <recv request="BYE"')]
        text += CALLER_BYE.replace("{hangup_ms}", str(hangup_ms))
    path = tmp / "caller.xml"
    path.write_text(text)
    return path


def _ok(response: Any) -> Any:
    assert response.status_code < 300, response.text
    return response.json()


async def test_the_caller_answers_the_survey_after_the_agent_hangs_up(
    app, client, tenants, as_user, settings, tmp_path
):  # type: ignore[no-untyped-def]
    ids = tenants["demo"].ids
    admin = as_user("admin")
    configure(admin, ids, record="never")
    survey = _ok(admin.post("/api/v1/surveys/definitions", json=SURVEY))
    voice = app.state.voice
    agent1 = ids["agent1"]
    agent = agent1_phone(tmp_path, settings.voice_sip_port)
    await agent.start()
    first = second = third = None

    async def available() -> None:
        """agent1 is available again (after the queue's 5 s of wrap-up)."""
        url = f"/api/v1/routing/agents/{agent1}"
        state = lambda: _ok(admin.get(url))["status"]["state"] == "available"  # noqa: E731
        await _wait(state, what="agent1 available")

    try:
        await registered(voice, "agent1")
        make_available(as_user, ids, "agent1")

        # 1. The caller hangs up while talking to agent1.
        first = await start_sipp(
            tmp_path / "a", caller(tmp_path / "a", hangup_ms=6000), settings.voice_sip_port
        )
        call = await _wait(lambda: next(iter(voice.calls.values()), None), what="call 1")
        await _wait(lambda: call.state == "connected", 30, "call 1 to connect")
        hung_up_contact = call.contact_id
        await finish_sipp(first, tmp_path / "a")
        await agent.wait_event("CALL_CLOSED", within=15)
        await _wait(lambda: not voice.calls, what="call 1 to end")
        await available()

        # 2. agent1 hangs up: the caller stays on for the survey.
        second = await start_sipp(
            tmp_path / "b",
            caller(tmp_path / "b", keys=("4", "1", "0", "2")),
            settings.voice_sip_port,
        )
        call = await _wait(lambda: next(iter(voice.calls.values()), None), what="call 2")
        await _wait(lambda: call.state == "connected", 30, "call 2 to connect")
        surveyed_contact = call.contact_id
        await agent.command("hangup")
        await _wait(lambda: call.state == "survey", what="the survey to start")
        # Before the caller's first survey key (1.5 s and the wait after the call's answer).
        began = (utcnow() - call.started_at).total_seconds()
        assert began < 1.5 + SURVEY_KEYS_AFTER_MS / 1000 - 1, began
        assert call.survey.plan.questions[0].id == "overall"
        # The contact ended as the agent hung up: agent1 wraps up while the caller answers.
        status = _ok(admin.get(f"/api/v1/routing/agents/{agent1}"))["status"]
        assert status["state"] == "wrap_up", status
        await finish_sipp(second, tmp_path / "b")  # Omnidesk's BYE after the thanks
        await _wait(lambda: not voice.calls, what="call 2 to end")
        await available()

        # 3. An invalid key, then the caller hangs up midway.
        third = await start_sipp(
            tmp_path / "c",
            caller(tmp_path / "c", keys=("9", "5"), hangup_ms=2500),
            settings.voice_sip_port,
        )
        call = await _wait(lambda: next(iter(voice.calls.values()), None), what="call 3")
        await _wait(lambda: call.state == "connected", 30, "call 3 to connect")
        midway_contact = call.contact_id
        await agent.command("hangup")
        await _wait(lambda: call.state == "survey", what="the survey to start")
        await finish_sipp(third, tmp_path / "c")
        await _wait(lambda: not voice.calls, what="call 3 to end")
        # The caller left at the NPS question (9 was refused, 5 taken).
        assert call.survey.question.id == "recommend" and call.survey.answers == {"overall": 5}
    finally:
        await kill(first, second, third)
        await agent.stop()
    sends = {s["contact_id"]: s for s in _ok(admin.get("/api/v1/surveys/sends"))}
    refused, answered = sends[hung_up_contact], sends[surveyed_contact]
    assert sends[midway_contact]["status"] == "answered"
    assert (refused["channel"], refused["status"], refused["reason"]) == (
        "voice",
        "not_sent",
        "caller_hung_up",
    )
    assert (answered["channel"], answered["status"]) == ("voice", "answered")
    assert answered["survey_id"] == survey["id"]
    for send in (refused, answered):
        assert (send["agent_id"], send["queue_id"]) == (agent1, "support")

    query = {"channel": "voice", "queue_id": "support", "group_by": "agent"}
    result = _ok(admin.get("/api/v1/surveys/results", params=query))
    assert result["not_sent_reasons"] == {"caller_hung_up": 1}
    [row] = result["rows"]
    assert row["key"] == agent1
    assert (row["sent"], row["not_sent"], row["answered"]) == (2, 1, 2)
    assert row["csat"] == {"answers": 2, "satisfied": 2, "score": 100.0}
    assert row["nps"] == {
        "answers": 1,
        "promoters": 1,
        "passives": 0,
        "detractors": 0,
        "score": 100.0,
    }
    assert row["fcr"] == {"answers": 1, "resolved": 0, "score": 0.0}
    assert row["ces"]["answers"] == 0 and result["texts"] == []
    scores = {
        e["data"]["contact_id"]: e["data"]["scores"] for e in events_of(admin, "survey.answered")
    }
    assert scores == {
        surveyed_contact: {"csat:overall": 4, "nps:recommend": 10, "resolved:fixed": 0},
        midway_contact: {"csat:overall": 5},
    }
    [ended] = [
        e["data"]
        for e in events_of(admin, "voice.call_ended")
        if e["data"]["contact_id"] == surveyed_contact
    ]
    assert ended["reason"].startswith("agent") and ended["connected_at"], ended
