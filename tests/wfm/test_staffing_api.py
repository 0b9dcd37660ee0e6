"""POST /api/v1/wfm/staffing and /wfm/erlang on both databases: figures, totals, errors, roles."""

from __future__ import annotations

import math

import pytest

from omnidesk.wfm.staffing import staff
from spine_checks import assert_problem

URL = "/api/v1/wfm/staffing"


COMMON = {
    "model": "c",
    "interval_seconds": 1800,
    "answer_time": 20,
    "target_sl": 0.8,
    "max_occupancy": 0.85,
    "shrinkage": 0.3,
}


def _intervals(*calls: float, aht: float = 180) -> list[dict[str, object]]:
    return [
        {"start": f"2025-03-03T{8 + k // 2:02d}:{30 * (k % 2):02d}:00Z", "calls": c, "aht": aht}
        for k, c in enumerate(calls)
    ]


def test_staffing_table_matches_the_worked_example_and_the_vectorised_search(as_user) -> None:
    body = {**COMMON, "intervals": _intervals(100, 0, 250, 37.5)}
    r = as_user("supervisor").post(URL, json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    rows = out["intervals"]
    # The published Call Centre Helper example: 14 agents, 20 with 30 % shrinkage.
    assert rows[0]["agents"] == 14 and rows[0]["agents_with_shrinkage"] == 20
    assert rows[0]["service_level"] == pytest.approx(0.8883500191794668, rel=1e-12)
    assert rows[0]["asa"] == pytest.approx(7.835937011777247, rel=1e-12)
    assert "p_abandon" not in rows[0]
    # The empty interval needs nobody.
    assert rows[1]["agents"] == 0 and rows[1]["service_level"] == 1.0
    for row, calls in zip(rows, (100, 0, 250, 37.5), strict=True):
        assert row["calls"] == calls
        if calls:
            one = staff(
                "c",
                calls=calls,
                interval_seconds=1800,
                aht=180,
                answer_time=20,
                target_sl=0.8,
                max_occupancy=0.85,
                shrinkage=0.3,
            ).point()
            assert row["agents"] == one.agents
            assert row["occupancy"] == pytest.approx(one.occupancy, rel=1e-12)
    agents = [row["agents"] for row in rows]
    totals = out["totals"]
    assert totals["agent_hours"] == pytest.approx(sum(agents) * 0.5)
    assert totals["agent_hours_with_shrinkage"] == pytest.approx(
        sum(row["agents_with_shrinkage"] for row in rows) * 0.5
    )
    assert totals["peak_agents"] == max(agents)
    assert totals["calls"] == pytest.approx(387.5)
    assert totals["workload_hours"] == pytest.approx(387.5 * 180 / 3600)
    weighted = sum(r["service_level"] * c for r, c in zip(rows, (100, 0, 250, 37.5), strict=True))
    assert totals["service_level"] == pytest.approx(weighted / 387.5)
    assert totals["occupancy"] == pytest.approx((387.5 * 180 / 1800) / sum(agents))


def test_per_interval_overrides_and_erlang_a(as_user) -> None:
    supervisor = as_user("supervisor")
    calls = _intervals(100, 100)
    calls[1]["target_sl"] = 0.95
    r = supervisor.post(URL, json={**COMMON, "intervals": calls})
    assert r.status_code == 200, r.text
    first, second = r.json()["intervals"]
    assert first["agents"] == 14 and second["agents"] > 14
    assert second["service_level"] >= 0.95 > first["service_level"]

    body = {
        **COMMON,
        "model": "a",
        "patience": 120,
        "max_occupancy": None,
        "intervals": _intervals(100),
    }
    r = supervisor.post(URL, json=body)
    assert r.status_code == 200, r.text
    row = r.json()["intervals"][0]
    # docs/wfm.md: with 2-minute patience the same queue needs 12 agents (18 with shrinkage).
    assert (row["agents"], row["agents_with_shrinkage"]) == (12, 18)
    assert row["p_abandon"] == pytest.approx(0.062, abs=5e-4)
    assert r.json()["totals"]["p_abandon"] == pytest.approx(row["p_abandon"])


@pytest.mark.parametrize(
    ("change", "status", "fragments"),
    [
        ({"max_occupancy": 1.0}, 422, ["max_occupancy", "< 1"]),
        ({"target_sl": 1.0}, 422, ["target_sl"]),
        ({"target_asa": 0}, 422, ["target_asa"]),
        ({"model": "a"}, 422, ["patience"]),
        ({"max_abandon": 0.05}, 422, ["max_abandon", "model a"]),
        ({"target_sl": None, "max_occupancy": None}, 422, ["target_sl", "at least one target"]),
        ({"interval_seconds": 0}, 422, ["interval_seconds"]),
        ({"model": "x"}, 422, ["model"]),
        ({"intervals": []}, 422, ["intervals"]),
        ({"targt_sl": 0.8}, 422, ["targt_sl"]),
    ],
)
def test_bad_tables_are_422_naming_the_field(as_user, change, status, fragments) -> None:
    body = {**COMMON, "intervals": _intervals(100, 50), **change}
    assert_problem(as_user("admin").post(URL, json=body), status, *fragments)


def test_errors_point_at_the_interval(as_user) -> None:
    admin = as_user("admin")
    rows = _intervals(100, 50, 80)
    rows[2]["target_sl"] = 1.5
    body = assert_problem(
        admin.post(URL, json={**COMMON, "intervals": rows}), 422, "target_sl", "interval 2"
    )
    assert body["field"] == "target_sl" and body["interval"] == 2
    assert body["interval_start"].startswith("2025-03-03T09:00")
    # A load no agent count up to the cap can carry.
    rows = _intervals(100, 2e8)
    body = assert_problem(admin.post(URL, json={**COMMON, "intervals": rows}), 422, "calls")
    assert body["interval"] == 1
    rows = _intervals(100, -5)
    assert_problem(admin.post(URL, json={**COMMON, "intervals": rows}), 422, "calls", "interval 1")
    # An override on some intervals needs a common value for the others.
    rows = _intervals(100, 50)
    rows[0]["target_asa"] = 30
    body = {**COMMON, "intervals": rows}
    assert_problem(admin.post(URL, json=body), 422, "target_asa", "interval 1")


def test_agents_are_refused(as_user) -> None:
    agent = as_user("agent1")
    assert_problem(agent.post(URL, json={**COMMON, "intervals": _intervals(10)}), 403)
    body = {"model": "b", "load": 10, "lines": 15}
    assert_problem(agent.post("/api/v1/wfm/erlang", json=body), 403)


def test_single_point_erlang(as_user) -> None:
    admin = as_user("admin")
    r = admin.post("/api/v1/wfm/erlang", json={"model": "b", "load": 10, "lines": 15})
    assert r.status_code == 200, r.text
    assert r.json() == {"model": "b", "blocking": pytest.approx(0.0364969454723708, rel=1e-12)}
    point = {"calls": 100, "interval_seconds": 1800, "aht": 180, "answer_time": 20}
    r = admin.post("/api/v1/wfm/erlang", json={"model": "c", **point, "agents": 14})
    assert r.json()["p_wait"] == pytest.approx(0.17413193359504994, rel=1e-12)
    # Unstable (agents <= load): infinite ASA is an explicit null.
    r = admin.post("/api/v1/wfm/erlang", json={"model": "c", **point, "agents": 10})
    assert r.status_code == 200 and r.json()["asa"] is None and r.json()["service_level"] == 0
    r = admin.post("/api/v1/wfm/erlang", json={"model": "a", **point, "agents": 12})
    assert_problem(r, 422, "patience", "model a")
    r = admin.post(
        "/api/v1/wfm/erlang", json={"model": "a", **point, "agents": 12, "patience": 120}
    )
    assert r.status_code == 200 and math.isfinite(r.json()["asa"])
    r = admin.post("/api/v1/wfm/erlang", json={"model": "c", **point, "agents": 0})
    assert_problem(r, 422, "agents")
