"""Scenario files: parsing, every error naming its field, distributions, forecasts, variants."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from omnidesk.wfm.twin import ScenarioError, load_study, study_from_data
from omnidesk.wfm.twin.arrivals import generate
from omnidesk.wfm.twin.distributions import (
    Empirical,
    Exponential,
    Fixed,
    Gamma,
    Lognormal,
    NoPatience,
    Uniform,
    mean,
    sample,
)
from omnidesk.wfm.twin.scenario import read_yaml

BASE: dict[str, Any] = {
    "start": "2025-01-06T08:00:00+01:00",
    "timezone": "Europe/Berlin",
    "interval_minutes": 30,
    "intervals": 4,
    "queues": [
        {
            "id": "de",
            "channels": ["voice"],
            "steps": [{"target": "skills.lang.de >= 3", "timeout_seconds": 30}, {}],
        },
        {"id": "en", "channels": ["voice", "chat"]},
    ],
    "agents": [
        {"id": "anna", "skills": {"lang.de": 4}, "capacity": {"voice": 1}, "queues": ["de"]},
        {"id": "team", "count": 3, "capacity": {"voice": 1, "chat": 2}, "queues": {"en": 1}},
    ],
    "defaults": {"handle": {"kind": "exponential", "mean": 200}},
    "contacts": [
        {"queue": "de", "channel": "voice", "rates": [10, 20, 30, 40]},
        {"queue": "en", "channel": "chat", "rates": 5},
    ],
}


def scenario(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data.update(changes)
    return data


def issues(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        study_from_data(data)
    return caught.value.lines()


def test_a_valid_scenario_plans_queues_agents_and_streams() -> None:
    study = study_from_data(scenario())
    plan = study.baseline
    assert [q.id for q in plan.queues] == ["de", "en"]
    assert [a.id for g in plan.groups for a in g.agents] == ["anna", "team-1", "team-2", "team-3"]
    assert plan.groups[1].agents[0].queues == {"en": 1}
    assert plan.groups[0].agents[0].timezone == "Europe/Berlin"  # the scenario's zone
    assert [(s.queue_id, s.channel) for s in plan.streams] == [("de", "voice"), ("en", "chat")]
    assert plan.streams[0].volumes.tolist() == [10, 20, 30, 40]
    assert plan.streams[1].volumes.tolist() == [5, 5, 5, 5]
    assert plan.intervals == 4 and plan.end_us - plan.start_us == 2 * 3600 * 10**6


def test_rule_syntax_errors_name_the_step_with_line_and_column() -> None:
    data = scenario()
    data["queues"][0]["steps"][0]["target"] = 'contact.language == "de"\nAND (skills.x >= )'
    (line,) = issues(data)
    assert line.startswith("queues[0].steps[0].target: expected a value")
    assert "(line 2, column 18)" in line


def test_all_field_errors_are_reported_with_their_paths() -> None:
    data = scenario()
    data["queues"][1]["colour"] = "red"
    data["agents"][1]["count"] = 0
    data["contacts"][0]["handle"] = {"kind": "lognormal", "mean": 100, "sd": -1}
    data["contacts"][1]["patience"] = {"kind": "sometimes"}
    lines = issues(data)
    assert "queues[1].colour: unknown field" in lines
    assert any(
        x.startswith("agents[1].count: Input should be greater than or equal to 1") for x in lines
    )
    # The distribution's kind is not a level of the file, so it is not in the path.
    assert any(x.startswith("contacts[0].handle.sd: Input should be greater than 0") for x in lines)
    assert any(x.startswith("contacts[1].patience: Input tag 'sometimes'") for x in lines)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"start": "2025-01-06T08:00:00"}, "start: needs a UTC offset"),
        ({"timezone": "Europe/Berln"}, "timezone: unknown time zone 'Europe/Berln'"),
        ({"intervals": None}, "give intervals (a count) or duration_hours, exactly one"),
        ({"warmup_minutes": 120}, "warmup_minutes: the warm-up must end before the last interval"),
        (
            {"intervals": None, "duration_hours": 1.25},
            "duration_hours: must be a whole number of intervals",
        ),
    ],
)
def test_top_level_errors(change: dict[str, Any], expected: str) -> None:
    assert any(line.startswith(expected) or expected in line for line in issues(scenario(**change)))


def test_engine_checks_point_into_the_scenario() -> None:
    data = scenario()
    data["queues"][0]["max_wait_seconds"] = 60
    data["queues"][0]["on_max_wait"] = {"kind": "queue", "queue_id": "nope"}
    assert issues(data) == ["queues[0].on_max_wait.queue_id: unknown queue 'nope'"]

    data = scenario()
    data["queues"][1]["hours"] = {"timezone": "UTC", "weekly": {"monday": [["08:00", "17:00"]]}}
    data["queues"][1]["on_closed"] = {"kind": "voicemail"}
    (line,) = issues(data)
    assert line.startswith("queues[1].hours.weekly.monday: weekday must be one of")

    # A country's holidays are the engine's too (the admin console's queues may have them).
    data = scenario()
    data["queues"][1]["hours"] = {"timezone": "Europe/Berlin", "holiday_country": "DE"}
    data["queues"][1]["on_closed"] = {"kind": "voicemail"}
    assert study_from_data(data).baseline is not None
    data["queues"][1]["hours"]["holiday_country"] = "XX"
    (line,) = issues(data)
    assert line.startswith("queues[1].hours.holiday_country:")

    data = scenario()
    data["agents"][0]["queues"] = ["de", "sales"]
    assert issues(data) == ["agents[0].queues.sales: unknown queue 'sales'"]

    data = scenario()
    data["agents"][0]["skills"] = {"lang.de": 9}
    assert issues(data) == ["agents[0].skills.lang.de: level 1-5"]


def test_engine_settings_are_checked_by_the_engine_and_point_into_the_scenario() -> None:
    assert issues(scenario(engine={"max_overflow_hops": 500})) == [
        "engine.max_overflow_hops: an integer 0-100"
    ]
    assert issues(scenario(engine={"tick_seconds": 0})) == ["engine.tick_seconds: out of range"]
    # How long a simulated agent stays away is the twin's, not the engine's: top level.
    assert issues(scenario(engine={"missed_away_seconds": 20})) == [
        "engine.missed_away_seconds: unknown field"
    ]
    variant = {"name": "v", "engine": {"handle_time_smoothing": 2}}
    assert issues(scenario(variants=[variant])) == [
        "variants[0].engine.handle_time_smoothing: a fraction in (0, 1]"
    ]


def test_queues_may_overflow_into_each_other_in_a_cycle() -> None:
    data = scenario()
    for here, there in ((0, "en"), (1, "de")):
        data["queues"][here]["max_wait_seconds"] = 120
        data["queues"][here]["on_max_wait"] = {"kind": "queue", "queue_id": there}
    study = study_from_data(data)
    assert study.baseline.queues[1].on_max_wait is not None
    assert study.baseline.queues[1].on_max_wait.queue_id == "de"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"queue": "sales"}, "contacts[0].queue: unknown queue 'sales'"),
        ({"channel": "chat"}, "contacts[0].channel: queue 'de' does not serve it"),
        ({"rates": [1, 2]}, "contacts[0].rates: 2 values for 4 intervals"),
        ({"rates": [1, -2, 3, 4]}, "contacts[0].rates: contacts per interval must be numbers >= 0"),
        ({"rates": None}, "contacts[0]: give rates or hourly"),
        ({"hourly": {"8:00": 10}, "rates": None}, "contacts[0].hourly: expected a time of day"),
        ({"hourly": {"08:00": 10}}, "contacts[0]: give rates or hourly, not both"),
    ],
)
def test_stream_errors(change: dict[str, Any], expected: str) -> None:
    data = scenario()
    data["contacts"][0].update(change)
    assert any(line.startswith(expected) for line in issues(data)), issues(data)


def test_a_stream_needs_a_handle_time() -> None:
    data = scenario(defaults={})
    assert issues(data) == ["contacts[0].handle: de/voice: no handle time distribution"]


def test_hourly_volumes_follow_local_time() -> None:
    data = scenario()
    data["contacts"][0] = {
        "queue": "de",
        "channel": "voice",
        # contacts per hour from 08:00 Berlin, 120 from 08:45 on, nothing before 08:00
        "hourly": {"00:00": 0, "08:00": 60, "08:45": 120},
    }
    volumes = study_from_data(data).baseline.streams[0].volumes.tolist()
    # 08:00-08:30: 30 min at 60/h; 08:30-09:00: 15 min at 60/h + 15 min at 120/h; then 120/h.
    assert volumes == pytest.approx([30, 45, 60, 60])


def test_yaml_keeps_times_and_language_codes_as_text(tmp_path: Path) -> None:
    data = read_yaml("a: 12:30\nb: no\nc: true\nd: 1e3\ne: 2025-01-06T08:00:00+01:00\n")
    assert data["a"] == "12:30" and data["b"] == "no" and data["c"] is True
    assert data["d"] == 1000.0 and data["e"].utcoffset().total_seconds() == 3600


def test_yaml_errors_have_a_position(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("start: 2025-01-06T08:00:00+00:00\nqueues: [\n  {id: q\n")
    with pytest.raises(ScenarioError) as caught:
        load_study(path)
    (line,) = caught.value.lines()
    assert line.startswith(f"{path}: line ") and "not valid YAML" in line
    with pytest.raises(ScenarioError, match="cannot read the scenario"):
        load_study(tmp_path / "missing.yaml")


def test_shifts_breaks_and_their_errors() -> None:
    data = scenario()
    data["agents"][1]["shifts"] = [
        {
            "start": "08:30",
            "end": "09:30",
            "breaks": [{"start": "09:00", "minutes": 10, "spread_minutes": 30}],
        }
    ]
    group = study_from_data(data).baseline.groups[1]
    assert group.periods is not None and len(group.periods) == 1
    p0, p1 = group.periods[0]
    assert p1 - p0 == 3600 * 10**6
    starts = [b[0][0] - p0 for b in group.breaks]
    # Three agents start their 10-minute breaks at 09:00, 09:10, 09:20.
    assert starts == [1800 * 10**6, 2400 * 10**6, 3000 * 10**6]

    data["agents"][1]["shifts"][0]["breaks"][0]["start"] = "12:00"
    assert issues(data) == ["agents[1].shifts[0].breaks[0].start: 12:00 is not within the shift"]
    data["agents"][1]["shifts"] = [{"start": "08:00", "end": "2025-01-06T09:00:00+01:00"}]
    assert issues(data)[0].startswith("agents[1].shifts[0]: start and end are both HH:MM")


def test_variants_merge_by_id_and_their_errors_point_into_the_variant() -> None:
    data = scenario(
        variants=[
            {
                "name": "more",
                "agents": [{"id": "team", "count": 5}, {"id": "anna", "remove": True}],
                "queues": [{"id": "de", "priority": 3}],
            }
        ]
    )
    study = study_from_data(data)
    (variant,) = study.variants
    assert [g.id for g in variant.groups] == ["team"] and len(variant.groups[0].agents) == 5
    assert variant.queues[0].priority == 3 and variant.queues[0].steps[0].target
    assert study.baseline.queues[0].priority == 0

    bad = copy.deepcopy(data)
    bad["variants"][0]["queues"][0]["steps"] = [{"target": "skills.lang.de >>= 3"}]
    (line,) = issues(bad)
    assert line.startswith("variants[0].queues[0].steps[0].target: ")
    assert "(line 1, column" in line

    bad = copy.deepcopy(data)
    bad["variants"].append({"name": "baseline"})
    assert issues(bad) == ["variants[1].name: 'baseline' is taken"]


def test_forecast_csv_gives_volumes_and_aht(tmp_path: Path) -> None:
    (tmp_path / "f.csv").write_text(
        "interval_start,queue_id,channel,volume,aht\n"
        "2025-01-06T07:30:00+00:00,de,voice,12,240\n"  # 08:30 Berlin: interval 1
        "2025-01-06T09:00:00,de,voice,7.5,\n"  # no offset: Berlin time, the scenario's
        "2025-01-06T08:00:00+00:00,en,voice,3,100\n"
        "2025-01-07T08:00:00+00:00,de,voice,99,100\n"  # outside the scenario: skipped
    )
    data = scenario(
        forecast={"path": "f.csv"}, contacts=[{"queue": "en", "channel": "chat", "rates": 1}]
    )
    (tmp_path / "s.yaml").write_text("")
    from omnidesk.wfm.twin.study import study_from_data as from_data

    plan = from_data(data, tmp_path).baseline
    streams = {(s.queue_id, s.channel): s for s in plan.streams}
    de = streams[("de", "voice")]
    assert de.volumes.tolist() == [0, 12, 7.5, 0]
    assert de.aht is not None and de.aht[1] == 240 and math.isnan(de.aht[2])
    assert streams[("en", "voice")].volumes.tolist() == [0, 0, 3, 0]

    # The forecast AHT sets the mean of that interval's handle times (shape kept).
    handle = {(s.queue_id, s.channel): [] for s in plan.streams}
    for rep in range(40):
        customers = generate(plan, 5, rep)
        for i, stream in enumerate(customers.stream):
            key = (plan.streams[stream].queue_id, plan.streams[stream].channel)
            interval = (customers.arrive_us[i] - plan.start_us) // plan.interval_us
            if key == ("de", "voice") and interval == 1:
                handle[key].append(customers.handle_us[i] / 1e6)
    assert np.mean(handle[("de", "voice")]) == pytest.approx(240, rel=0.1)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("2025-01-06T08:10:00+00:00,de,voice,1", "line 2: interval_start is not on an interval"),
        ("2025-01-06T08:00:00+00:00,sales,voice,1", "line 2: unknown queue 'sales'"),
        ("2025-01-06T08:00:00+00:00,de,chat,1", "line 2: queue 'de' does not serve 'chat'"),
        ("2025-01-06T08:00:00+00:00,de,voice,lots", "line 2: volume is not a number"),
    ],
)
def test_forecast_errors_name_the_line(tmp_path: Path, row: str, expected: str) -> None:
    (tmp_path / "f.csv").write_text(f"interval_start,queue_id,channel,volume\n{row}\n")
    data = scenario(forecast={"path": str(tmp_path / "f.csv")}, contacts=[])
    (line,) = issues(data)
    assert line.startswith("forecast.path: f.csv ") and expected in line


def test_forecast_and_rates_for_one_stream_conflict(tmp_path: Path) -> None:
    (tmp_path / "f.csv").write_text(
        "interval_start,queue_id,channel,volume\n2025-01-06T08:00:00+00:00,de,voice,1\n"
    )
    data = scenario(forecast={"path": str(tmp_path / "f.csv")})
    assert issues(data) == ["contacts[0]: de/voice has rates and forecast rows; keep one of them"]


# --- distributions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dist",
    [
        Exponential(kind="exponential", mean=180),
        Lognormal(kind="lognormal", mean=300, sd=200),
        Gamma(kind="gamma", mean=420, sd=150),
        Fixed(kind="fixed", value=12.5),
        Uniform(kind="uniform", low=1, high=6),
        Empirical(kind="empirical", values=[30, 60, 90, 300]),
    ],
)
def test_samples_have_the_stated_mean(dist: Any) -> None:
    draws = sample(dist, np.random.default_rng(1), 200_000)
    assert draws.min() >= 0
    assert draws.mean() == pytest.approx(mean(dist), rel=0.01)


@pytest.mark.parametrize(
    "dist", [Lognormal(kind="lognormal", mean=300, sd=200), Gamma(kind="gamma", mean=420, sd=150)]
)
def test_lognormal_and_gamma_have_the_stated_sd(dist: Any) -> None:
    draws = sample(dist, np.random.default_rng(2), 400_000)
    assert draws.std() == pytest.approx(dist.sd, rel=0.02)


def test_no_patience_never_abandons() -> None:
    none = NoPatience(kind="none")
    assert mean(none) == math.inf
    assert np.isinf(sample(none, np.random.default_rng(0), 3)).all()
