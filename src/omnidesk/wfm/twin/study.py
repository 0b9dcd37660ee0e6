"""A study: the baseline and its what-if variants, run on the same customers.

`load_study(path)` reads and checks the scenario and every variant (a variant is the baseline
with its queues, agent groups and engine settings merged in, checked like a scenario of its
own, its errors pointing into `variants[i]`). `run_study` runs each replication's customers
through the baseline and every variant and reports the figures and the paired differences.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omnidesk.core.routing import EngineSettings
from omnidesk.wfm.twin.arrivals import generate
from omnidesk.wfm.twin.build import US, Plan, plan
from omnidesk.wfm.twin.errors import Issue, ScenarioError, fail
from omnidesk.wfm.twin.scenario import (
    Scenario,
    VariantSpec,
    load_scenario_data,
    validate_scenario,
)
from omnidesk.wfm.twin.simulator import simulate
from omnidesk.wfm.twin.stats import Tally, compare, summarize, tally

BASELINE = "baseline"
Progress = Callable[[int, int, str], None]  # (runs done, runs in all, what just ran)


@dataclass(frozen=True)
class Study:
    scenario: Scenario
    baseline: Plan
    variants: tuple[Plan, ...]

    def variant(self, name: str) -> Plan:
        for candidate in self.variants:
            if candidate.name == name:
                return candidate
        known = ", ".join(v.name for v in self.variants) or "none"
        raise fail("--variant", f"no variant named {name!r} (known: {known})")


# --- variants ------------------------------------------------------------------------------

_ITEM = re.compile(r"^(queues|agents)\[(\d+)\](.*)$")


class _Origins:
    """Where each item of a merged list came from, to point errors at the file's own lines."""

    def __init__(self, index: int, name: str) -> None:
        self.index, self.name = index, name
        self.items: dict[tuple[str, int], tuple[int | None, int | None, set[str]]] = {}
        self.engine_keys: set[str] = set()

    def path(self, issue: Issue) -> Issue:
        where, message = issue
        in_variant = f"variants[{self.index}]"
        match = _ITEM.match(where)
        if match:
            kind, merged, rest = match.group(1), int(match.group(2)), match.group(3)
            base_i, var_j, keys = self.items.get((kind, merged), (merged, None, set()))
            field = re.match(r"^\.([A-Za-z_]+)", rest)
            if var_j is not None and (base_i is None or (field and field.group(1) in keys)):
                return f"{in_variant}.{kind}[{var_j}]{rest}", message
            return f"{kind}[{base_i}]{rest}", f"{message} (in variant {self.name!r})"
        if where.startswith("engine.") and where[len("engine.") :] in self.engine_keys:
            return f"{in_variant}.{where}", message
        return where, f"{message} (in variant {self.name!r})"


def _merge_items(
    base: list[Any], changes: list[dict[str, Any]], kind: str, origins: _Origins
) -> list[Any]:
    merged: list[Any] = []
    sources: list[tuple[int | None, int | None, set[str]]] = []
    for i, item in enumerate(base):
        merged.append(copy.deepcopy(item))
        sources.append((i, None, set()))
    for j, change in enumerate(changes):
        ids = [m.get("id") if isinstance(m, dict) else None for m in merged]
        remove = kind == "agents" and change.get("remove") is True
        if kind == "agents" and change.get("remove") is False:
            change = {k: v for k, v in change.items() if k != "remove"}
        keys = {k for k in change if k != "id"}
        if remove:
            if change["id"] not in ids:
                raise fail(f"variants[{origins.index}].agents[{j}].id", "no such agent group")
            at = ids.index(change["id"])
            del merged[at]
            del sources[at]
            continue
        if change["id"] in ids:
            at = ids.index(change["id"])
            merged[at] = {**merged[at], **copy.deepcopy(change)}
            sources[at] = (sources[at][0], j, keys)
        else:
            merged.append(copy.deepcopy(change))
            sources.append((None, j, keys))
    for at, source in enumerate(sources):
        origins.items[(kind, at)] = source
    return merged


def merge_variant(
    data: dict[str, Any], index: int, variant: VariantSpec
) -> tuple[dict[str, Any], _Origins]:
    origins = _Origins(index, variant.name)
    merged = {k: copy.deepcopy(v) for k, v in data.items() if k != "variants"}
    merged["queues"] = _merge_items(
        list(data.get("queues") or []), variant.queues, "queues", origins
    )
    merged["agents"] = _merge_items(
        list(data.get("agents") or []), variant.agents, "agents", origins
    )
    if variant.engine is not None:
        origins.engine_keys = set(variant.engine)
        merged["engine"] = {**(data.get("engine") or {}), **variant.engine}
    return merged, origins


def study_from_data(data: dict[str, Any], base_dir: Path | None = None) -> Study:
    scenario = validate_scenario(data)
    baseline = plan(scenario, base_dir, name=BASELINE)
    names = [v.name for v in scenario.variants]
    issues: list[Issue] = []
    for i, name in enumerate(names):
        if name == BASELINE or names.index(name) != i:
            issues.append((f"variants[{i}].name", f"{name!r} is taken"))
    if issues:
        raise ScenarioError(issues)
    variants = []
    for i, variant in enumerate(scenario.variants):
        merged, origins = merge_variant(data, i, variant)
        try:
            merged_plan = plan(validate_scenario(merged), base_dir, name=variant.name)
        except ScenarioError as exc:
            raise ScenarioError([origins.path(issue) for issue in exc.issues]) from None
        if [(s.queue_id, s.channel) for s in merged_plan.streams] != [
            (s.queue_id, s.channel) for s in baseline.streams
        ]:
            raise fail(f"variants[{i}]", "a variant must keep the baseline's contact streams")
        variants.append(merged_plan)
    return Study(scenario, baseline, tuple(variants))


def load_study(path: Path) -> Study:
    return study_from_data(load_scenario_data(path), path.parent)


# --- running ---------------------------------------------------------------------------------


def settings_report(run_plan: Plan) -> dict[str, Any]:
    """The engine settings a run used, and which of them differ from the server's defaults
    (the scenario's or the variant's `engine:` changed them)."""
    used = run_plan.engine_settings.to_dict()
    server = EngineSettings().to_dict()
    return {
        "engine_settings": used,
        "engine_settings_changed": [name for name in used if used[name] != server[name]],
        "missed_away_seconds": run_plan.missed_away_us / US,
    }


def run_study(
    study: Study,
    *,
    replications: int | None = None,
    seed: int | None = None,
    variants: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    scenario = study.scenario
    count = scenario.replications if replications is None else replications
    if count < 1:
        raise fail("--replications", "at least 1")
    base_seed = scenario.seed if seed is None else seed
    if base_seed < 0:
        raise fail("--seed", "must be >= 0")
    chosen = list(study.variants) if variants is None else [study.variant(v) for v in variants]
    plans = [study.baseline, *chosen]
    tallies: dict[str, list[Tally]] = {p.name: [] for p in plans}
    total_runs, done = count * len(plans), 0
    contacts = commands = events = 0
    started = time.perf_counter()
    for replication in range(count):
        customers = generate(study.baseline, base_seed, replication)
        for run_plan in plans:
            outcome = simulate(run_plan, customers)
            tallies[run_plan.name].append(tally(run_plan, outcome))
            contacts += len(customers)
            commands += outcome.commands
            events += outcome.events
            done += 1
            if progress is not None:
                progress(done, total_runs, f"{run_plan.name} #{replication + 1}")
    wall = time.perf_counter() - started
    descriptions = {v.name: v.description for v in scenario.variants}
    return {
        "scenario": scenario.name,
        "description": scenario.description,
        "start": scenario.start.isoformat(),
        "interval_minutes": scenario.interval_minutes,
        "intervals": study.baseline.intervals,
        "warmup_minutes": scenario.warmup_minutes,
        "seed": base_seed,
        "replications": count,
        "confidence": 0.95,
        "runs": [
            {
                "variant": p.name,
                "description": descriptions.get(p.name, scenario.description),
                "agents": sum(len(g.agents) for g in p.groups),
                **settings_report(p),
                **summarize(p, tallies[p.name]),
            }
            for p in plans
        ],
        "differences": [
            {
                "variant": p.name,
                "against": BASELINE,
                **compare(p, study.baseline, tallies[BASELINE], tallies[p.name]),
            }
            for p in chosen
        ],
        "performance": {
            "contacts_simulated": contacts,
            "engine_commands": commands,
            "engine_events": events,
            "wall_seconds": round(wall, 3),
        },
    }
