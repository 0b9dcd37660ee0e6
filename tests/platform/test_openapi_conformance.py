"""Schemathesis over the whole API: what /openapi.json says is what the server does.

A real server (uvicorn on loopback, in this process) so that the checks which send requests of
their own (without auth, with another method, after a delete) reach the same app; an admin's API
token as the credential, so authentication and permissions are exercised on every route.
Bounded: a few examples per operation, no deadline (the machine is shared).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
import uvicorn
from schemathesis import engine
from schemathesis.config import SchemathesisConfig
from schemathesis.config._checks import NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES
from schemathesis.engine import Status, events

from omnidesk.app import create_app
from omnidesk.directory.demo import load_demo
from omnidesk.platform.database import Database
from omnidesk.platform.settings import Settings
from omnidesk.wfm.scheduling.schemas import MAX_API_TIME_LIMIT

MAX_EXAMPLES = 10
# Whose valid bodies depend on more than their shape, so a schema-valid body can still be
# refused with 422: rules that must compile, steps in order, overflow targets and audio
# files that must exist (queues, voice settings), a channel the queue serves (contacts),
# phone numbers valid in their country's
# numbering plan (trunks, numbers), IVR flows (a program), WAV files (audio), fields required
# by the chosen model or source (erlang, forecasts, with history that must hold contacts),
# schedules and profiles whose hours must fit together; chat widgets' business hours (time
# zones, spans in order); CRM identities that must be real
# phone numbers or email addresses, IANA time zones, phone regions, custom-field definitions
# whose options fit their type, CSV files with a header, a channel switch's channel that this
# server has and an address valid for it. Each still runs every other check.
SEMANTIC = [
    "POST /api/v1/routing/queues",
    "PUT /api/v1/routing/queues/{queue_id}",
    "POST /api/v1/routing/contacts",
    "POST /api/v1/voice/trunks",
    "PUT /api/v1/voice/trunks/{trunk_id}",
    "POST /api/v1/voice/numbers",
    "PUT /api/v1/voice/numbers/{number_id}",
    "POST /api/v1/voice/flows",
    "PUT /api/v1/voice/flows/{flow_id}",
    "PUT /api/v1/voice/settings",
    # An accent colour white text is readable on (WCAG 4.5:1); a logo whose bytes are an image.
    "PUT /api/v1/branding",
    "PUT /api/v1/branding/logo",
    "POST /api/v1/voice/audio",
    "PUT /api/v1/voice/browser-phone",
    "DELETE /api/v1/voice/browser-phone",
    "POST /api/v1/voice/browser-phone/answer",
    "POST /api/v1/voice/browser-phone/decline",
    # A supervisor's browser phone joins with an offer WebRTC can answer (a DTLS fingerprint).
    "POST /api/v1/voice/calls/{call_id}/monitor",
    "POST /api/v1/voice/browser-phone/calls",
    "DELETE /api/v1/voice/browser-phone/calls/{call_id}",
    "POST /api/v1/voice/browser-phone/calls/{call_id}/renegotiate",
    # An extension another agent of the tenant has is refused (409).
    "PUT /api/v1/voice/agents/{user_id}/extension",
    "POST /api/v1/wfm/erlang",
    "POST /api/v1/wfm/staffing",
    "POST /api/v1/wfm/forecasts",
    "POST /api/v1/wfm/schedules",
    "PUT /api/v1/wfm/agents/{user_id}/profile",
    "GET /api/v1/crm/customers",
    "POST /api/v1/crm/customers",
    "POST /api/v1/crm/resolve",
    "POST /api/v1/crm/fields",
    "PUT /api/v1/crm/fields/{entity}/{key}",
    "PUT /api/v1/crm/settings",
    "POST /api/v1/crm/imports/customers",
    "POST /api/v1/crm/contacts/{contact_id}/switch",
    # A chat widget's business hours name an IANA time zone and spans that start before they
    # end; its pre-chat field keys are unique.
    "POST /api/v1/channels/accounts",
    "PUT /api/v1/channels/accounts/{account_id}",
    "PUT /api/v1/channels/accounts/{account_id}/widget",
    # The tenant's report time zone is an IANA name.
    "PUT /api/v1/analytics/settings",
    # A survey's question ids and channels are each named once; a results range ends after
    # it starts; an answer fits its question's scale and names the survey's questions.
    "POST /api/v1/surveys/definitions",
    "PUT /api/v1/surveys/definitions/{survey_id}",
    "GET /api/v1/surveys/results",
    "POST /api/v1/surveys/responses/{token}",
    # A scorecard's criterion ids are each named once, max points on points criteria only;
    # a grade names an ended contact the agent handled and answers every criterion.
    "POST /api/v1/quality/scorecards",
    "PUT /api/v1/quality/scorecards/{scorecard_id}",
    "POST /api/v1/quality/evaluations",
    # The audit log's time window (since, until) ends after it starts.
    "GET /api/v1/audit-log",
    # A what-if needs a day with contacts and a change the digital twin can run.
    "POST /api/v1/wfm/what-if",
    # A report schedule's filters fit its report, a weekly one names its weekday, recipients
    # are each named once, and it is sent from one of the tenant's email accounts.
    "POST /api/v1/analytics/report-schedules",
    "PUT /api/v1/analytics/report-schedules/{schedule_id}",
]
CONFIG = f"""
# One seed: a failure here reproduces, and CI does not fail by luck.
seed = 11
# A schedule solve may take its whole time limit (up to a minute): see `_quick_solves`. Other
# requests answer in well under a second; the margin is for two shared cores under load.
request-timeout = 30

[checks]
enabled = true

[checks.negative_data_rejection]
# A body over the size limit is refused for its size (413) before its shape is read.
expected-statuses = {[*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413"]!r}

[generation]
max-examples = {MAX_EXAMPLES}
# PostgreSQL text cannot hold NUL, so every string refuses it (422); JSON Schema cannot say
# that short of a pattern on every string.
allow-x00 = false

[[operations]]
include-name = {SEMANTIC!r}
checks.positive_data_acceptance.enabled = false
"""


async def _seed(database_url: str) -> dict[str, str]:
    db = Database(database_url)
    try:
        return {login.username: login.password for login in await load_demo(db)}
    finally:
        await db.dispose()


@pytest.fixture
def served(settings: Settings) -> Iterator[str]:
    passwords = asyncio.run(_seed(settings.database_url))
    app = create_app(settings)
    # FastAPI builds the document on the first request for it, in the event loop: about 2 s of
    # CPU here, over 10 s on a loaded CI machine, which timed the schema's download out (and
    # stalled the server's background writers holding SQLite's lock). Built before serving.
    app.openapi()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        started = threading.Event()
        for _ in range(500):
            if server.started or not thread.is_alive():
                break
            started.wait(0.01)
        assert server.started, "the server did not start"
        login = requests.post(
            f"{base}/api/v1/auth/login",
            json={"tenant": "demo", "username": "admin", "password": passwords["admin"]},
            timeout=10,
        )
        assert login.status_code == 200, login.text
        admin = login.json()["user"]["id"]
        token = requests.post(
            f"{base}/api/v1/api-tokens",
            json={"name": "conformance", "user_id": admin},
            cookies=login.cookies,
            headers={"X-CSRF-Token": login.json()["csrf_token"]},
            timeout=10,
        )
        assert token.status_code == 201, token.text
        yield base, token.json()["token"]
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def _failures(schema: schemathesis.BaseSchema) -> list[str]:
    """Run the engine `schemathesis run` uses; every failed check or error, as text."""
    found: list[str] = []
    for event in engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished) and event.status is Status.FAILURE:
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    info = check.failure_info
                    if info is not None:
                        interaction = event.recorder.interactions.get(case_id)
                        answer = interaction.response if interaction else None
                        said = f"{answer.status_code} {answer.content[:300]!r}" if answer else ""
                        found.append(
                            f"{event.label}: {check.name}: {info.failure.title}\n"
                            f"  {info.failure.message}\n  {info.code_sample}\n  -> {said}"
                        )
        elif isinstance(event, events.NonFatalError):
            found.append(f"{event.label}: error: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            raise event.exception
    return found


def _quick_solves(schema: schemathesis.BaseSchema) -> None:
    """A schedule solve runs for up to its `time_limit_seconds` (any value up to 60 is valid),
    so ten examples could take ten minutes. The contract does not depend on how long the
    solver searches: a valid time limit over a second becomes one second. Values the schema
    refuses are left alone, so negative cases stay negative."""

    @schema.hook.apply_to(method="POST", path="/api/v1/wfm/schedules")
    def map_body(ctx: Any, body: Any) -> Any:
        if isinstance(body, dict):
            limit = body.get("time_limit_seconds")
            if type(limit) in (int, float) and 1 < limit <= MAX_API_TIME_LIMIT:
                body = {**body, "time_limit_seconds": 1}
        return body


@pytest.mark.slow
@pytest.mark.timeout(400)  # about two minutes per database on two shared cores
def test_api_conforms_to_its_openapi_document(served: tuple[str, str]) -> None:
    base, secret = served
    config = SchemathesisConfig.from_str(CONFIG)
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json", config=config)
    schema.config.update(base_url=base, headers={"Authorization": f"Bearer {secret}"})
    _quick_solves(schema)
    failures = _failures(schema)
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)
