"""Schedules over HTTP on both databases: profiles, publishing, reading in local time, adherence
from the routing event log, events and audit, roles, tenant isolation and bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from spine_checks import assert_problem, events_of

SCHEDULES = "/api/v1/wfm/schedules"
DAY_START = date(2026, 3, 28)  # Saturday; Berlin changes to summer time on Sunday 29th


def profile_url(user_id: str) -> str:
    return f"/api/v1/wfm/agents/{user_id}/profile"


def hourly(windows: list[tuple[int, int, int]]) -> list[int]:
    values = [0] * 24
    for a, b, n in windows:
        for h in range(a, b):
            values[h] = n
    return values


def two_day_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "weekend",
        "horizon": {"start": DAY_START.isoformat(), "days": 2, "interval_minutes": 60},
        # One day of requirement, repeated on both days.
        "requirement": {
            "lang.de": hourly([(8, 16, 1)]),
            "lang.en": hourly([(8, 16, 1)]),
        },
        "shift_templates": [
            {
                "name": "day",
                "length_minutes": 480,
                "start_times": {"from": "08:00", "to": "11:00", "every_minutes": 60},
                "breaks": [
                    {"minutes": 60, "after_minutes": 180, "before_minutes": 300, "paid": False}
                ],
            }
        ],
        "time_limit_seconds": 5,
    }
    body.update(changes)
    return body


def setup_profiles(admin: Any, ids: dict[str, str]) -> None:
    for name, skills in (("agent1", ["lang.de", "lang.en"]), ("agent2", ["lang.en"])):
        r = admin.put(
            profile_url(ids[name]),
            json={
                "skills": skills,
                "timezone": "Europe/Berlin",
                "max_hours_per_week": 40,
                "max_shifts_per_week": 5,
                "min_rest_hours": 11,
            },
        )
        assert r.status_code == 200, r.text


def test_profiles_publish_read_and_roles(as_user, tenants) -> None:
    ids = tenants["demo"].ids
    admin, agent1, agent2 = as_user("admin"), as_user("agent1"), as_user("agent2")
    setup_profiles(admin, ids)

    mine = agent1.get(profile_url(ids["agent1"]))
    assert mine.status_code == 200, mine.text
    assert mine.json()["effective"] == {
        "timezone": "Europe/Berlin",
        "timezone_from": "profile",
        "skills": ["lang.de", "lang.en"],
        "skills_from": "profile",
    }
    assert mine.json()["max_shifts_per_week"] == 5
    assert_problem(agent1.get(profile_url(ids["agent2"])), 404)
    assert_problem(agent1.put(profile_url(ids["agent1"]), json={}), 403)
    # The supervisor manages the agents of their team.
    r = as_user("supervisor").put(profile_url(ids["agent2"]), json={"skills": ["lang.en"]})
    assert r.status_code == 200, r.text
    assert r.json()["effective"]["timezone"] == "UTC"  # the user's own zone now
    setup_profiles(admin, ids)

    assert_problem(agent1.post(SCHEDULES, json=two_day_body()), 403)
    created = admin.post(SCHEDULES, json=two_day_body(agents=[ids["agent1"], ids["agent2"]]))
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["status"] == "OPTIMAL"
    assert schedule["under_minutes"] == 2 * 2 * 60  # the unpaid hour of each shift, both days
    by_user = {a["user_id"]: a for a in schedule["agents"]}
    assert set(by_user) == {ids["agent1"], ids["agent2"]}
    for agent in by_user.values():
        assert len(agent["shifts"]) == 2
        assert agent["paid_minutes_by_week"] == [2 * 420]
        for shift in agent["shifts"]:
            assert shift["start"].endswith("T08:00:00+00:00")  # UTC in the default view
    coverage = schedule["coverage"]["skills"]
    assert coverage["lang.de"]["required"][8:16] == [1] * 8
    assert sum(coverage["lang.de"]["scheduled"][8:16]) == 7  # one hour on break
    assert coverage["lang.de"]["gap"][0] == 0
    sid = schedule["id"]

    # The event and the audit entry; the agents see the event, it is addressed to them.
    [event] = events_of(admin, "wfm.schedule_published")
    assert event["data"]["schedule_id"] == sid and event["data"]["shifts"] == 4
    assert sorted(event["data"]["agent_ids"]) == sorted([ids["agent1"], ids["agent2"]])
    assert len(events_of(agent1, "wfm.schedule_published")) == 1
    audit = admin.get("/api/v1/audit-log").json()
    assert any(e["action"] == "wfm.schedule.create" and e["target_id"] == sid for e in audit)

    # Local time: Berlin is UTC+1 on Saturday and UTC+2 on Sunday.
    local = agent1.get(f"{SCHEDULES}/{sid}/agents/{ids['agent1']}", params={"tz": "local"})
    assert local.status_code == 200, local.text
    starts = [s["start"] for s in local.json()["shifts"]]
    assert starts == ["2026-03-28T09:00:00+01:00", "2026-03-29T10:00:00+02:00"]
    tokyo = agent1.get(f"{SCHEDULES}/{sid}/agents/{ids['agent1']}", params={"tz": "Asia/Tokyo"})
    assert tokyo.json()["shifts"][0]["start"] == "2026-03-28T17:00:00+09:00"
    assert_problem(
        agent1.get(f"{SCHEDULES}/{sid}/agents/{ids['agent1']}", params={"tz": "Mars/Base"}),
        422,
        "tz",
    )
    # Agents read only their own shifts.
    assert_problem(agent1.get(f"{SCHEDULES}/{sid}/agents/{ids['agent2']}"), 404)
    own = agent1.get(f"{SCHEDULES}/{sid}").json()
    assert [a["user_id"] for a in own["agents"]] == [ids["agent1"]] and "coverage" not in own
    full = as_user("supervisor").get(f"{SCHEDULES}/{sid}", params={"tz": "local"}).json()
    assert len(full["agents"]) == 2 and "coverage" in full
    assert {s["start"][-6:] for a in full["agents"] for s in a["shifts"]} == {"+01:00", "+02:00"}
    assert [s["id"] for s in agent2.get(SCHEDULES).json()] == [sid]

    # A schedule without agent2 is invisible to them.
    only1 = admin.post(SCHEDULES, json=two_day_body(agents=[ids["agent1"]])).json()
    assert [s["id"] for s in agent2.get(SCHEDULES).json()] == [sid]
    assert_problem(agent2.get(f"{SCHEDULES}/{only1['id']}"), 404)
    assert [s["id"] for s in admin.get(SCHEDULES).json()] == [only1["id"], sid]


def test_skills_and_zone_come_from_the_routing_profile(as_user, tenants) -> None:
    ids = tenants["demo"].ids
    admin = as_user("admin")
    assert admin.patch(f"/api/v1/users/{ids['agent1']}", json={"timezone": "America/New_York"})
    r = admin.put(f"/api/v1/routing/agents/{ids['agent1']}", json={"skills": {"lang.fr": 3}})
    assert r.status_code == 200, r.text
    r = admin.put(
        profile_url(ids["agent1"]), json={"skills": ["lang.de"], "timezone": "Asia/Manila"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["effective"] == {
        "timezone": "America/New_York",
        "timezone_from": "routing",
        "skills": ["lang.fr"],
        "skills_from": "routing",
    }
    body = two_day_body(
        agents=[ids["agent1"]],
        requirement={"lang.fr": hourly([(14, 22, 1)])},
        shift_templates=[{"name": "x", "length_minutes": 480, "start_times": ["09:00", "10:00"]}],
    )
    schedule = admin.post(SCHEDULES, json=body)
    assert schedule.status_code == 201, schedule.text
    [agent] = schedule.json()["agents"]
    assert agent["timezone"] == "America/New_York" and agent["skills"] == ["lang.fr"]
    # 10:00 in New York (UTC-4 since 8 March) is 14:00 UTC: exactly the requirement.
    assert [s["start"][11:16] for s in agent["shifts"]] == ["14:00", "14:00"]
    assert schedule.json()["under_minutes"] == 0


def test_requirement_from_staffing_and_default_agents(as_user, tenants) -> None:
    ids = tenants["demo"].ids
    admin = as_user("admin")
    setup_profiles(admin, ids)
    calls = [0.0] * 8 + [30.0] * 8 + [0.0] * 8  # 30 calls an hour, 08-16 UTC
    staffing = {"calls": calls, "aht": 240, "answer_time": 20, "target_sl": 0.8}
    body = two_day_body(requirement={"lang.en": staffing})
    r = admin.post(SCHEDULES, json=body)
    assert r.status_code == 201, r.text
    required = r.json()["coverage"]["skills"]["lang.en"]["required"]
    # Erlang C: 30 calls x 240 s in an hour is 2 Erlangs; 80 % in 20 s needs 4 agents.
    assert required[8:16] == [4] * 8 and required[:8] == [0] * 8 and len(required) == 48
    # No `agents`: everyone with a profile the caller sees.
    assert {a["user_id"] for a in r.json()["agents"]} == {ids["agent1"], ids["agent2"]}
    sup = as_user("supervisor").post(SCHEDULES, json=body)
    assert sup.status_code == 201, sup.text


@pytest.mark.parametrize(
    ("change", "status", "fragment"),
    [
        ({"requirement": {"lang.en": [1] * 23}}, 422, "requirement.lang.en"),
        ({"horizon": {"start": "2026-03-28", "days": 0}}, 422, "horizon.days"),
        ({"horizon": {"start": "2026-03-28", "days": 1, "interval_minutes": 7}}, 422, "interval"),
        ({"time_limit_seconds": 600}, 422, "time_limit_seconds"),
        ({"agents": ["B:agent1"]}, 404, "not found"),
        ({"agents": ["A:supervisor"]}, 422, "agents.0"),
        ({"agents": ["A:agent1", "A:agent1"]}, 422, "agents.1"),
        (
            {"shift_templates": [{"name": "x", "length_minutes": 480, "start_times": ["8am"]}]},
            422,
            "start_times",
        ),
        (
            {
                "requirement": {
                    "lang.en": {"calls": [1.0] * 24, "aht": 240, "target_sl": 0.8, "model": "a"}
                }
            },
            422,
            "requirement.lang.en.patience",
        ),
        ({"surprise": 1}, 422, "surprise"),
    ],
)
def test_bad_schedule_requests_name_the_field(as_user, tenants, change, status, fragment) -> None:
    ids = {f"A:{k}": v for k, v in tenants["demo"].ids.items()}
    ids.update({f"B:{k}": v for k, v in tenants["other"].ids.items()})
    admin = as_user("admin")
    setup_profiles(admin, tenants["demo"].ids)
    if "agents" in change:
        change = {"agents": [ids[a] for a in change["agents"]]}
    assert_problem(admin.post(SCHEDULES, json=two_day_body(**change)), status, fragment)
    assert admin.get(SCHEDULES).json() == []


def test_infeasible_and_bad_profiles(as_user, tenants) -> None:
    ids = tenants["demo"].ids
    admin = as_user("admin")
    assert_problem(
        admin.put(profile_url(ids["agent1"]), json={"min_hours_per_week": 50}),
        422,
        "max_hours_per_week",
    )
    assert_problem(
        admin.put(profile_url(ids["agent1"]), json={"timezone": "Mars/Base"}), 422, "timezone"
    )
    assert_problem(
        admin.put(profile_url(ids["agent1"]), json={"availability": {"mon": [["25:00", "26:00"]]}}),
        422,
        "availability",
    )
    r = admin.put(
        profile_url(ids["agent1"]),
        json={
            "skills": ["lang.en"],
            "availability": {"sat": [["08:00", "12:00"]]},
            "min_hours_per_week": 35,
        },  # 10 h in a 2-day plan, 4 h available
    )
    assert r.status_code == 200, r.text
    body = assert_problem(
        admin.post(SCHEDULES, json=two_day_body(agents=[ids["agent1"]])),
        422,
        "min_hours_per_week",
    )
    assert body["code"] == "schedule_infeasible"
    assert body["user_id"] == ids["agent1"] and body["field"] == "agents.0.min_hours_per_week"


def test_adherence_from_the_routing_event_log(as_user, tenants) -> None:
    ids = tenants["demo"].ids
    admin, agent1 = as_user("admin"), as_user("agent1")
    now = datetime.now(UTC)
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    start = today - timedelta(days=1)
    # A 4-hour requirement around now, inside the two-day horizon: the shift must land on it.
    shift_start = min(
        now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=2),
        today + timedelta(hours=20),
    )
    first = int((shift_start - start).total_seconds() // 3600)
    requirement = [0] * 48
    requirement[first : first + 4] = [1] * 4
    r = admin.put(profile_url(ids["agent1"]), json={"skills": ["lang.en"]})
    assert r.status_code == 200, r.text
    body = {
        "horizon": {"start": start.date().isoformat(), "days": 2, "interval_minutes": 60},
        "requirement": {"lang.en": requirement},
        "shift_templates": [
            {
                "name": "four",
                "length_minutes": 240,
                "start_times": {"from": "00:00", "to": "23:00", "every_minutes": 60},
                "timezone": "UTC",
            }
        ],
        "agents": [ids["agent1"]],
        "time_limit_seconds": 5,
    }
    created = admin.post(SCHEDULES, json=body)
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    [shift] = created.json()["agents"][0]["shifts"]
    assert datetime.fromisoformat(shift["start"]) == shift_start

    # Offline until now, then available, then away in training, then back.
    assert admin.put(f"/api/v1/routing/agents/{ids['agent1']}", json={}).status_code == 200
    state = f"/api/v1/routing/agents/{ids['agent1']}/state"
    for payload in (
        {"state": "available"},
        {"state": "away", "reason": "training"},
        {"state": "available"},
    ):
        assert agent1.post(state, json=payload).status_code == 200
    changes = [e["data"] for e in events_of(admin, "routing.agent_state_changed")]
    t1, t2, t3 = (datetime.fromisoformat(c["at"]) for c in changes)
    assert [c["state"] for c in changes] == ["available", "away", "available"]

    params = {
        "schedule_id": sid,
        "user_id": ids["agent1"],
        "start": shift_start.isoformat(),
        "end": t3.isoformat(),
        "grace_seconds": 0,
    }
    r = agent1.get("/api/v1/wfm/adherence", params=params)
    assert r.status_code == 200, r.text
    report = r.json()["report"]
    scheduled = (t3 - shift_start).total_seconds()
    assert report["scheduled_seconds"] == scheduled
    assert report["adherence"] == pytest.approx((t2 - t1) / (t3 - shift_start), rel=1e-12)
    assert report["conformance"] == pytest.approx((t2 - t1) / (t3 - shift_start), rel=1e-12)
    spans = report["out_of_adherence"]
    assert [(s["start"], s["pieces"][0]["actual"]) for s in spans] == [
        (shift_start.isoformat(), "off"),
        (t2.isoformat(), "away"),
    ]
    assert spans[1]["pieces"][0]["reason"] == "training"
    # Defaults: the caller, their newest schedule, its horizon up to now.
    default = agent1.get("/api/v1/wfm/adherence")
    assert default.status_code == 200 and default.json()["schedule_id"] == sid
    assert default.json()["report"]["scheduled_seconds"] >= scheduled
    # Nobody else's adherence for an agent; none at all for a user in no schedule.
    assert_problem(agent1.get("/api/v1/wfm/adherence", params={"user_id": ids["agent2"]}), 404)
    nothing = as_user("agent2").get("/api/v1/wfm/adherence").json()
    assert nothing == {"schedule_id": None, "user_id": ids["agent2"], "report": None}
    assert_problem(
        admin.get("/api/v1/wfm/adherence", params={**params, "end": shift_start.isoformat()}),
        422,
        "end",
    )
    assert_problem(
        admin.get("/api/v1/wfm/adherence", params={**params, "start": "2026-01-01T00:00:00"}),
        422,
        "start",
    )


def test_other_tenants_schedules_are_not_found(as_user, tenants) -> None:
    admin_b = as_user("admin", tenant="other")
    b_ids = tenants["other"].ids
    setup_profiles(admin_b, b_ids)
    created = admin_b.post(SCHEDULES, json=two_day_body(agents=[b_ids["agent1"]]))
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    admin_a = as_user("admin")
    for url in (
        f"{SCHEDULES}/{sid}",
        f"{SCHEDULES}/{sid}/agents/{b_ids['agent1']}",
        profile_url(b_ids["agent1"]),
    ):
        assert_problem(admin_a.get(url), 404)
    assert_problem(admin_a.get("/api/v1/wfm/adherence", params={"schedule_id": sid}), 404)
    assert admin_a.get(SCHEDULES).json() == []
    assert [s["id"] for s in admin_b.get(SCHEDULES).json()] == [sid]
