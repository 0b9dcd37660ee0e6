"""A queue's hours with a holiday calendar over the API, on both databases: saved and read back
as given, and an unknown country or subdivision refused with 422 naming the field (the admin
console shows it there)."""

from __future__ import annotations

HOURS = {
    "timezone": "Europe/Berlin",
    "weekly": {"mon": [["08:00", "18:00"]], "sat": [["22:00", "02:00"]]},
    "holidays": ["2026-12-24"],
    "holiday_country": "DE",
    "holiday_subdivision": "BY",
}
QUEUE = {
    "id": "billing",
    "channels": ["voice"],
    "hours": HOURS,
    "on_closed": {"kind": "voicemail", "message": "We are closed"},
    "overflow_waiting_on_close": True,
    "max_wait_seconds": 300,
    "on_max_wait": {"kind": "callback"},
    "max_size": 20,
    "on_full": {"kind": "disconnect", "message": "Too busy"},
    "wrap_up_seconds": 30,
    "wrap_up_extension_seconds": 60,
    "disposition_required": True,
}


def test_hours_with_a_country_calendar_round_trip(as_user):
    admin = as_user("admin")
    r = admin.post("/api/v1/routing/queues", json=QUEUE)
    assert r.status_code == 201, r.text
    definition = admin.get("/api/v1/routing/queues/billing").json()["definition"]
    assert definition["hours"] == HOURS
    for key in ("on_closed", "on_max_wait", "on_full"):
        assert {k: v for k, v in definition[key].items() if v is not None} == QUEUE[key]
    assert definition["max_size"] == 20 and definition["wrap_up_extension_seconds"] == 60


def _refused(admin, queue) -> dict:  # type: ignore[no-untyped-def]
    r = admin.post("/api/v1/routing/queues", json=queue)
    assert r.status_code == 422, r.text
    return r.json()


def test_an_unknown_calendar_is_refused_on_its_field(as_user):
    admin = as_user("admin")
    problem = _refused(admin, {**QUEUE, "hours": {**HOURS, "holiday_country": "XX"}})
    assert problem["field"] == "queue.hours.holiday_country", problem
    problem = _refused(admin, {**QUEUE, "hours": {**HOURS, "holiday_subdivision": "ZZ"}})
    assert problem["field"] == "queue.hours.holiday_subdivision", problem
    # The schema's own checks name the field by its path (the form's `errors[].loc`).
    problem = _refused(admin, {**QUEUE, "hours": {**HOURS, "holiday_country": "germany"}})
    assert [e["loc"] for e in problem["errors"]] == [["body", "hours", "holiday_country"]]
    problem = _refused(
        admin, {**QUEUE, "hours": {**HOURS, "weekly": {"mon": [["08:00", "25:00"]]}}}
    )
    assert problem["errors"][0]["loc"][:4] == ["body", "hours", "weekly", "mon"]
    problem = _refused(admin, {**QUEUE, "on_max_wait": {"kind": "queue", "queue_id": "nowhere"}})
    assert problem["field"] == "queue.on_max_wait.queue_id", problem
    assert admin.get("/api/v1/routing/queues/billing").status_code == 404
