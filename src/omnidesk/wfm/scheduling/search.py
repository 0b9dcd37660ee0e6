"""Solving the schedule: a first plan, large neighbourhood search, then the whole model.

Why not hand the whole model to CP-SAT and wait: on one worker (which keeps runs repeatable)
its search finds poor schedules for a week of several agents within seconds, while small
models with only one to three agents free are solved to optimality in milliseconds. So:

1. A first plan per agent that keeps their own rules, ignoring coverage. This also proves each
   agent's hard rules can hold (they involve no other agent), or names the rule that breaks
   them.
2. Neighbourhood search: each agent in turn re-planned optimally around the others until a pass
   changes nothing, then random pairs and triples (seeded), each re-solved from the current
   plan as a hint; a result is kept when it is no worse.
3. The whole model, hinted with the best plan, for the rest of the budget: it improves the plan
   further or proves it optimal (small problems end here as OPTIMAL).

The budget is the time limit, counted both in wall seconds and in CP-SAT's deterministic time
units, so that the same input gives the same schedule unless the wall clock cuts it short.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from ortools.sat.python import cp_model

from omnidesk.wfm.scheduling.errors import (
    NoScheduleFound,
    SchedulingInfeasible,
    SchedulingInputError,
)
from omnidesk.wfm.scheduling.inputs import Problem, SolverOptions, validate
from omnidesk.wfm.scheduling.model import (
    AgentVars,
    Plan,
    Prepared,
    Relax,
    agent_rules,
    build,
    deviation,
    first_breaks,
    paid_by_week,
    prepare,
    split,
    units,
    working,
)
from omnidesk.wfm.scheduling.result import (
    AgentSchedule,
    Schedule,
    ScheduledBreak,
    ScheduledShift,
    SkillCoverage,
)

MAX_TIME_LIMIT = 3600.0
_LNS_SHARE = 0.7  # of the budget, before the whole model gets the rest
_STEP_SHARE = 0.05  # of the budget, at most, per neighbourhood step
_DIAGNOSIS_SECONDS = 5.0
# Relaxations tried, in order, to say which rule makes an agent's minimum hours impossible.
_RULES = (
    ("rest", "min_rest_hours"),
    ("consecutive", "max_consecutive_days"),
    ("shifts", "max_shifts_per_week"),
)


class _Budget:
    def __init__(self, options: SolverOptions) -> None:
        self.options = options
        self.total = options.time_limit_seconds
        self.deadline = time.monotonic() + self.total
        self.dtime = 0.0

    @property
    def used(self) -> float:
        wall = 1 - (self.deadline - time.monotonic()) / self.total
        return max(wall, self.dtime / self.total)

    def solver(self, share: float) -> cp_model.CpSolver:
        """A solver allowed `share` of the whole budget, or what is left of it."""
        solver = cp_model.CpSolver()
        left = max(0.0, self.total - self.dtime)
        solver.parameters.max_deterministic_time = max(min(share * self.total, left), 1e-3)
        solver.parameters.max_time_in_seconds = max(self.deadline - time.monotonic(), 1e-3)
        solver.parameters.num_workers = max(1, self.options.num_workers)
        solver.parameters.random_seed = self.options.random_seed
        _tune(solver)
        return solver

    def spend(self, solver: cp_model.CpSolver) -> None:
        self.dtime += solver.deterministic_time


def _tune(solver: cp_model.CpSolver) -> None:
    # Measured on week-long models: with presolve, one agent's model was still not proven
    # optimal after 10 s (its LP bound stayed far off); without it, optimal in 0.3 s. The
    # fuller linearisation gives the LP the coverage rows' structure.
    solver.parameters.cp_model_presolve = False
    solver.parameters.linearization_level = 2


def _read(prep: Prepared, a: int, vars_: AgentVars, solver: cp_model.CpSolver) -> Plan:
    shifts, breaks = [], []
    for k, x in enumerate(vars_.x):
        if solver.boolean_value(x):
            c = prep.cands[a][k]
            shifts.append(k)
            placed = vars_.breaks.get((c.day, c.template), [])
            breaks.append(
                tuple(next(m for m, z in rule if solver.boolean_value(z)) for rule in placed)
            )
    return Plan(tuple(shifts), tuple(breaks))


@dataclass
class _Coverage:
    # Agents counted for each skill in each solver slot, and what each slot needs.
    counts: dict[str, list[int]]
    need: dict[str, list[int]]
    unassigned_minutes: int

    def under(self, g: str) -> int:
        return sum(max(0, r - n) for r, n in zip(self.need[g], self.counts[g], strict=True))

    def over(self, g: str) -> int:
        return sum(max(0, n - r) for r, n in zip(self.need[g], self.counts[g], strict=True))


def _coverage(prep: Prepared, plans: Mapping[int, Plan]) -> _Coverage:
    on: list[list[tuple[tuple[str, ...], int]]] = [[] for _ in range(prep.slots)]
    unassigned = 0
    for a, plan in plans.items():
        mine = prep.skills_of[a]
        for i, count in enumerate(units(working(prep, a, plan))):
            if count and mine:
                on[i].append((mine, count))
            else:
                unassigned += count * prep.slot
    req = prep.problem.requirement
    need = {
        g: [values[s // prep.per_interval] for s in range(prep.slots)] for g, values in req.items()
    }
    counts = {g: [0] * prep.slots for g in req}
    for i in range(prep.slots):
        for by_skill in split(on[i], {g: need[g][i] for g in req}).values():
            for g, n in by_skill.items():
                counts[g][i] += n
    return _Coverage(counts, need, unassigned)


def _cost(prep: Prepared, plans: Mapping[int, Plan]) -> int:
    w, slot = prep.problem.weights, prep.slot
    cov = _coverage(prep, plans)
    under = sum(cov.under(g) for g in cov.counts)
    over = sum(cov.over(g) for g in cov.counts)
    off_target = sum(sum(deviation(prep, a, plan)) for a, plan in plans.items())
    return (
        w.under * under * slot
        + w.over * (over * slot + cov.unassigned_minutes)
        + w.hours_deviation * off_target
    )


# --- infeasibility ------------------------------------------------------------------------


def _precheck(prep: Prepared) -> None:
    """A cheap bound first: the best shift of each day, on the max_shifts_per_week best days."""
    p = prep.problem
    for a, agent in enumerate(p.agents):
        for block in range(prep.blocks):
            low = prep.minutes_bounds(agent, block)[0]
            if low <= 0:
                continue
            best: dict[int, int] = {}
            for c in prep.cands[a]:
                if prep.block_of(c.day) == block:
                    best[c.day] = max(best.get(c.day, 0), c.paid_minutes)
            top = sum(sorted(best.values(), reverse=True)[: agent.max_shifts_per_week])
            if top < low:
                week = p.horizon.start + timedelta(days=7 * block)
                raise SchedulingInfeasible(
                    f"agents.{a}.min_hours_per_week",
                    f"agent {agent.id!r} can work at most {top / 60:g} h in the week from "
                    f"{week.isoformat()} (their availability, unavailable dates, shift templates "
                    f"and max_shifts_per_week={agent.max_shifts_per_week} allow no more), below "
                    f"the minimum of {low / 60:g} h",
                    agent.id,
                )


def _feasible_alone(prep: Prepared, a: int, relax: Relax) -> bool | None:
    model = cp_model.CpModel()
    agent_rules(model, prep, a, relax)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = _DIAGNOSIS_SECONDS
    solver.parameters.num_workers = 1
    status = solver.solve(model)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return True
    return False if status == cp_model.INFEASIBLE else None


def _infeasible(prep: Prepared, a: int) -> SchedulingInfeasible:
    """Why agent a's own rules cannot all hold. With min_hours 0 working nothing is a plan, so
    the minimum is always involved; a rule whose relaxation helps is named with it."""
    agent = prep.problem.agents[a]
    field = f"agents.{a}.min_hours_per_week"
    for relax, rule in _RULES:
        if _feasible_alone(prep, a, frozenset({relax})):
            return SchedulingInfeasible(
                field,
                f"agent {agent.id!r}: min_hours_per_week={agent.min_hours_per_week:g} cannot be "
                f"met together with {rule}={getattr(agent, rule):g} within their availability",
                agent.id,
            )
    return SchedulingInfeasible(
        field,
        f"agent {agent.id!r}: min_hours_per_week={agent.min_hours_per_week:g} cannot be met "
        f"within their availability, shift templates and weekly rules",
        agent.id,
    )


# --- search -------------------------------------------------------------------------------


def _start(prep: Prepared, budget: _Budget) -> dict[int, Plan]:
    """A first plan per agent that keeps their own rules, nearest their target hours, with no
    regard to coverage yet and the earliest breaks. Proves each agent's rules can hold, or
    says which ones cannot."""
    plans: dict[int, Plan] = {}
    n = len(prep.problem.agents)
    for a in range(n):
        model = cp_model.CpModel()
        vars_ = agent_rules(model, prep, a)
        model.minimize(sum(vars_.dev))
        solver = budget.solver(0.1 / n)
        status = solver.solve(model)
        budget.spend(solver)
        if status == cp_model.INFEASIBLE:
            raise _infeasible(prep, a)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if _feasible_alone(prep, a, frozenset()) is False:
                raise _infeasible(prep, a)
            raise NoScheduleFound(
                "time_limit_seconds",
                f"no schedule found within {budget.total:g} s; allow more time or plan fewer "
                f"days or agents",
            )
        shifts = tuple(k for k, x in enumerate(vars_.x) if solver.boolean_value(x))
        breaks = []
        for k in shifts:
            c = prep.cands[a][k]
            offsets = first_breaks(prep.problem.templates[c.template], prep.slot)
            assert offsets is not None  # checked by prepare()
            breaks.append(tuple(c.start + o for o in offsets))
        plans[a] = Plan(shifts, tuple(breaks))
    return plans


def _improve(
    prep: Prepared, budget: _Budget, plans: dict[int, Plan], free: list[int], best: int
) -> tuple[dict[int, Plan], int]:
    """Re-solve the agents in `free` around the others, from their current plans."""
    built = build(prep, free, plans)
    solver = budget.solver(_STEP_SHARE)
    status = solver.solve(built.model)
    budget.spend(solver)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return plans, best
    trial = dict(plans)
    for a in free:
        trial[a] = _read(prep, a, built.agents[a], solver)
    cost = _cost(prep, trial)
    # Equal cost is accepted too: moving sideways lets later steps find a way down.
    return (trial, cost) if cost <= best else (plans, best)


def _neighbourhoods(prep: Prepared, budget: _Budget, plans: dict[int, Plan]) -> dict[int, Plan]:
    n = len(prep.problem.agents)
    best = _cost(prep, plans)
    # Each agent in turn placed best around the others, until a whole pass changes nothing:
    # these steps are cheap (milliseconds of solver time) and do most of the work.
    improved = True
    while improved:
        improved = False
        for a in range(n):
            if budget.used >= _LNS_SHARE:
                return plans
            plans, cost = _improve(prep, budget, plans, [a], best)
            improved = improved or cost < best
            best = cost
    # Then pairs, which can trade work between two agents, and triples, until they stop
    # helping (or the budget for this phase is spent).
    rng = random.Random(budget.options.random_seed)
    for size in (2, 3):
        stale, patience = 0, max(10, n)
        while size <= n and budget.used < _LNS_SHARE and stale < patience:
            plans, cost = _improve(prep, budget, plans, sorted(rng.sample(range(n), size)), best)
            stale = 0 if cost < best else stale + 1
            best = cost
    return plans


def solve(problem: Problem, options: SolverOptions | None = None) -> Schedule:
    """Schedule the agents; raises SchedulingInputError, SchedulingInfeasible or NoScheduleFound."""
    options = options or SolverOptions()
    validate(problem)
    if not 0 < options.time_limit_seconds <= MAX_TIME_LIMIT:
        raise SchedulingInputError(
            "time_limit_seconds", f"must be > 0 and <= {MAX_TIME_LIMIT:g} seconds"
        )
    if not 1 <= options.num_workers <= 64:
        raise SchedulingInputError("num_workers", "must be 1..64")
    started = time.perf_counter()
    prep = prepare(problem)
    _precheck(prep)
    budget = _Budget(options)
    plans = _start(prep, budget)
    if len(problem.agents) > 1:
        plans = _neighbourhoods(prep, budget, plans)

    n = len(problem.agents)
    built = build(prep, range(n), plans)
    solver = budget.solver(1.0)
    status = solver.solve(built.model)
    budget.spend(solver)
    status_name, bound = "FEASIBLE", None
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        bound = solver.best_objective_bound
        trial = {a: _read(prep, a, built.agents[a], solver) for a in range(n)}
        if _cost(prep, trial) <= _cost(prep, plans):
            plans = trial
            status_name = solver.status_name(status)
    return _extract(prep, plans, status_name, bound, time.perf_counter() - started)


def _extract(
    prep: Prepared, plans: Mapping[int, Plan], status: str, bound: float | None, wall: float
) -> Schedule:
    p = prep.problem
    h, slot = p.horizon, prep.slot
    origin = h.start_utc
    agents: list[AgentSchedule] = []
    for a, agent in enumerate(p.agents):
        plan = plans[a]
        shifts = []
        for k, rule_starts in zip(plan.shifts, plan.breaks, strict=True):
            c = prep.cands[a][k]
            template = p.templates[c.template]
            breaks = sorted(
                (
                    ScheduledBreak(
                        origin + timedelta(minutes=start),
                        origin + timedelta(minutes=start + rule.minutes),
                        rule.paid,
                    )
                    for start, rule in zip(rule_starts, template.breaks, strict=True)
                ),
                key=lambda b: b.start,
            )
            shifts.append(
                ScheduledShift(
                    template.name,
                    origin + timedelta(minutes=c.start),
                    origin + timedelta(minutes=c.end),
                    tuple(breaks),
                    c.paid_minutes,
                )
            )
        targets = tuple(prep.minutes_bounds(agent, b)[2] for b in range(prep.blocks))
        agents.append(
            AgentSchedule(
                agent.id,
                agent.timezone,
                tuple(shifts),
                tuple(paid_by_week(prep, a, plan)),
                targets,
            )
        )
    cov = _coverage(prep, plans)
    per = prep.per_interval
    coverage = [
        SkillCoverage(
            g,
            h.interval_minutes,
            tuple(required),
            tuple(sum(cov.counts[g][i * per : (i + 1) * per]) * slot for i in range(h.intervals)),
            cov.under(g) * slot,
            cov.over(g) * slot,
        )
        for g, required in p.requirement.items()
    ]
    return Schedule(
        status=status,
        objective=float(_cost(prep, plans)),
        best_bound=bound,
        wall_seconds=wall,
        horizon=h,
        slot_minutes=slot,
        agents=tuple(agents),
        coverage=tuple(coverage),
        unassigned_minutes=cov.unassigned_minutes,
    )
