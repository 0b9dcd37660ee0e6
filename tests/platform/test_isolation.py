"""Tenant isolation on every endpoint: another tenant's ids are 404, lists never show its rows.

The tables below are checked against the app's routes, so a new endpoint with an id in its path,
or a new list endpoint, fails here until it is added (and so proven isolated).
"""

from __future__ import annotations

import io
import json
import re
import wave
from typing import Any
from urllib.parse import unquote

from fastapi import FastAPI

from omnidesk.channels.messaging.signature import sign
from omnidesk.platform.database import SYSTEM
from omnidesk.platform.tenancy import tenant_by_slug
from spine_checks import (
    all_events,
    assert_no_new_events,
    assert_problem,
    audit_entries,
    event_cursor,
    routes,
)

MEMBER = "/api/v1/teams/{team_id}/members/{user_id}"
SIP = "/api/v1/voice/agents/{user_id}/sip"
EXTENSION = "/api/v1/voice/agents/{user_id}/extension"
TRUNK = "/api/v1/voice/trunks/{trunk_id}"
NUMBER = "/api/v1/voice/numbers/{number_id}"
FLOW = "/api/v1/voice/flows/{flow_id}"
POLICY = "/api/v1/voice/queues/{queue_id}/policy"
AUDIO = "/api/v1/voice/audio/{name}"
# Live calls exist only while a call is up: the real cross-tenant probe of these routes is in
# tests/e2e/voice/test_voice_calls.py (tenant "other" against a live call of "demo").
CALL = "/api/v1/voice/calls/{call_id}"
# Recordings exist only after a call: the real cross-tenant probe is in
# tests/e2e/voice/test_voice_voicemail.py; here an unknown id must be 404 like a foreign one.
RECORDING = "/api/v1/voice/recordings/{recording_id}"
# Ended calls: the cross-tenant probe with real ones (another tenant's call is 404, its calls
# never listed) is in tests/channels/voice/test_voice_history.py.
ENDED_CALL = "/api/v1/voice/call-history/{call_id}"
NO_FLOW = "00000000-0000-4000-8000-000000000001"
CRM = "/api/v1/crm"
CUSTOMER = f"{CRM}/customers/{{customer_id}}"
THREAD = "/api/v1/im/threads/{thread_id}"
ARTICLE = "/api/v1/knowledge/articles/{article_id}"
SURVEY = "/api/v1/surveys/definitions/{survey_id}"
SCORECARD = "/api/v1/quality/scorecards/{scorecard_id}"
EVALUATION = "/api/v1/quality/evaluations/{evaluation_id}"
SCORECARD_BODY = {
    "name": "B card",
    "criteria": [{"id": "ok", "text": "OK", "kind": "yes_no"}],
}
SURVEY_BODY = {
    "name": "Hijacked",
    "channels": ["chat"],
    "questions": [{"id": "q", "kind": "csat", "text": "?"}],
}
CHANNELS = "/api/v1/channels"
SCHEDULES = "/api/v1/analytics/report-schedules"
SCHEDULE_BODY = {
    "name": "B daily",
    "report": "queues",
    "period": "previous_day",
    "cadence": "daily",
    "at": "06:00",
    "recipients": ["b-boss@b.example"],
    "sender_address": "reports@b.example",
}
CONVERSATION = "/api/v1/conversations/{conversation_id}"
# Providers' webhooks are addressed to one account by id and authenticated by its signature, not
# by a tenant's session: a forged or foreign request stores nothing (tests/channels/messaging).
WEBHOOKS = {
    ("GET", f"{CHANNELS}/whatsapp/{{account_id}}/webhook"),
    ("POST", f"{CHANNELS}/whatsapp/{{account_id}}/webhook"),
    ("POST", f"{CHANNELS}/webhook/{{account_id}}"),
}
# The chat widget's visitor API is public: addressed to one widget by its key, a visitor proven
# by their token or signed id, never a tenant's session. Another widget's or tenant's
# conversation is refused there (tests/channels/chat/test_chat_widget.py).
WIDGET = "/api/v1/chat/widget/{key}"
VISITOR_ROUTES = {
    ("GET", WIDGET),
    ("POST", f"{WIDGET}/visitors"),
    ("GET", f"{WIDGET}/conversation"),
    ("POST", f"{WIDGET}/conversation"),
    ("POST", f"{WIDGET}/conversation/messages"),
    ("POST", f"{WIDGET}/conversation/files"),
    ("GET", f"{WIDGET}/conversation/files/{{attachment_id}}"),
    ("POST", f"{WIDGET}/offline"),
    ("POST", f"{WIDGET}/transcript"),
    ("WEBSOCKET", f"{WIDGET}/socket"),
    # A sent survey: its unguessable token is the credential, whoever the tenant
    # (tests/surveys/test_surveys.py: unknown 404, answered 409, expired 410).
    ("GET", "/api/v1/surveys/responses/{token}"),
    ("POST", "/api/v1/surveys/responses/{token}"),
    ("GET", "/s/{token}"),
    ("POST", "/s/{token}"),
}

# (method, route) -> (path parameter sets, body). "B:x" is tenant B's row x, "A:x" the caller's own;
# routes with two ids also try each mix, so one foreign id is enough to get 404.
FOREIGN: dict[tuple[str, str], tuple[list[dict[str, str]], dict[str, Any] | None]] = {
    ("GET", "/api/v1/users/{user_id}"): ([{"user_id": "B:agent1"}, {"user_id": "B:admin"}], None),
    ("PATCH", "/api/v1/users/{user_id}"): (
        [{"user_id": "B:agent1"}, {"user_id": "B:admin"}],
        {"display_name": "Hijacked", "active": False},
    ),
    ("GET", "/api/v1/teams/{team_id}"): ([{"team_id": "B:team"}], None),
    ("PATCH", "/api/v1/teams/{team_id}"): ([{"team_id": "B:team"}], {"name": "Hijacked"}),
    ("DELETE", "/api/v1/teams/{team_id}"): ([{"team_id": "B:team"}], None),
    ("PUT", MEMBER): (
        [
            {"team_id": "B:team", "user_id": "B:agent1"},
            {"team_id": "A:team", "user_id": "B:agent1"},
            {"team_id": "B:team", "user_id": "A:agent1"},
        ],
        {"role": "member"},
    ),
    ("DELETE", MEMBER): (
        [
            {"team_id": "B:team", "user_id": "B:agent1"},
            {"team_id": "A:team", "user_id": "B:agent1"},
            {"team_id": "B:team", "user_id": "A:agent2"},
        ],
        None,
    ),
    ("DELETE", "/api/v1/api-tokens/{token_id}"): ([{"token_id": "B:token"}], None),
    ("GET", "/api/v1/routing/queues/{queue_id}"): ([{"queue_id": "B:queue"}], None),
    ("PUT", "/api/v1/routing/queues/{queue_id}"): (
        [{"queue_id": "B:queue"}],
        {"channels": ["chat"], "name": "Hijacked"},
    ),
    ("DELETE", "/api/v1/routing/queues/{queue_id}"): ([{"queue_id": "B:queue"}], None),
    ("GET", "/api/v1/routing/queues/{queue_id}/versions"): ([{"queue_id": "B:queue"}], None),
    ("GET", "/api/v1/routing/queues/{queue_id}/versions/{version}"): (
        [{"queue_id": "B:queue", "version": "A:version"}],
        None,
    ),
    ("POST", "/api/v1/routing/queues/{queue_id}/versions/{version}/restore"): (
        [{"queue_id": "B:queue", "version": "A:version"}],
        {"version": 1},
    ),
    ("GET", "/api/v1/routing/agents/{user_id}"): ([{"user_id": "B:agent1"}], None),
    ("PUT", "/api/v1/routing/agents/{user_id}"): ([{"user_id": "B:agent1"}], {"skills": {}}),
    ("DELETE", "/api/v1/routing/agents/{user_id}"): ([{"user_id": "B:agent1"}], None),
    ("PATCH", "/api/v1/routing/agents/{user_id}"): ([{"user_id": "B:agent1"}], {"skills": {}}),
    ("GET", f"{THREAD}/messages"): ([{"thread_id": "B:thread"}], None),
    ("POST", f"{THREAD}/read"): ([{"thread_id": "B:thread"}], {"up_to": 1}),
    # B's agent1 has a hand raised (see _im_b).
    ("DELETE", "/api/v1/im/hands/{user_id}"): ([{"user_id": "B:agent1"}], None),
    ("GET", ARTICLE): ([{"article_id": "B:article"}], None),
    ("PUT", ARTICLE): ([{"article_id": "B:article"}], {"title": "Hijacked"}),
    ("DELETE", ARTICLE): ([{"article_id": "B:article"}], None),
    ("GET", SURVEY): ([{"survey_id": "B:survey"}], None),
    ("PUT", SURVEY): ([{"survey_id": "B:survey"}], SURVEY_BODY),
    ("DELETE", SURVEY): ([{"survey_id": "B:survey"}], None),
    ("GET", SCORECARD): ([{"scorecard_id": "B:scorecard"}], None),
    ("PUT", SCORECARD): ([{"scorecard_id": "B:scorecard"}], {**SCORECARD_BODY, "version": 1}),
    ("DELETE", SCORECARD): ([{"scorecard_id": "B:scorecard"}], None),
    ("GET", EVALUATION): ([{"evaluation_id": "B:evaluation"}], None),
    ("POST", f"{EVALUATION}/acknowledge"): ([{"evaluation_id": "B:evaluation"}], None),
    ("POST", "/api/v1/routing/agents/{user_id}/state"): (
        [{"user_id": "B:agent1"}],
        {"state": "offline"},
    ),
    ("GET", "/api/v1/routing/contacts/{contact_id}"): ([{"contact_id": "B:contact"}], None),
    ("DELETE", "/api/v1/routing/contacts/{contact_id}"): ([{"contact_id": "B:contact"}], None),
    ("POST", "/api/v1/routing/contacts/{contact_id}/end"): ([{"contact_id": "B:active"}], None),
    ("POST", "/api/v1/routing/contacts/{contact_id}/priority"): (
        [{"contact_id": "B:contact"}],
        {"priority": 9},
    ),
    ("POST", "/api/v1/routing/contacts/{contact_id}/requeue"): ([{"contact_id": "B:active"}], {}),
    ("POST", "/api/v1/routing/contacts/{contact_id}/transfer"): (
        [{"contact_id": "B:active"}],
        {"target_kind": "queue", "target": "bq"},
    ),
    ("POST", "/api/v1/routing/contacts/{contact_id}/consult"): (
        [{"contact_id": "B:active"}],
        {"target_kind": "queue", "target": "bq"},
    ),
    # A real consult of another tenant is refused in test_routing_consult_api.py.
    ("POST", "/api/v1/routing/consults/{consult_id}/end"): ([{"consult_id": "B:active"}], {}),
    ("POST", "/api/v1/routing/offers/{offer_id}/accept"): ([{"offer_id": "B:offer"}], None),
    ("POST", "/api/v1/routing/offers/{offer_id}/reject"): ([{"offer_id": "B:offer"}], {}),
    ("POST", "/api/v1/routing/wrap-ups/{contact_id}/end"): ([{"contact_id": "B:wrapup"}], {}),
    ("POST", "/api/v1/routing/wrap-ups/{contact_id}/extend"): ([{"contact_id": "B:wrapup"}], {}),
    ("GET", "/api/v1/wfm/forecasts/{forecast_id}"): ([{"forecast_id": "B:forecast"}], None),
    ("POST", "/api/v1/wfm/forecasts/{forecast_id}/reforecast"): (
        [{"forecast_id": "B:forecast"}],
        {"day_error": 0.1},
    ),
    ("POST", "/api/v1/wfm/forecasts/{forecast_id}/staffing"): (
        [{"forecast_id": "B:forecast"}],
        {"answer_time": 20, "target_sl": 0.8},
    ),
    ("GET", "/api/v1/wfm/forecasts/{forecast_id}/accuracy"): (
        [{"forecast_id": "B:forecast"}],
        None,
    ),
    ("GET", "/api/v1/wfm/agents/{user_id}/profile"): ([{"user_id": "B:agent1"}], None),
    ("PUT", "/api/v1/wfm/agents/{user_id}/profile"): (
        [{"user_id": "B:agent1"}],
        {"skills": ["lang.en"], "min_hours_per_week": 0},
    ),
    ("GET", "/api/v1/wfm/schedules/{schedule_id}"): ([{"schedule_id": "B:schedule"}], None),
    ("GET", "/api/v1/wfm/schedules/{schedule_id}/agents/{user_id}"): (
        [
            {"schedule_id": "B:schedule", "user_id": "B:agent1"},
            {"schedule_id": "B:schedule", "user_id": "A:agent1"},
        ],
        None,
    ),
    ("GET", SIP): ([{"user_id": "B:agent1"}], None),
    ("PUT", SIP): ([{"user_id": "B:agent1"}], {"username": "hijack", "password": "password1"}),
    ("DELETE", SIP): ([{"user_id": "B:agent1"}], None),
    ("GET", EXTENSION): ([{"user_id": "B:agent1"}], None),
    ("PUT", EXTENSION): ([{"user_id": "B:agent1"}], {"extension": "201"}),
    ("DELETE", EXTENSION): ([{"user_id": "B:agent1"}], None),
    ("GET", TRUNK): ([{"trunk_id": "B:trunk"}], None),
    ("PUT", TRUNK): ([{"trunk_id": "B:trunk"}], {"name": "Hijacked"}),
    ("DELETE", TRUNK): ([{"trunk_id": "B:trunk"}], None),
    ("GET", NUMBER): ([{"number_id": "B:number"}], None),
    ("PUT", NUMBER): ([{"number_id": "B:number"}], {"number": "+442071838751", "flow_id": NO_FLOW}),
    ("DELETE", NUMBER): ([{"number_id": "B:number"}], None),
    ("GET", FLOW): ([{"flow_id": "B:flow"}], None),
    ("PUT", FLOW): (
        [{"flow_id": "B:flow"}],
        {"name": "Hijacked", "definition": {"a": 1}, "version": 1},
    ),
    ("DELETE", FLOW): ([{"flow_id": "B:flow"}], None),
    ("GET", FLOW + "/versions/{version}"): ([{"flow_id": "B:flow", "version": "A:version"}], None),
    ("POST", FLOW + "/versions/{version}/restore"): (
        [{"flow_id": "B:flow", "version": "A:version"}],
        {"version": 1},
    ),
    ("GET", POLICY): ([{"queue_id": "B:queue"}], None),
    ("PUT", POLICY): ([{"queue_id": "B:queue"}], {"record": "never"}),
    ("GET", AUDIO): ([{"name": "B:audio"}], None),
    ("DELETE", AUDIO): ([{"name": "B:audio"}], None),
    ("GET", CALL): ([{"call_id": "B:call"}], None),
    ("POST", f"{CALL}/monitor"): ([{"call_id": "B:call"}], {"mode": "listen"}),
    ("PATCH", f"{CALL}/monitor"): ([{"call_id": "B:call"}], {"mode": "whisper"}),
    ("DELETE", f"{CALL}/monitor"): ([{"call_id": "B:call"}], None),
    # A browser phone's call still dialling (browser_dial.py): another tenant's is not found.
    ("DELETE", "/api/v1/voice/browser-phone/calls/{call_id}"): ([{"call_id": "B:call"}], None),
    # Renegotiating (an ICE restart) another tenant's call: not found (before the SDP is read).
    ("POST", "/api/v1/voice/browser-phone/calls/{call_id}/renegotiate"): (
        [{"call_id": "B:call"}],
        {"sdp": "v=0"},
    ),
    # Softphone registrations live in memory only: B's user is not found, registered or not.
    ("GET", "/api/v1/voice/registrations/{user_id}"): ([{"user_id": "B:agent1"}], None),
    ("GET", RECORDING): ([{"recording_id": "B:recording"}], None),
    ("GET", f"{RECORDING}/audio"): ([{"recording_id": "B:recording"}], None),
    ("GET", CUSTOMER): ([{"customer_id": "B:customer"}], None),
    ("PATCH", CUSTOMER): ([{"customer_id": "B:customer"}], {"display_name": "Hijacked"}),
    ("PUT", f"{CUSTOMER}/consent"): (
        [{"customer_id": "B:customer"}],
        {"marketing": True, "source": "hijack"},
    ),
    ("POST", f"{CUSTOMER}/identities"): (
        [{"customer_id": "B:customer"}],
        {"kind": "email", "value": "hijack@example.com"},
    ),
    ("DELETE", f"{CUSTOMER}/identities/{{identity_id}}"): (
        [
            {"customer_id": "B:customer", "identity_id": "B:identity"},
            {"customer_id": "A:customer", "identity_id": "B:identity"},
            {"customer_id": "B:customer", "identity_id": "A:identity"},
        ],
        None,
    ),
    ("POST", f"{CUSTOMER}/notes"): ([{"customer_id": "B:customer"}], {"body": "hijack"}),
    ("GET", f"{CUSTOMER}/timeline"): ([{"customer_id": "B:customer"}], None),
    ("GET", f"{CUSTOMER}/card"): ([{"customer_id": "B:customer"}], None),
    ("GET", f"{CUSTOMER}/merges"): ([{"customer_id": "B:customer"}], None),
    ("GET", f"{CUSTOMER}/export"): ([{"customer_id": "B:customer"}], None),
    ("POST", f"{CUSTOMER}/erase"): ([{"customer_id": "B:customer"}], None),
    ("POST", f"{CUSTOMER}/merge"): ([{"customer_id": "B:customer"}], {"merged_id": NO_FLOW}),
    ("POST", f"{CUSTOMER}/split"): ([{"customer_id": "B:customer"}], {"identity_id": NO_FLOW}),
    ("GET", f"{CRM}/cases/{{case_id}}"): ([{"case_id": "B:case"}], None),
    ("PATCH", f"{CRM}/cases/{{case_id}}"): ([{"case_id": "B:case"}], {"title": "Hijacked"}),
    ("POST", f"{CRM}/cases/{{case_id}}/reopen"): ([{"case_id": "B:case"}], None),
    ("GET", f"{CRM}/interactions/{{interaction_id}}"): (
        [{"interaction_id": "B:interaction"}],
        None,
    ),
    ("PUT", f"{CRM}/interactions/{{interaction_id}}/case"): (
        [{"interaction_id": "B:interaction"}],
        {"case_id": None},
    ),
    ("PUT", f"{CRM}/interactions/{{interaction_id}}/customer"): (
        [{"interaction_id": "B:interaction"}],
        {"customer_id": NO_FLOW},
    ),
    ("GET", f"{CRM}/merges/{{merge_id}}"): ([{"merge_id": "B:merge"}], None),
    ("GET", f"{CRM}/contacts/{{contact_id}}/card"): ([{"contact_id": "B:active"}], None),
    ("GET", f"{CRM}/dispositions/{{code}}"): ([{"code": "B:disposition"}], None),
    ("PATCH", f"{CRM}/dispositions/{{code}}"): ([{"code": "B:disposition"}], {"label": "Hijacked"}),
    ("POST", f"{CRM}/merges/{{merge_id}}/undo"): ([{"merge_id": "B:merge"}], None),
    ("PUT", f"{CRM}/fields/{{entity}}/{{key}}"): (
        [{"entity": "A:entity", "key": "B:field"}],
        {"key": "b_only", "label": "Hijacked", "type": "text"},
    ),
    ("DELETE", f"{CRM}/fields/{{entity}}/{{key}}"): (
        [{"entity": "A:entity", "key": "B:field"}],
        None,
    ),
    ("GET", ENDED_CALL): ([{"call_id": "B:call"}], None),
    ("GET", f"{CHANNELS}/accounts/{{account_id}}"): ([{"account_id": "B:account"}], None),
    ("DELETE", f"{CHANNELS}/accounts/{{account_id}}"): ([{"account_id": "B:account"}], None),
    ("PUT", f"{CHANNELS}/accounts/{{account_id}}"): (
        [{"account_id": "B:account"}],
        {
            "kind": "webhook",
            "name": "Hijacked",
            "queue_id": "bq",
            "outbound_url": "http://127.0.0.1:9/hijacked",
        },
    ),
    ("POST", f"{CHANNELS}/accounts/{{account_id}}/rotate-secret"): (
        [{"account_id": "B:account"}],
        None,
    ),
    ("DELETE", f"{CHANNELS}/canned-responses/{{canned_id}}"): ([{"canned_id": "B:canned"}], None),
    ("GET", f"{SCHEDULES}/{{schedule_id}}"): ([{"schedule_id": "B:schedule"}], None),
    ("PUT", f"{SCHEDULES}/{{schedule_id}}"): (
        [{"schedule_id": "B:schedule"}],
        {**SCHEDULE_BODY, "version": 1},
    ),
    ("DELETE", f"{SCHEDULES}/{{schedule_id}}"): ([{"schedule_id": "B:schedule"}], None),
    ("GET", f"{SCHEDULES}/{{schedule_id}}/runs"): ([{"schedule_id": "B:schedule"}], None),
    ("POST", f"{SCHEDULES}/{{schedule_id}}/send-now"): ([{"schedule_id": "B:schedule"}], None),
    ("PUT", f"{CHANNELS}/canned-responses/{{canned_id}}"): (
        [{"canned_id": "B:canned"}],
        {"shortcut": "hijacked", "title": "Hijacked", "text": "Hijacked"},
    ),
    ("GET", CONVERSATION): ([{"conversation_id": "B:conversation"}], None),
    ("PUT", f"{CONVERSATION}/viewing"): ([{"conversation_id": "B:conversation"}], None),
    ("DELETE", f"{CONVERSATION}/viewing"): ([{"conversation_id": "B:conversation"}], None),
    ("GET", f"{CONVERSATION}/viewers"): ([{"conversation_id": "B:conversation"}], None),
    ("POST", f"{CONVERSATION}/takeover"): ([{"conversation_id": "B:conversation"}], None),
    ("POST", f"{CONVERSATION}/whispers"): (
        [{"conversation_id": "B:conversation"}],
        {"text": "x"},
    ),
    ("GET", "/api/v1/chat/conversations/{conversation_id}/typing"): (
        [{"conversation_id": "B:conversation"}],
        None,
    ),
    ("POST", "/api/v1/chat/conversations/{conversation_id}/typing"): (
        [{"conversation_id": "B:conversation"}],
        {"active": True},
    ),
    ("PUT", f"{CHANNELS}/accounts/{{account_id}}/widget"): ([{"account_id": "B:account"}], {}),
    ("POST", f"{CRM}/contacts/{{contact_id}}/switch"): (
        [{"contact_id": "B:active"}],
        {"channel": "messaging"},
    ),
    ("GET", f"{CONVERSATION}/messages"): ([{"conversation_id": "B:conversation"}], None),
    ("POST", f"{CONVERSATION}/messages"): (
        [{"conversation_id": "B:conversation"}],
        {"text": "Hijacked"},
    ),
    ("POST", f"{CONVERSATION}/notes"): ([{"conversation_id": "B:conversation"}], {"text": "x"}),
    ("POST", f"{CONVERSATION}/attachments"): ([{"conversation_id": "B:conversation"}], None),
    ("POST", f"{CONVERSATION}/close"): ([{"conversation_id": "B:conversation"}], None),
    ("GET", f"{CONVERSATION}/attachments/{{attachment_id}}"): (
        [{"conversation_id": "B:conversation", "attachment_id": "B:attachment"}],
        None,
    ),
    **{
        ("POST", f"{CALL}/{action}"): ([{"call_id": "B:call"}], body)
        for action, body in (
            ("hold", None),
            ("resume", None),
            ("mute", None),
            ("unmute", None),
            ("hangup", None),
            ("dtmf", {"digits": "1"}),
            ("recording", {"action": "pause"}),
            ("transfer", {"target": "queue", "id": "support"}),
            ("consult", {"target": "queue", "id": "support"}),
            ("consult/complete", None),
            ("consult/cancel", None),
            ("conference", None),
            ("transfer-out", {"number": "+493098765432"}),
        )
    },
}
# Routes agents may not use at all: they are refused (403) before any lookup, reads included.
STAFF_ONLY_PREFIXES = (
    "/api/v1/wfm/",
    "/api/v1/voice/",
    "/api/v1/surveys/",
    "/api/v1/analytics/",
    # Agents read and acknowledge their own evaluations, but not scorecards.
    "/api/v1/quality/scorecards",
)
# ... except schedules, profiles and adherence: agents read their own there (the rest is 404);
# their own SIP credential and softphones; and the calls they are on.
AGENT_READABLE_PREFIXES = (
    "/api/v1/wfm/schedules",
    "/api/v1/wfm/agents/",
    "/api/v1/wfm/adherence",
    "/api/v1/voice/agents/",
    "/api/v1/voice/calls",
    "/api/v1/voice/recordings",
    "/api/v1/voice/call-history",
    "/api/v1/voice/registrations",
    "/api/v1/voice/browser-phone",
)

# Every list/collection read (GET without ids) and how it is checked; see test_lists_*.
# Lists that need a query to answer (the exports' format).
LIST_QUERIES = {
    "/api/v1/analytics/queues/export": "?format=csv",
    "/api/v1/analytics/agents/export": "?format=csv",
    "/api/v1/analytics/contacts/export": "?format=csv",
    "/api/v1/analytics/teams/export": "?format=csv",
    "/api/v1/analytics/dispositions/export": "?format=csv",
    "/api/v1/analytics/journeys/export": "?format=csv",
}

LISTS = {
    "/api/v1/auth/me",
    "/api/v1/users",
    "/api/v1/teams",
    "/api/v1/api-tokens",
    "/api/v1/audit-log",
    "/api/v1/events",
    "/api/v1/realtime",
    "/api/v1/routing/queues",
    "/api/v1/routing/deleted-queues",
    "/api/v1/routing/agents",
    "/api/v1/routing/colleagues",
    "/api/v1/routing/contacts",
    "/api/v1/wfm/history",
    "/api/v1/wfm/forecasts",
    "/api/v1/wfm/schedules",
    "/api/v1/wfm/adherence",
    "/api/v1/voice/settings",
    "/api/v1/voice/trunks",
    "/api/v1/voice/numbers",
    "/api/v1/voice/flows",
    "/api/v1/voice/audio",
    "/api/v1/voice/calls",
    "/api/v1/crm/customers",
    "/api/v1/crm/cases",
    "/api/v1/crm/interactions",
    "/api/v1/crm/settings",
    "/api/v1/crm/fields",
    "/api/v1/crm/case-types",
    "/api/v1/crm/dispositions",
    "/api/v1/crm/exports/customers.csv",
    "/api/v1/voice/call-history",
    "/api/v1/voice/recordings",
    "/api/v1/voice/registrations",
    "/api/v1/voice/browser-phone",  # your own phone only: no rows of anyone
    "/api/v1/im/threads",
    "/api/v1/im/hands",
    "/api/v1/im/contacts",
    "/api/v1/knowledge/articles",
    "/api/v1/surveys/definitions",
    "/api/v1/surveys/results",
    "/api/v1/surveys/sends",
    "/api/v1/quality/scorecards",
    "/api/v1/quality/evaluations",
    "/api/v1/conversations",
    "/api/v1/channels/settings",
    "/api/v1/channels/accounts",
    "/api/v1/channels/canned-responses",
    "/api/v1/analytics/queues",
    "/api/v1/analytics/agents",
    "/api/v1/analytics/settings",
    "/api/v1/analytics/contacts",
    "/api/v1/analytics/fcr",
    "/api/v1/analytics/journeys",
    "/api/v1/analytics/journeys/export",
    "/api/v1/analytics/queues/export",
    "/api/v1/analytics/agents/export",
    "/api/v1/analytics/contacts/export",
    "/api/v1/analytics/report-schedules",
    "/api/v1/analytics/teams",
    "/api/v1/analytics/dispositions",
    "/api/v1/analytics/teams/export",
    "/api/v1/analytics/dispositions/export",
    "/api/v1/branding",
    "/api/v1/branding/logo",
}
# Reads that hold no tenant data at all.
NO_TENANT_DATA = {"/healthz", "/readyz", "/metrics"}


def test_every_route_with_an_id_is_in_the_isolation_table(app: FastAPI) -> None:
    with_ids = {r for r in routes(app) if "{" in r[1]} - WEBHOOKS - VISITOR_ROUTES
    assert with_ids, "no routes with path parameters found: the route walk is broken"
    missing = with_ids - set(FOREIGN)
    assert not missing, (
        f"routes with ids not proven tenant-isolated (add them to FOREIGN): {sorted(missing)}"
    )
    stale = set(FOREIGN) - with_ids
    assert not stale, f"FOREIGN lists routes that no longer exist: {sorted(stale)}"
    for (_, path), (param_sets, _) in FOREIGN.items():
        names = set(re.findall(r"{(\w+)", path))
        for params in param_sets:
            assert set(params) == names, (path, params)
            assert any(v.startswith("B:") for v in params.values()), (path, params)


def test_every_read_without_ids_is_checked_for_leaks(app: FastAPI) -> None:
    reads = {
        path for method, path in routes(app) if method in ("GET", "WEBSOCKET") and "{" not in path
    }
    docs = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
    unchecked = reads - LISTS - NO_TENANT_DATA - docs
    assert not unchecked, (
        f"reads not checked for other tenants' rows (add them to LISTS): {sorted(unchecked)}"
    )
    assert reads >= LISTS, f"LISTS names routes that no longer exist: {sorted(LISTS - reads)}"


def _routing_b(tenants: dict[str, Any], admin_b: Any, agent_b: Any, ids: dict[str, str]) -> None:
    """Tenant B's routing objects: a queue, an offer, a waiting, an active and a wrapped contact."""
    queue = {"id": "bq", "channels": ["chat"], "offer_timeout_seconds": 3600}
    assert admin_b.post("/api/v1/routing/queues", json=queue).status_code == 201
    agent1, agent2 = tenants["other"].ids["agent1"], tenants["other"].ids["agent2"]
    for user in (agent1, agent2):
        profile = {"queues": {"bq": 1}, "capacity": {"chat": 1}}
        assert admin_b.put(f"/api/v1/routing/agents/{user}", json=profile).status_code == 200
    assert (
        admin_b.post(
            f"/api/v1/routing/agents/{agent1}/state", json={"state": "available"}
        ).status_code
        == 200
    )

    def arrive(contact_id: str) -> dict[str, Any]:
        body = {"queue_id": "bq", "channel": "chat", "contact_id": contact_id}
        response = admin_b.post("/api/v1/routing/contacts", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    done = arrive("b-done")
    assert (
        agent_b.post(
            f"/api/v1/routing/offers/{done['offer_id'].replace('#', '%23')}/accept"
        ).status_code
        == 200
    )
    assert agent_b.post("/api/v1/routing/contacts/b-done/end").status_code == 200
    ids["B:wrapup"] = "b-done"
    assert (
        admin_b.post(
            f"/api/v1/routing/agents/{agent2}/state", json={"state": "available"}
        ).status_code
        == 200
    )
    active = arrive("b-active")
    ids["B:offer"] = active["offer_id"].replace("#", "%23")
    ids["B:active"] = "b-active"
    ids["B:contact"] = arrive("b-waiting")["contact_id"]
    ids["B:queue"] = "bq"


def _ids(tenants: dict[str, Any], admin_b: Any, agent_b: Any | None = None) -> dict[str, str]:
    token = admin_b.post(
        "/api/v1/api-tokens",
        json={"name": "b-integration", "user_id": tenants["other"].ids["agent1"]},
    )
    assert token.status_code == 201, token.text
    ids = {f"A:{k}": v for k, v in tenants["demo"].ids.items()}
    ids.update({f"B:{k}": v for k, v in tenants["other"].ids.items()})
    ids["B:token"] = token.json()["id"]
    csv = "interval_start,queue_id,channel,volume,aht\n2025-03-03T09:00:00Z,bq,chat,4,120\n"
    forecast = admin_b.post(
        "/api/v1/wfm/forecasts",
        json={
            "source": "csv",
            "csv": csv,
            "interval_minutes": 60,
            "method": "seasonal_naive",
            "backtest_days": 0,
        },
    )
    assert forecast.status_code == 201, forecast.text
    ids["B:forecast"] = forecast.json()["id"]
    ids["B:schedule"] = _schedule_b(admin_b, ids["B:agent1"])
    if agent_b is not None:
        _routing_b(tenants, admin_b, agent_b, ids)
        _voice_b(admin_b, ids)
        _crm_b(admin_b, ids)
        _im_b(admin_b, agent_b, ids)
        _channels_b(admin_b, ids)
    ids["B:call"] = "0" * 32  # see CALL above
    ids["B:recording"] = "00000000-0000-4000-8000-0000000000b1"  # see RECORDING above
    return ids


def _crm_b(admin_b: Any, ids: dict[str, str]) -> None:
    """Tenant B's CRM records: customers (one merged into the other), a case, a custom field,
    and the interaction of a routing contact (the projection brought up to date first)."""

    def ok(response: Any) -> dict[str, Any]:
        assert response.status_code in (200, 201), response.text
        return response.json()  # type: ignore[no-any-return]

    body = {"display_name": "Bea Other", "identities": [{"kind": "email", "value": "b@x.org"}]}
    customer = ok(admin_b.post(f"{CRM}/customers", json=body))
    ids["B:customer"], ids["B:identity"] = customer["id"], customer["identities"][0]["id"]
    twin = ok(admin_b.post(f"{CRM}/customers", json={"display_name": "Bea Twin"}))
    merge = ok(
        admin_b.post(f"{CRM}/customers/{customer['id']}/merge", json={"merged_id": twin["id"]})
    )
    ids["B:merge"] = merge["id"]
    case = ok(admin_b.post(f"{CRM}/cases", json={"customer_id": customer["id"], "title": "B"}))
    ids["B:case"] = case["id"]
    ok(admin_b.post(f"{CRM}/fields", json={"key": "b_only", "label": "B", "type": "text"}))
    ids["B:field"], ids["A:entity"] = "b_only", "customer"
    app = admin_b.client.app

    async def project() -> None:
        session = app.state.services.db.session(SYSTEM)
        try:
            tenant = await tenant_by_slug(session, "other")
            assert tenant is not None
        finally:
            await session.close()
        await app.state.crm.follower.catch_up(tenant.id)

    admin_b.client.portal.call(project)
    (interaction,) = ok(admin_b.get(f"{CRM}/interactions", params={"contact_id": "b-active"}))
    ids["B:interaction"] = interaction["id"]
    # The contact's card exists in B only once its interaction names B's customer.
    link = {"customer_id": customer["id"]}
    ok(admin_b.put(f"{CRM}/interactions/{interaction['id']}/customer", json=link))
    code = {"code": "b-only-code", "label": "B only"}
    ids["B:disposition"] = ok(admin_b.post(f"{CRM}/dispositions", json=code))["code"]
    # A grade of B's ended contact (b-done, by B's agent1).
    card = ok(admin_b.post("/api/v1/quality/scorecards", json=SCORECARD_BODY))
    ids["B:scorecard"] = card["id"]
    grade = {"scorecard_id": card["id"], "contact_id": "b-done", "agent_id": ids["B:agent1"],
             "answers": {"ok": "yes"}}  # fmt: skip
    ids["B:evaluation"] = ok(admin_b.post("/api/v1/quality/evaluations", json=grade))["id"]


def _im_b(admin_b: Any, agent_b: Any, ids: dict[str, str]) -> None:
    """Tenant B's team thread (with a message), a raised hand and an article."""
    posted = agent_b.post("/api/v1/im/messages", json={"team_id": ids["B:team"], "body": "b"})
    assert posted.status_code == 201, posted.text
    ids["B:thread"] = posted.json()["thread"]["id"]
    assert agent_b.post("/api/v1/im/hand", json={"note": "b"}).status_code == 200
    article = admin_b.post("/api/v1/knowledge/articles", json={"title": "B only"})
    assert article.status_code == 201, article.text
    ids["B:article"] = article.json()["id"]
    survey = admin_b.post("/api/v1/surveys/definitions", json={**SURVEY_BODY, "name": "B only"})
    assert survey.status_code == 201, survey.text
    ids["B:survey"] = survey.json()["id"]


def _channels_b(admin_b: Any, ids: dict[str, str]) -> None:
    """Tenant B's channel account, canned response, and a conversation with an attachment."""

    def ok(response: Any) -> dict[str, Any]:
        assert response.status_code in (200, 201), response.text
        return response.json()  # type: ignore[no-any-return]

    secret = "b-webhook-secret-0123456789"
    account = {
        "kind": "webhook",
        "name": "B gateway",
        "queue_id": "bq",
        "outbound_url": "http://127.0.0.1:9/never",
        "secret": secret,
    }
    created = ok(admin_b.post(f"{CHANNELS}/accounts", json=account))
    ids["B:account"] = created["id"]
    canned = {"shortcut": "b-hi", "title": "B", "text": "B"}
    ids["B:canned"] = ok(admin_b.post(f"{CHANNELS}/canned-responses", json=canned))["id"]
    mailbox = {
        "kind": "email",
        "name": "B reports",
        "queue_id": "bq",
        "address": "reports@b.example",
        "smtp_host": "127.0.0.1",
        "smtp_port": 9,
        "smtp_security": "none",
    }
    ok(admin_b.post(f"{CHANNELS}/accounts", json=mailbox))
    ids["B:schedule"] = ok(admin_b.post(SCHEDULES, json=SCHEDULE_BODY))["id"]
    file = {"filename": "b.pdf", "content_type": "application/pdf", "data": "JVBERg=="}
    delivery = {"messages": [{"id": "b-m1", "from": "b-peer", "attachments": [file]}]}
    raw = json.dumps(delivery).encode()
    admin_b.client.cookies.clear()
    response = admin_b.client.post(
        created["webhook_url"],
        content=raw,
        headers={"content-type": "application/json", "X-Omnidesk-Signature": sign(secret, raw)},
    )
    assert response.status_code == 200, response.text
    (conversation,) = ok(admin_b.get("/api/v1/conversations"))
    ids["B:conversation"] = conversation["id"]
    (message,) = ok(admin_b.get(f"/api/v1/conversations/{conversation['id']}/messages"))
    ids["B:attachment"] = message["attachments"][0]["id"]


def _crm_a(admin_a: Any, ids: dict[str, str]) -> None:
    """Tenant A's own customer and identity (for routes that mix A's and B's ids)."""
    body = {"display_name": "Al Own", "identities": [{"kind": "email", "value": "a@x.org"}]}
    response = admin_a.post(f"{CRM}/customers", json=body)
    assert response.status_code == 201, response.text
    ids["A:customer"] = response.json()["id"]
    ids["A:identity"] = response.json()["identities"][0]["id"]


def _voice_b(admin_b: Any, ids: dict[str, str]) -> None:
    """Tenant B's voice configuration: domain, an agent's SIP login, trunk, flow, DID, audio."""

    def ok(response: Any) -> dict[str, Any]:
        assert response.status_code in (200, 201), response.text
        return response.json()  # type: ignore[no-any-return]

    ids["B:domain"] = "voice.other.example"
    ok(admin_b.put("/api/v1/voice/settings", json={"sip_domain": ids["B:domain"]}))
    sip = {"username": "b-1001", "password": "b-password"}
    ok(admin_b.put(f"/api/v1/voice/agents/{ids['B:agent1']}/sip", json=sip))
    trunk = {"name": "b-carrier", "allowed_addresses": ["198.51.100.0/24"]}
    ids["B:trunk"] = ok(admin_b.post("/api/v1/voice/trunks", json=trunk))["id"]
    definition = {"id": "b", "start": "b", "nodes": {"b": {"type": "hangup"}}}
    flow = {"name": "b-flow", "definition": definition}
    ids["B:flow"] = ok(admin_b.post("/api/v1/voice/flows", json=flow))["id"]
    ids["A:version"] = "1"
    ids["B:did"] = "+442071838750"
    number = {"number": ids["B:did"], "flow_id": ids["B:flow"], "trunk_id": ids["B:trunk"]}
    ids["B:number"] = ok(admin_b.post("/api/v1/voice/numbers", json=number))["id"]
    ok(admin_b.put(f"/api/v1/voice/queues/{ids['B:queue']}/policy", json={"record": "never"}))
    wav = io.BytesIO()
    with wave.open(wav, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x01" * 800)
    ids["B:audio"] = "b-hello.wav"
    ok(
        admin_b.post(
            f"/api/v1/voice/audio?name={ids['B:audio']}",
            content=wav.getvalue(),
            headers={"content-type": "audio/wav"},
        )
    )


def _schedule_b(admin_b: Any, agent1: str) -> str:
    """Tenant B's published schedule: one agent, one day."""
    profile = admin_b.put(f"/api/v1/wfm/agents/{agent1}/profile", json={"skills": ["lang.en"]})
    assert profile.status_code == 200, profile.text
    body = {
        "horizon": {"start": "2026-03-23", "days": 1, "interval_minutes": 60},
        "requirement": {"lang.en": [0] * 8 + [1] * 8 + [0] * 8},
        "shift_templates": [{"name": "day", "length_minutes": 480, "start_times": ["08:00"]}],
        "agents": [agent1],
        "time_limit_seconds": 5,
    }
    schedule = admin_b.post("/api/v1/wfm/schedules", json=body)
    assert schedule.status_code == 201, schedule.text
    return str(schedule.json()["id"])


def _state(admin: Any) -> dict[str, Any]:
    """Everything an admin can read about their tenant (minus token last-use times)."""
    tokens = admin.get("/api/v1/api-tokens").json()
    return {
        "users": admin.get("/api/v1/users").json(),
        "teams": admin.get("/api/v1/teams").json(),
        "tokens": [{k: v for k, v in t.items() if k != "last_used_at"} for t in tokens],
        "audit": audit_entries(admin),
        "queues": admin.get("/api/v1/routing/queues").json(),
        # Without the wait estimate: waited time grows by itself.
        "contacts": [
            {k: v for k, v in c.items() if k != "estimate"}
            for c in admin.get("/api/v1/routing/contacts").json()
        ],
        "forecasts": admin.get("/api/v1/wfm/forecasts").json(),
        "schedules": admin.get("/api/v1/wfm/schedules").json(),
        "voice": [
            admin.get(path).json()
            for path in (
                "/api/v1/voice/settings",
                "/api/v1/voice/trunks",
                "/api/v1/voice/numbers",
                "/api/v1/voice/audio",
            )
        ],
        "flows": [
            admin.get(f"/api/v1/voice/flows/{flow['id']}").json()
            for flow in admin.get("/api/v1/voice/flows").json()
        ],
        "sip": [
            admin.get(f"/api/v1/voice/agents/{user['id']}/sip").json()
            for user in admin.get("/api/v1/users").json()
        ],
        "policies": [
            admin.get(f"/api/v1/voice/queues/{queue['definition']['id']}/policy").json()
            for queue in admin.get("/api/v1/routing/queues").json()
        ],
    }


def test_other_tenants_ids_are_not_found_on_every_route(tenants, as_user) -> None:
    admin_a, admin_b = as_user("admin"), as_user("admin", tenant="other")
    ids = _ids(tenants, admin_b, as_user("agent1", tenant="other"))
    created = admin_a.post(
        "/api/v1/api-tokens", json={"name": "a-admin", "user_id": ids["A:admin"]}
    )
    assert created.status_code == 201, created.text
    bearer = {"Authorization": f"Bearer {created.json()['token']}"}
    _crm_a(admin_a, ids)
    before_b, cursor_b = _state(admin_b), event_cursor(admin_b)
    audit_a, cursor_a = audit_entries(admin_a), event_cursor(admin_a)

    callers = [
        ("admin (cookie)", admin_a, None),
        ("admin (API token)", admin_a, bearer),
        ("supervisor", as_user("supervisor"), None),
        ("agent", as_user("agent1"), None),
    ]
    foreign = {v for k, v in ids.items() if k.startswith("B:")}
    for who, caller, headers in callers:
        for (method, route), (param_sets, body) in FOREIGN.items():
            for params in param_sets:
                url = route.format(**{k: ids[v] for k, v in params.items()})
                kwargs: dict[str, Any] = {} if body is None else {"json": body}
                if headers:
                    # The token alone, no session cookie: the token's tenant decides.
                    caller.client.cookies.clear()
                    response = caller.client.request(method, url, headers=headers, **kwargs)
                else:
                    response = caller.request(method, url, **kwargs)
                # Non-admins are refused mutations before any lookup, which leaks nothing either.
                allowed = (404,) if who.startswith("admin") or method == "GET" else (403, 404)
                if (
                    who == "agent"
                    and route.startswith(STAFF_ONLY_PREFIXES)
                    and not route.startswith(AGENT_READABLE_PREFIXES)
                ):
                    allowed = (403,)
                assert response.status_code in allowed, f"{who} {method} {url} -> {response.text}"
                assert_problem(response, response.status_code)
                sent = unquote(url)
                for value in (v for v in foreign if v not in sent):
                    assert value not in response.text, f"{who} {method} {url} leaked {value}"

    assert _state(admin_b) == before_b
    assert_no_new_events(admin_b, cursor_b)
    assert_no_new_events(admin_a, cursor_a)
    assert audit_entries(admin_a) == audit_a


def test_lists_never_show_another_tenants_rows(tenants, as_user) -> None:
    admin_b = as_user("admin", tenant="other")
    ids = _ids(tenants, admin_b, as_user("agent1", tenant="other"))
    admin_a = as_user("admin")
    token_a = admin_a.post("/api/v1/api-tokens", json={"name": "a", "user_id": ids["A:agent2"]})
    assert token_a.status_code == 201
    ids["A:token"] = token_a.json()["id"]
    # Some activity in both tenants, so every list has rows of both in the database.
    for admin in (admin_a, admin_b):
        assert admin.post("/api/v1/teams", json={"name": "Sales"}).status_code == 201
    # A logo per tenant (told by its first bytes), so the logo read has rows of both to mix up.
    logos = {"A": b"\x89PNG\r\n\x1a\nlogo of A", "B": b"\x89PNG\r\n\x1a\nlogo of B"}
    for admin, logo in ((admin_a, logos["A"]), (admin_b, logos["B"])):
        put = admin.put("/api/v1/branding/logo", params={"version": 1}, content=logo)
        assert put.status_code == 200, put.text
    ids["B:logo"] = "logo of B"
    foreign = {v for k, v in ids.items() if k.startswith("B:")}
    b_sales = next(t["id"] for t in admin_b.get("/api/v1/teams").json() if t["name"] == "Sales")
    foreign.add(b_sales)

    def no_foreign(payload: Any) -> None:
        text = json.dumps(payload)
        leaked = [key for key, value in ids.items() if key.startswith("B:") and value in text]
        assert not leaked and b_sales not in text, f"tenant B's ids leaked: {leaked}"

    for who in ("admin", "supervisor", "agent1"):
        caller = as_user(who)
        for path in sorted(LISTS - {"/api/v1/realtime"}):
            response = caller.get(path + LIST_QUERIES.get(path, ""))
            if response.status_code == 403:
                continue  # admin-only lists: checked as admin below
            assert response.status_code == 200, f"{who} {path}: {response.text}"
            json_body = response.headers["content-type"].startswith("application/json")
            no_foreign(response.json() if json_body else response.text)

    # And the admin's lists do show the own tenant's rows (the checks above are not vacuous).
    assert as_user("agent1").get("/api/v1/branding/logo").content == logos["A"]
    users = {u["id"] for u in admin_a.get("/api/v1/users").json()}
    assert users == {ids[f"A:{u}"] for u in ("admin", "supervisor", "agent1", "agent2")}
    teams = {t["id"] for t in admin_a.get("/api/v1/teams").json()}
    assert ids["A:team"] in teams and len(teams) == 2
    assert {t["id"] for t in admin_a.get("/api/v1/api-tokens").json()} == {ids["A:token"]}
    audit = audit_entries(admin_a)
    assert {e["target_id"] for e in audit} >= {ids["A:token"], ids["A:agent1"], ids["A:team"]}
    events, _ = all_events(admin_a)
    subjects = {e["subject"]["id"] for e in events}
    assert {ids["A:agent1"], ids["A:team"]} <= subjects and not subjects & foreign
    assert admin_a.get("/api/v1/auth/me").json()["id"] == ids["A:admin"]

    # The realtime snapshot is a read too.
    with admin_a.websocket() as ws:
        ws.send_json({"type": "register", "last_event_id": None})
        snapshot = ws.receive_json()
        assert snapshot["type"] == "snapshot", snapshot
        no_foreign(snapshot)
        assert set(snapshot["state"]["directory"]["users"]) == users
