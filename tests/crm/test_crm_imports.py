"""CSV import (dry run, per-row report, nothing half-applied) and CSV export."""

from __future__ import annotations

import csv
import io

from crm_helpers import API, customer, search, setup_crm

GOOD = "display_name,phone,email,tags,field.plan\nIda Import,030 3333333,ida@example.com,a;b,pro\n"
BROKEN = (
    "display_name,phone,email,vip,field.plan\n"
    "Ida Import,030 3333333,ida@example.com,true,pro\n"  # line 2: fine
    "Bad Phone,12,,false,\n"  # line 3: phone
    "Bad Plan,,bp@example.com,,gold\n"  # line 4: choice
    "Twice,030 3333333,,,\n"  # line 5: same phone as line 2
    ",,,,\n"  # line 6: nothing to know the customer by
    "Taken,,taken@example.com,,\n"  # line 7: another customer's email
)


def _post(user, body: str, **params: object):  # type: ignore[no-untyped-def]
    return user.post(
        f"{API}/imports/customers",
        content=body.encode(),
        params=params,
        headers={"content-type": "text/csv"},
    )


def test_broken_rows_are_reported_and_nothing_is_half_applied(as_user) -> None:
    setup_crm(as_user("admin"))
    sup = as_user("supervisor")
    customer(sup, "Owner", ("email", "taken@example.com"))
    r = _post(sup, BROKEN, dry_run="true")
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["rows"], report["accepted"], report["applied"]) == (6, 1, False)
    by_line = {row["row"]: row["errors"] for row in report["rejected"]}
    assert sorted(by_line) == [3, 4, 5, 6, 7]
    assert by_line[3][0]["field"] == "phone" and "not a valid phone" in by_line[3][0]["message"]
    assert by_line[4][0]["field"] == "fields.plan"
    assert "line 2" in by_line[5][0]["message"]
    assert "customer" in by_line[7][0]["message"]
    r = _post(sup, BROKEN)
    assert r.status_code == 422 and len(r.json()["rejected"]) == 5
    assert search(sup, q="ida import") == []
    r = _post(sup, BROKEN, skip_rejected="true")
    assert r.status_code == 200 and r.json()["applied"] is True
    assert len(r.json()["created_ids"]) == 1
    assert search(sup, email="ida@example.com")[0]["display_name"] == "Ida Import"


def test_header_errors_and_roles_and_export(as_user) -> None:
    setup_crm(as_user("admin"))
    sup, agent = as_user("supervisor"), as_user("agent1")
    r = _post(sup, "display_name,field.shoe_size\nA,42\n")
    assert r.status_code == 422 and r.json()["field"] == "field.shoe_size"
    r = _post(sup, "display_name,age\nA,42\n")
    assert r.status_code == 422 and r.json()["field"] == "age"
    assert _post(sup, "").status_code == 422
    assert _post(agent, GOOD).status_code == 403
    assert _post(sup, GOOD).status_code == 200
    assert agent.get(f"{API}/exports/customers.csv").status_code == 403
    r = sup.get(f"{API}/exports/customers.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    (ida,) = [row for row in rows if row["display_name"] == "Ida Import"]
    assert (ida["phone"], ida["email"], ida["tags"], ida["field.plan"]) == (
        "+49303333333",
        "ida@example.com",
        "a;b",
        "pro",
    )
