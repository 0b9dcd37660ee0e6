"""Shift scheduling as a CP-SAT model (OR-Tools). Pure: no I/O. `search.solve` drives it.

The model, on the solver's time grid of `slot` minutes (the largest step every start time, length,
break and interval falls on):

* x[k] = 1 when candidate shift k is worked. Candidates are generated only inside the agent's
  availability (calendar.py), so availability is hard by construction.
* z[a, d, t, r, p] = 1 when break rule r of agent a's day-d shift of template t starts at minute
  p: exactly one per rule of the chosen shift, inside that shift's window for the rule.
* work[a, s] = (shifts covering s) - (breaks covering s), 0 or 1; work >= 0 keeps the breaks of
  one shift from overlapping.
* Coverage per skill group g and slot s: agents with one required skill count for it; the work
  of agents with several is pooled per skill set and split between its skills by integer flows
  f[set, g, s] (sum over g = pooled work), so an agent counts once per slot.
  under[g, s] >= req[g, s] - coverage[g, s], under >= 0.

Hard: availability, at most one shift per local day, rest between shifts (so no overlap), paid
hours within [min, max] and at most max_shifts_per_week shifts per week block, at most
max_consecutive_days worked in a row.

Objective, in minutes: weights.under * under + weights.over * over + weights.hours_deviation *
|paid minutes - target| per week block. Over-coverage needs no variables: per slot, the sum
over skills of (over - under) is the work of everyone minus what is required, so total over =
total work - total required + total under, and total work is linear in the shifts (length minus
their fixed break minutes).

`build` can leave some agents' plans fixed (their work is then constant coverage); the search
solves such small models over and over (large neighbourhood search).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from ortools.sat.python import cp_model

from omnidesk.wfm.scheduling.calendar import Candidate, candidates
from omnidesk.wfm.scheduling.errors import SchedulingInputError
from omnidesk.wfm.scheduling.inputs import (
    DAY,
    MIN_SLOT_MINUTES,
    AgentSpec,
    Problem,
    ShiftTemplate,
    zone,
)

Relax = frozenset[str]  # of "min_hours", "rest", "consecutive", "shifts" (diagnosis only)


@dataclass
class Prepared:
    problem: Problem
    slot: int
    zones: list[ZoneInfo]
    cands: list[list[Candidate]]
    week_days: list[int]  # days in each week block (7, the last may be fewer)
    # Required skills of each agent, in requirement order.
    skills_of: list[tuple[str, ...]]

    @property
    def blocks(self) -> int:
        return len(self.week_days)

    @property
    def slots(self) -> int:
        return self.problem.horizon.minutes // self.slot

    @property
    def per_interval(self) -> int:
        return self.problem.horizon.interval_minutes // self.slot

    def block_of(self, day: int) -> int:
        # Days before the first or after the last are edge days of agents far from UTC.
        return min(max(day // 7, 0), self.blocks - 1)

    def minutes_bounds(self, agent: AgentSpec, block: int) -> tuple[int, int, int]:
        """(min, max, target) paid minutes of a week block. A short block (a horizon that is not
        whole weeks) pro-rates min and target by its days / 7; the max stays a weekly cap, or a
        one-day plan could not hold one full shift of a 40-hour contract (40 h / 7 < 8 h)."""
        share = self.week_days[block] / 7
        low = math.ceil(agent.min_hours_per_week * 60 * share - 1e-6)
        high = math.floor(agent.max_hours_per_week * 60 + 1e-6)
        return low, high, round(agent.target * 60 * share)

    def floor_minutes(self, c: Candidate) -> int:
        """Minutes of a shift spent working (its length minus all its breaks)."""
        return c.end - c.start - sum(b.minutes for b in self.problem.templates[c.template].breaks)


def _gcd_all(values: Iterable[int]) -> int:
    result = 0
    for value in values:
        result = math.gcd(result, value)
    return result


def first_breaks(template: ShiftTemplate, slot: int) -> tuple[int, ...] | None:
    """The earliest non-overlapping placement of the template's breaks on the slot grid, as
    minutes after the shift start (one per rule), or None when there is none."""

    def place(i: int, taken: tuple[int, ...]) -> tuple[int, ...] | None:
        if i == len(template.breaks):
            return taken
        b = template.breaks[i]
        for p in range(b.after_minutes, b.before_minutes - b.minutes + 1, slot):
            clear = all(
                p + b.minutes <= q or p >= q + template.breaks[j].minutes
                for j, q in enumerate(taken)
            )
            found = place(i + 1, (*taken, p)) if clear else None
            if found is not None:
                return found
        return None

    return place(0, ())


def prepare(problem: Problem) -> Prepared:
    h = problem.horizon
    agent_zones = [zone(a.timezone, f"agents.{i}.timezone") for i, a in enumerate(problem.agents)]
    template_zones = {
        i: zone(t.timezone, f"shift_templates.{i}.timezone")
        for i, t in enumerate(problem.templates)
        if t.timezone is not None
    }
    cands = [
        candidates(i, a, agent_zones[i], problem.templates, template_zones, h)
        for i, a in enumerate(problem.agents)
    ]
    grid = [h.interval_minutes]
    for t in problem.templates:
        grid.append(t.length_minutes)
        for b in t.breaks:
            grid += [b.minutes, b.after_minutes, b.before_minutes]
    grid += [c.start for per_agent in cands for c in per_agent]
    slot = _gcd_all(grid)
    if slot < MIN_SLOT_MINUTES:
        raise SchedulingInputError(
            "shift_templates",
            f"start times (in UTC, after time zone offsets), lengths and breaks must fall on a "
            f"{MIN_SLOT_MINUTES}-minute grid; together they only share a {slot}-minute step",
        )
    for i, t in enumerate(problem.templates):
        if first_breaks(t, slot) is None:
            raise SchedulingInputError(
                f"shift_templates.{i}.breaks", "the breaks cannot be placed without overlapping"
            )
    week_days = [min(7, h.days - 7 * w) for w in range(math.ceil(h.days / 7))]
    skills_of = [tuple(g for g in problem.requirement if g in a.skills) for a in problem.agents]
    return Prepared(problem, slot, agent_zones, cands, week_days, skills_of)


@dataclass
class AgentVars:
    x: list[cp_model.IntVar]
    # (day, template) -> per break rule: [(start minute, var)]
    breaks: dict[tuple[int, int], list[list[tuple[int, cp_model.IntVar]]]] = field(
        default_factory=dict
    )
    dev: list[cp_model.IntVar] = field(default_factory=list)


def agent_rules(
    model: cp_model.CpModel, prep: Prepared, a: int, relax: Relax = frozenset()
) -> AgentVars:
    """One agent's shift variables and hard rules (agents are coupled only through coverage)."""
    agent = prep.problem.agents[a]
    cands = prep.cands[a]
    x = [model.new_bool_var(f"x{a}_{k}") for k in range(len(cands))]
    by_day: dict[int, list[int]] = defaultdict(list)
    for k, c in enumerate(cands):
        by_day[c.day].append(k)
    for ks in by_day.values():
        model.add_at_most_one([x[k] for k in ks])

    # A later day's shift starts >= min_rest after this one ends. At most one shift per day, so
    # "this shift + every clashing shift of day d2 <= 1" is exact and tighter than pairs.
    rest = 0 if "rest" in relax else round(agent.min_rest_hours * 60)
    longest = max((c.end - c.start for c in cands), default=0)
    reach = (longest + rest) // DAY + 2
    for k, c in enumerate(cands):
        for d2 in range(c.day + 1, c.day + reach + 1):
            clash = [x[k2] for k2 in by_day.get(d2, ()) if cands[k2].start < c.end + rest]
            if clash:
                model.add(x[k] + sum(clash) <= 1)

    days = sorted(by_day)
    if "consecutive" not in relax and days:
        run = agent.max_consecutive_days + 1
        for first in range(days[0], days[-1] - run + 2):
            window = [x[k] for d in range(first, first + run) for k in by_day.get(d, ())]
            if all(d in by_day for d in range(first, first + run)):
                model.add(sum(window) <= agent.max_consecutive_days)

    result = AgentVars(x)
    for block in range(prep.blocks):
        ks = [k for k, c in enumerate(cands) if prep.block_of(c.day) == block]
        low, high, target = prep.minutes_bounds(agent, block)
        paid = cp_model.LinearExpr.weighted_sum(
            [x[k] for k in ks], [cands[k].paid_minutes for k in ks]
        )
        model.add(paid <= high)
        if low > 0 and "min_hours" not in relax:
            model.add(paid >= low)
        if "shifts" not in relax:
            model.add(sum(x[k] for k in ks) <= agent.max_shifts_per_week)
        dev = model.new_int_var(0, max(target, high), f"dev{a}_{block}")
        model.add(dev >= paid - target)
        model.add(dev >= target - paid)
        result.dev.append(dev)
    return result


Terms = list[tuple[cp_model.IntVar, int]]


def _weighted(terms: Terms) -> cp_model.LinearExpr:
    return cp_model.LinearExpr.weighted_sum([v for v, _ in terms], [c for _, c in terms])


def work_terms(
    model: cp_model.CpModel, prep: Prepared, a: int, vars_: AgentVars
) -> dict[int, Terms]:
    """work[a, s] as terms per slot, creating the break variables of the agent's shifts."""
    p, slot = prep.problem, prep.slot
    terms: dict[int, Terms] = defaultdict(list)
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for k, c in enumerate(prep.cands[a]):
        for s in range(c.start // slot, c.end // slot):
            terms[s].append((vars_.x[k], 1))
        groups[(c.day, c.template)].append(k)
    for key, ks in groups.items():
        template = p.templates[key[1]]
        chosen = sum(vars_.x[k] for k in ks)
        rules: list[list[tuple[int, cp_model.IntVar]]] = []
        for r, b in enumerate(template.breaks):
            # Break starts each shift of this day and template allows; only the chosen shift's
            # are open, as there is at most one shift a day.
            allowed: dict[int, list[int]] = defaultdict(list)
            for k in ks:
                c = prep.cands[a][k]
                last = c.start + b.before_minutes - b.minutes
                for start in range(c.start + b.after_minutes, last + 1, slot):
                    allowed[start].append(k)
            placed = []
            for start in sorted(allowed):
                z = model.new_bool_var(f"z{a}_{key[0]}_{key[1]}_{r}_{start}")
                model.add(z <= sum(vars_.x[k] for k in allowed[start]))
                placed.append((start, z))
                for s in range(start // slot, (start + b.minutes) // slot):
                    terms[s].append((z, -1))
            model.add(sum(z for _, z in placed) == chosen)
            rules.append(placed)
        vars_.breaks[key] = rules
    for t in terms.values():
        if any(coef < 0 for _, coef in t):
            model.add(_weighted(t) >= 0)
    return terms


@dataclass(frozen=True, slots=True)
class Plan:
    """One agent's decisions: candidate shifts worked (by index) and each one's break starts."""

    shifts: tuple[int, ...] = ()
    breaks: tuple[tuple[int, ...], ...] = ()


def working(prep: Prepared, a: int, plan: Plan) -> list[bool]:
    """Per slot: on the floor (in a shift, not on a break)."""
    slot = prep.slot
    on = [False] * prep.slots
    for k, starts in zip(plan.shifts, plan.breaks, strict=True):
        c = prep.cands[a][k]
        for s in range(c.start // slot, c.end // slot):
            on[s] = True
        for start, rule in zip(starts, prep.problem.templates[c.template].breaks, strict=True):
            for s in range(start // slot, (start + rule.minutes) // slot):
                on[s] = False
    return on


def paid_by_week(prep: Prepared, a: int, plan: Plan) -> list[int]:
    paid = [0] * prep.blocks
    for k in plan.shifts:
        c = prep.cands[a][k]
        paid[prep.block_of(c.day)] += c.paid_minutes
    return paid


def deviation(prep: Prepared, a: int, plan: Plan) -> list[int]:
    agent = prep.problem.agents[a]
    return [
        abs(paid - prep.minutes_bounds(agent, block)[2])
        for block, paid in enumerate(paid_by_week(prep, a, plan))
    ]


def assign(kinds: Sequence[tuple[str, ...]], need: Mapping[str, int]) -> list[str]:
    """The skill each working agent (given by their required skills) counts for, leaving the
    fewest required places empty: a maximum b-matching by augmenting paths. Agents beyond the
    need count for their first skill (surplus)."""
    holders: dict[str, list[int]] = {g: [] for g in need}
    assigned: list[str | None] = [None] * len(kinds)

    def augment(i: int, seen: set[str]) -> bool:
        for g in kinds[i]:
            if g in seen:
                continue
            seen.add(g)
            if len(holders[g]) < need[g]:
                holders[g].append(i)
                assigned[i] = g
                return True
            for j in list(holders[g]):
                if augment(j, seen):
                    holders[g].remove(j)
                    holders[g].append(i)
                    assigned[i] = g
                    return True
        return False

    for i in range(len(kinds)):
        augment(i, set())
    return [g if g is not None else kinds[i][0] for i, g in enumerate(assigned)]


@dataclass
class Built:
    model: cp_model.CpModel
    agents: dict[int, AgentVars]


def units(on: Sequence[bool]) -> list[int]:
    """Agents on the floor (0 or 1) per coverage cell, i.e. per solver slot."""
    return [int(x) for x in on]


def split(
    kinds: Sequence[tuple[tuple[str, ...], int]], need: Mapping[str, int]
) -> dict[tuple[str, ...], dict[str, int]]:
    """Agents of one slot per skill set -> how many count for each skill (see `assign`)."""
    flat = [kind for kind, count in kinds for _ in range(count)]
    result: dict[tuple[str, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for kind, g in zip(flat, assign(flat, need), strict=True):
        result[kind][g] += 1
    return result


def build(prep: Prepared, free: Sequence[int], plans: Mapping[int, Plan]) -> Built:
    """A model deciding the agents in `free`, everyone else working as in `plans`; the free
    agents' plans, where given, are a complete hint. The objective equals the whole schedule's
    cost; slots no free agent can work in are constants, computed here.

    Coverage is counted per solver slot against the requirement of the interval holding it,
    so two agents breaking at once in a 60-minute interval leave a gap even when the interval's
    average looks full; an agent counts for one skill per slot."""
    p = prep.problem
    slot, w, per = prep.slot, p.weights, prep.per_interval
    model = cp_model.CpModel()
    free_set = set(free)
    per_agent = {a: agent_rules(model, prep, a) for a in free}
    terms = {a: work_terms(model, prep, a, per_agent[a]) for a in free}
    open_cells = sorted({i for a in free for i in terms[a]})
    fixed = [a for a in plans if a not in free_set]
    fixed_units = {a: units(working(prep, a, plans[a])) for a in fixed}
    skills = list(p.requirement)

    def need_at(i: int) -> dict[str, int]:
        return {g: p.requirement[g][i // per] for g in skills}

    required = sum(sum(values) for values in p.requirement.values()) * per
    constant = w.over * slot * (sum(sum(u) for u in fixed_units.values()) - required)
    constant += w.hours_deviation * sum(sum(deviation(prep, a, plans[a])) for a in fixed)
    # Under-coverage where no free agent can work is settled by the fixed agents alone.
    open_set = set(open_cells)
    for i in range(prep.slots):
        need = need_at(i)
        if i in open_set or not any(need.values()):
            continue
        kinds = [(prep.skills_of[a], fixed_units[a][i]) for a in fixed if prep.skills_of[a]]
        got = split(kinds, need)
        short = sum(max(0, n - sum(c.get(g, 0) for c in got.values())) for g, n in need.items())
        constant += (w.under + w.over) * slot * short

    hinted = all(a in plans for a in free)
    hint_units = {a: units(working(prep, a, plans[a])) for a in free} if hinted else {}
    under: list[cp_model.IntVar] = []
    for i in open_cells:
        need = need_at(i)
        cover: dict[str, list[cp_model.LinearExpr | int]] = {g: [] for g in skills}
        pooled: dict[tuple[str, ...], list[cp_model.LinearExpr | int]] = defaultdict(list)
        sizes: dict[tuple[str, ...], int] = defaultdict(int)
        hint_kinds: list[tuple[tuple[str, ...], int]] = []
        for a in free:
            mine = prep.skills_of[a]
            if i not in terms[a] or not mine:
                continue
            expr = _weighted(terms[a][i])
            if len(mine) == 1:
                cover[mine[0]].append(expr)
            else:
                pooled[mine].append(expr)
                sizes[mine] += 1
            if hinted:
                hint_kinds.append((mine, hint_units[a][i]))
        for a in fixed:
            mine = prep.skills_of[a]
            count = fixed_units[a][i]
            if count and mine:
                if len(mine) == 1:
                    cover[mine[0]].append(count)
                else:
                    pooled[mine].append(count)
                    sizes[mine] += count
                hint_kinds.append((mine, count))
        got = split(hint_kinds, need) if hinted else {}
        for kind, exprs in pooled.items():
            flows = {g: model.new_int_var(0, sizes[kind], f"f_{g}_{i}") for g in kind}
            model.add(sum(flows.values()) == sum(exprs))
            for g, f in flows.items():
                cover[g].append(f)
                if hinted:
                    model.add_hint(f, got.get(kind, {}).get(g, 0))
        for g, n in need.items():
            if n == 0:
                continue
            u = model.new_int_var(0, n, f"u_{g}_{i}")
            model.add(u + sum(cover[g]) >= n)
            under.append(u)
            if hinted:
                model.add_hint(u, max(0, n - sum(c.get(g, 0) for c in got.values())))

    for a in free:
        if a in plans:
            _hint(model, prep, a, per_agent[a], plans[a])
    floor_x = [x for a in free for x in per_agent[a].x]
    floor_m = [prep.floor_minutes(c) for a in free for c in prep.cands[a]]
    model.minimize(
        (w.under + w.over) * slot * sum(under)
        + w.over * cp_model.LinearExpr.weighted_sum(floor_x, floor_m)
        + w.hours_deviation * sum(d for a in free for d in per_agent[a].dev)
        + constant
    )
    return Built(model, per_agent)


def _hint(model: cp_model.CpModel, prep: Prepared, a: int, vars_: AgentVars, plan: Plan) -> None:
    starts = {}
    for k, rule_starts in zip(plan.shifts, plan.breaks, strict=True):
        c = prep.cands[a][k]
        starts[(c.day, c.template)] = rule_starts
    chosen = set(plan.shifts)
    for k, x in enumerate(vars_.x):
        model.add_hint(x, k in chosen)
    for key, rules in vars_.breaks.items():
        for r, placed in enumerate(rules):
            for m, z in placed:
                model.add_hint(z, key in starts and starts[key][r] == m)
    for dev, value in zip(vars_.dev, deviation(prep, a, plan), strict=True):
        model.add_hint(dev, value)
