"""The simulator's behaviour: common random numbers, rules that relax, shifts and breaks,
wrap-ups, missed offers, overflows, clock rules, determinism; and the statistics."""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pytest
from scipy import stats

from omnidesk.core.routing import EngineSettings
from omnidesk.wfm.twin import run_study, study_from_data
from omnidesk.wfm.twin.arrivals import generate
from omnidesk.wfm.twin.build import Plan
from omnidesk.wfm.twin.simulator import CANCELLED, COMPLETED, OVERFLOWED, Outcome, simulate
from omnidesk.wfm.twin.stats import estimate, tally

US = 1_000_000
HOUR = 3600 * US


def base(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "start": "2025-01-06T08:00:00+00:00",
        "interval_minutes": 30,
        "intervals": 4,
        "replications": 2,
        "seed": 3,
        "queues": [{"id": "q", "channels": ["voice"], "wrap_up_seconds": 0}],
        "agents": [{"id": "a", "count": 4, "capacity": {"voice": 1}, "queues": ["q"]}],
        "contacts": [
            {
                "queue": "q",
                "channel": "voice",
                "rates": 40,
                "handle": {"kind": "exponential", "mean": 150},
                "patience": {"kind": "exponential", "mean": 90},
            }
        ],
    }
    data.update(changes)
    return data


def run_once(data: dict[str, Any], replication: int = 0) -> tuple[Plan, Outcome]:
    plan = study_from_data(data).baseline
    customers = generate(plan, data.get("seed", 0), replication)
    return plan, simulate(plan, customers, check_times=True)


def test_every_contact_is_accounted_for_once() -> None:
    _plan, outcome = run_once(base())
    n = len(outcome.received_us)
    assert n > 100
    assert all(t >= 0 for t in outcome.received_us)  # the engine received every arrival
    codes = outcome.end_code
    for c in range(n):
        answered = outcome.answered_us[c] >= 0
        if codes[c] == COMPLETED:
            assert answered and outcome.ended_us[c] >= outcome.answered_us[c]
        elif codes[c] == CANCELLED:
            assert not answered and outcome.ended_us[c] >= outcome.received_us[c]
    assert {COMPLETED, CANCELLED} <= set(codes)
    assert all(code in (COMPLETED, CANCELLED) for code in codes)  # the run drained


def test_variants_see_identical_customers() -> None:
    """Common random numbers: the same arrivals, handle times and patience in each variant,
    so differences come from the change, not from other customers."""
    data = base(variants=[{"name": "double", "agents": [{"id": "a", "count": 8}]}])
    study = study_from_data(data)
    customers = generate(study.baseline, 3, 0)
    again = generate(study.baseline, 3, 0)
    assert customers == again
    assert generate(study.baseline, 3, 1).arrive_us != customers.arrive_us
    one = simulate(study.baseline, customers)
    two = simulate(study.variants[0], customers)
    assert one.received_us == two.received_us == customers.arrive_us
    for outcome in (one, two):
        for c, code in enumerate(outcome.end_code):
            if code == COMPLETED:  # talked exactly as long as drawn, whoever answered
                assert outcome.ended_us[c] - outcome.answered_us[c] == customers.handle_us[c]
            if code == CANCELLED:  # hung up exactly when its patience ran out
                assert outcome.ended_us[c] - outcome.received_us[c] == customers.patience_us[c]
    assert sum(c == CANCELLED for c in two.end_code) < sum(c == CANCELLED for c in one.end_code)


def test_a_stream_draws_do_not_depend_on_other_streams() -> None:
    data = base()
    plan = study_from_data(data).baseline
    alone = generate(plan, 3, 0)
    data["queues"][0]["channels"] = ["voice", "chat"]
    data["agents"][0]["capacity"]["chat"] = 2
    data["contacts"].append(
        {"queue": "q", "channel": "chat", "rates": 30, "handle": {"kind": "fixed", "value": 60}}
    )
    both_plan = study_from_data(data).baseline
    both = generate(both_plan, 3, 0)
    voice = [i for i, s in enumerate(both.stream) if both_plan.streams[s].channel == "voice"]
    assert [both.arrive_us[i] for i in voice] == alone.arrive_us
    assert [both.handle_us[i] for i in voice] == alone.handle_us


def test_a_german_contact_reaches_only_german_agents_until_the_rule_relaxes() -> None:
    data = base(
        queues=[
            {
                "id": "q",
                "channels": ["voice"],
                "wrap_up_seconds": 0,
                "steps": [
                    {"target": "skill(contact.language_skill) >= 1", "timeout_seconds": 60},
                    {"target": None},
                ],
            }
        ],
        agents=[
            {"id": "de", "skills": {"lang.de": 4}, "capacity": {"voice": 1}, "queues": ["q"]},
            {
                "id": "en",
                "count": 6,
                "skills": {"lang.en": 5},
                "capacity": {"voice": 1},
                "queues": ["q"],
            },
        ],
    )
    data["contacts"][0].update(
        rates=30,
        patience={"kind": "none"},
        attributes={"language_skill": {"lang.de": 1.0}},
    )
    plan, outcome = run_once(data)
    german = next(g.index for g in plan.groups if g.id == "de")
    waits = {"de": [], "en": []}
    for c, group in enumerate(outcome.answered_group):
        wait = outcome.answered_us[c] - outcome.received_us[c]
        waits["de" if group == german else "en"].append(wait)
    assert waits["de"] and waits["en"]  # both served: the rule did relax
    assert min(waits["en"]) >= 60 * US  # never before the step's 60 s
    assert min(waits["de"]) == 0


def test_agents_work_only_during_their_shifts_and_not_on_break() -> None:
    data = base(intervals=8)
    data["contacts"][0].update(rates=60, patience={"kind": "none"})
    data["agents"] = [
        {
            "id": "early",
            "count": 3,
            "capacity": {"voice": 1},
            "queues": ["q"],
            "shifts": [
                {
                    "start": "08:00",
                    "end": "10:00",
                    "breaks": [{"start": "09:00", "minutes": 20, "spread_minutes": 30}],
                }
            ],
        },
        {
            "id": "late",
            "count": 3,
            "capacity": {"voice": 1},
            "queues": ["q"],
            "shifts": [{"start": "2025-01-06T09:30:00+00:00", "end": "2025-01-06T12:00:00+00:00"}],
        },
    ]
    plan, outcome = run_once(data)
    start = plan.start_us
    for c, group in enumerate(outcome.answered_group):
        at = outcome.answered_us[c] - start
        if group == 0:
            assert 0 <= at <= 2 * HOUR
        elif group == 1:
            assert 1.5 * HOUR <= at <= 4 * HOUR
    # Each early agent: on break from 09:00 + k x 10 min for 20 min (k = 0, 1, 2).
    breaks = {
        f"early-{k + 1}": (start + HOUR + k * 600 * US, start + HOUR + (k * 600 + 1200) * US)
        for k in range(3)
    }
    states: dict[str, set[str]] = {agent_id: set() for agent_id in breaks}
    for t, agent_id, state in outcome.timeline:
        if agent_id in breaks and breaks[agent_id][0] <= t < breaks[agent_id][1]:
            states[agent_id].add(state)
    # Nobody takes a new contact on a break (one on a call when it starts finishes it first).
    assert all("busy" not in seen for seen in states.values())
    assert any("away" in seen for seen in states.values())
    # Logged-in time: 3 x 2 h early (breaks count as logged in), 3 x 2.5 h late, in 4 h.
    counts = tally(plan, outcome)
    logged = counts.agents[0].sum(axis=1) / 3600
    assert logged[0] == pytest.approx(6.0, abs=0.2) and logged[1] == pytest.approx(7.5, abs=0.3)


def test_wrap_up_by_the_engine_timer_or_ended_by_the_twin() -> None:
    timed = base()
    timed["queues"][0]["wrap_up_seconds"] = 40
    _, by_timer = run_once(timed)
    manual = base()
    manual["queues"][0]["wrap_up_seconds"] = None
    manual["contacts"][0]["wrap_up"] = {"kind": "fixed", "value": 40}
    _, by_twin = run_once(manual)
    # The same customers and the same 40 s of wrap-up: the same day, whoever ends it.
    assert by_timer.answered_us == by_twin.answered_us
    assert by_timer.end_code == by_twin.end_code
    busy = [s for _, _, s in by_twin.timeline]
    assert busy.count("wrap_up") > 100


def test_missed_offers_send_agents_away_and_back() -> None:
    data = base(engine={"missed_state": "away"}, missed_away_seconds=20)
    data["queues"][0]["offer_timeout_seconds"] = 5
    # A contact is never offered again to an agent who missed it, so with few agents one
    # could run out of agents; with 8 that takes 8 misses in a row (1 in 65,536).
    data["agents"][0]["count"] = 8
    data["contacts"][0].update(
        answer_delay={"kind": "empirical", "values": [1, 1, 1, 9]}, patience={"kind": "none"}
    )
    _plan, outcome = run_once(data)
    missed = [s for _, _, s in outcome.timeline if s == "away"]
    assert len(missed) > 20  # offers answered after 9 s timed out, the agent went away ...
    assert all(code == COMPLETED for code in outcome.end_code)  # ... came back; all served


def test_a_scenario_override_of_the_engine_settings_is_honoured_and_reported() -> None:
    # Offers answered after 9 s time out after 5 s: the server's default sends the agent who
    # missed one away; the scenario (and a variant) may say otherwise.
    data = base(missed_away_seconds=20)
    data["queues"][0]["offer_timeout_seconds"] = 5
    data["agents"][0]["count"] = 8
    data["contacts"][0].update(
        answer_delay={"kind": "empirical", "values": [1, 1, 1, 9]}, patience={"kind": "none"}
    )
    plan, outcome = run_once(data)
    assert plan.engine_settings == EngineSettings()
    assert "away" in {s for _, _, s in outcome.timeline}

    data["engine"] = {"missed_state": "available", "max_overflow_hops": 2}
    data["variants"] = [{"name": "reason", "engine": {"missed_reason": "no_answer"}}]
    plan, outcome = run_once(data)
    assert plan.engine_settings == EngineSettings(missed_state="available", max_overflow_hops=2)
    assert "away" not in {s for _, _, s in outcome.timeline}  # honoured

    report = run_study(study_from_data(data), replications=1)
    baseline, variant = report["runs"]
    server = EngineSettings().to_dict()
    assert baseline["engine_settings"] == {
        **server,
        "missed_state": "available",
        "max_overflow_hops": 2,
    }
    assert baseline["engine_settings_changed"] == ["missed_state", "max_overflow_hops"]
    assert variant["engine_settings"]["missed_reason"] == "no_answer"
    assert variant["engine_settings_changed"] == [
        "missed_state",
        "missed_reason",
        "max_overflow_hops",
    ]
    assert baseline["missed_away_seconds"] == 20


def test_overflow_at_max_wait_and_when_closed() -> None:
    data = base()
    data["queues"][0].update(
        max_wait_seconds=30,
        on_max_wait={"kind": "voicemail"},
        hours={"timezone": "UTC", "weekly": {"mon": [["08:00", "09:00"]]}},
        on_closed={"kind": "callback"},
    )
    data["agents"][0]["count"] = 2
    data["contacts"][0]["patience"] = {"kind": "none"}
    plan, outcome = run_once(data)
    report = run_study(study_from_data(data), replications=1)
    total = report["runs"][0]["total"]
    assert total["overflowed"]["mean"] == sum(c == OVERFLOWED for c in outcome.end_code)
    for c, code in enumerate(outcome.end_code):
        arrived = outcome.received_us[c] - plan.start_us
        if arrived >= HOUR:  # closed from 09:00: every arrival overflows at once
            assert code == OVERFLOWED and outcome.ended_us[c] == outcome.received_us[c]
        elif code == OVERFLOWED:
            assert outcome.ended_us[c] - outcome.received_us[c] == 30 * US


def test_rules_that_read_the_clock_are_retried_on_ticks() -> None:
    data = base(engine={"tick_seconds": 30})
    data["queues"][0]["steps"] = [{"target": "within_working_hours(agent)"}]
    data["agents"][0]["working_hours"] = {"mon": [["08:45", "18:00"]]}
    data["contacts"][0]["patience"] = {"kind": "none"}
    plan, outcome = run_once(data)
    answers = [t - plan.start_us for t in outcome.answered_us if t >= 0]
    assert answers and min(answers) >= 45 * 60 * US
    # Contacts waiting at 08:45 are picked up within a tick of the hours starting.
    assert min(answers) <= (45 * 60 + 30) * US


def test_the_same_seed_gives_the_same_report() -> None:
    data = base(variants=[{"name": "more", "agents": [{"id": "a", "count": 5}]}])
    study = study_from_data(data)
    one, two = run_study(study), run_study(study)
    other = run_study(study, seed=4)
    for report in (one, two, other):
        report.pop("performance")
    assert json.dumps(one) == json.dumps(two)
    assert json.dumps(one) != json.dumps(other)


def test_report_shape_and_warmup() -> None:
    data = base(warmup_minutes=30)
    report = run_study(study_from_data(data), replications=3, seed=1)
    run = report["runs"][0]
    assert [i["start"] for i in run["intervals"]] == [
        "2025-01-06T08:30:00+00:00",
        "2025-01-06T09:00:00+00:00",
        "2025-01-06T09:30:00+00:00",
    ]  # the warm-up interval is not reported
    total = run["total"]
    assert total["offered"]["mean"] == pytest.approx(
        sum(i["offered"]["mean"] for i in run["intervals"])
    )
    assert set(total["service_level"]) == {"mean", "ci_low", "ci_high", "half_width"}
    assert run["streams"][0]["queue_id"] == "q" and run["groups"][0]["group_id"] == "a"


def test_paired_differences_are_per_replication() -> None:
    data = base(variants=[{"name": "more", "agents": [{"id": "a", "count": 6}]}])
    report = run_study(study_from_data(data), replications=4)
    base_runs = []
    more_runs = []
    for replication in range(4):
        study = study_from_data(data)
        customers = generate(study.baseline, 3, replication)
        for plan, store in ((study.baseline, base_runs), (study.variants[0], more_runs)):
            counts = tally(plan, simulate(plan, customers)).contacts.sum(axis=(1, 2))
            store.append(counts[1] / counts[0])  # answered / offered
    diffs = np.array(more_runs) - np.array(base_runs)
    low, high = stats.t.interval(0.95, 3, loc=diffs.mean(), scale=stats.sem(diffs))
    figure = report["differences"][0]["total"]["answered"]
    ratio = report["differences"][0]["total"]
    assert ratio["abandon_rate"]["mean"] == pytest.approx(-diffs.mean())
    assert ratio["abandon_rate"]["ci_low"] == pytest.approx(-high)
    assert ratio["abandon_rate"]["ci_high"] == pytest.approx(-low)
    assert figure["mean"] > 0


def test_estimate_matches_student_t() -> None:
    values = np.array([[0.8, 1.0, np.nan], [0.7, 2.0, np.nan], [0.9, 3.0, 5.0]])
    mean, half, count = estimate(values)
    assert count.tolist() == [3, 3, 1]
    assert mean[0] == pytest.approx(0.8) and mean[2] == 5.0
    low, high = stats.t.interval(0.95, 2, loc=2.0, scale=stats.sem([1.0, 2.0, 3.0]))
    assert half[1] == pytest.approx((high - low) / 2)
    assert np.isnan(half[2])  # one value: no interval


def test_agent_time_matches_a_brute_force_sum() -> None:
    data = base(intervals=6, warmup_minutes=20)
    data["agents"][0]["shifts"] = [
        {"start": "08:10", "end": "10:40", "breaks": [{"start": "09:05", "minutes": 15}]}
    ]
    plan, outcome = run_once(data)
    counts = tally(plan, outcome).agents
    lo, hi = plan.warmup_end_us, plan.end_us
    last: dict[str, tuple[int, str]] = {}
    spent = np.zeros((3, plan.intervals))

    def add(state: str, t0: int, t1: int) -> None:
        for k in range(plan.intervals):
            a = max(t0, lo, plan.start_us + k * plan.interval_us)
            b = min(t1, hi, plan.start_us + (k + 1) * plan.interval_us)
            if b > a and state != "offline":
                spent[0, k] += (b - a) / US
                if state in ("busy", "wrap_up"):
                    spent[1, k] += (b - a) / US
                elif state == "available":
                    spent[2, k] += (b - a) / US

    for t, agent_id, state in outcome.timeline:
        if agent_id in last:
            add(last[agent_id][1], last[agent_id][0], t)
        last[agent_id] = (t, state)
    for t, state in last.values():
        add(state, t, hi)
    assert counts[:, 0, :] == pytest.approx(spent)
    # Logged in from 08:20 (the warm-up's end) to 10:40, breaks included, plus the time an
    # agent busy at 10:40 needs to finish; none of it "available" during the break.
    assert 4 * 140 * 60 <= spent[0].sum() <= 4 * 155 * 60
    break_interval = 2  # 09:00-09:30
    assert spent[2, break_interval] <= 4 * 15 * 60


def test_unanswered_contacts_are_counted_when_nobody_serves() -> None:
    data = base(drain_minutes=10)
    data["agents"][0]["shifts"] = [{"start": "08:00", "end": "08:30"}]
    data["contacts"][0]["patience"] = {"kind": "none"}
    report = run_study(study_from_data(copy.deepcopy(data)), replications=1)
    total = report["runs"][0]["total"]
    assert total["unanswered"]["mean"] > 0
    assert total["answered"]["mean"] + total["unanswered"]["mean"] == total["offered"]["mean"]
