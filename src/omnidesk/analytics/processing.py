"""One batch of the event log to rollup increments (pure: the ingester loads and stores).

The state a batch needs besides its events is small and kept by the ingester in the same
transaction as the rollups and the cursor:
- `pending`: the events so far of each contact that may still change a figure (from its
  `contact_received` on), so the contact's fold can be run again when more of them come;
- `agents`: each agent's open state (since when);
- `thresholds`: each queue's service-level threshold over the log (from queue definitions);
- `teams`: each agent's teams over the log (from the directory's membership events), so a
  visit counts for the teams its answering agent belonged to when they accepted it.

`process` then adds exactly the contributions whose seq lies in the batch. Each contribution
depends only on the events up to it, so any cutting of the log into batches, and applying a
batch again (nothing: its seqs are at or below the cursor), gives the same rollups.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from omnidesk.analytics.agent_states import STATE_CHANGED, OpenState, floor_grain, state_change
from omnidesk.analytics.facts import (
    CALL_STATE,
    CONTACT_TYPES,
    RECEIVED,
    LogEvent,
    Sums,
    at_us,
    fold_contact,
    seconds_to_us,
)

QUEUE_TYPES: Final = ("routing.queue_added", "routing.queue_updated")
MEMBER_SET: Final = "team.member_set"
MEMBER_REMOVED: Final = "team.member_removed"
TEAM_DELETED: Final = "team.deleted"
TEAM_TYPES: Final = (MEMBER_SET, MEMBER_REMOVED, TEAM_DELETED)
# The engine's default service-level threshold (QueueDef), for a queue defined before the log.
DEFAULT_SL_US: Final = 20_000_000
# A contact with nothing open is forgotten once the log is this far past it. Only the wrap-up
# that the engine starts in the very step that ended the contact can still come after "nothing
# open"; it has the same instant, so an hour is ample.
GRACE_US: Final = 3600 * 1_000_000


@dataclass(frozen=True, slots=True)
class QueueRowKey:
    interval_us: int
    queue_id: str
    channel: str
    agent_id: str  # "" when nobody answered


@dataclass(frozen=True, slots=True)
class TeamRowKey:
    interval_us: int
    team_id: str


@dataclass(frozen=True, slots=True)
class DispositionRowKey:
    interval_us: int
    queue_id: str
    channel: str
    disposition: str  # "" when none was given


@dataclass(frozen=True, slots=True)
class AgentRowKey:
    interval_us: int
    agent_id: str
    state: str
    reason: str


@dataclass
class PendingContact:
    events: list[LogEvent]
    quiet_us: int | None = None  # since when nothing is open (None: something is)


@dataclass
class State:
    pending: dict[str, PendingContact] = field(default_factory=dict)
    agents: dict[str, OpenState] = field(default_factory=dict)
    thresholds: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    # agent id -> [(seq, the agent's teams from that seq on)], ascending seq
    teams: dict[str, list[tuple[int, tuple[str, ...]]]] = field(default_factory=dict)

    def teams_of(self, agent_id: str, seq: int) -> tuple[str, ...]:
        history = self.teams.get(agent_id)
        if not history:
            return ()
        index = bisect_right(history, seq, key=lambda entry: entry[0]) - 1
        return history[index][1] if index >= 0 else ()

    def threshold(self, queue_id: str, seq: int) -> int:
        history = self.thresholds.get(queue_id)
        if not history:
            return DEFAULT_SL_US
        index = bisect_right(history, (seq, 2**63)) - 1
        return history[index][1] if index >= 0 else DEFAULT_SL_US


@dataclass
class BatchResult:
    queue_rows: dict[QueueRowKey, Sums] = field(default_factory=dict)
    agent_rows: dict[AgentRowKey, int] = field(default_factory=dict)
    team_rows: dict[TeamRowKey, Sums] = field(default_factory=dict)
    disposition_rows: dict[DispositionRowKey, Sums] = field(default_factory=dict)
    contacts: set[str] = field(default_factory=set)  # pending entries changed
    agents: set[str] = field(default_factory=set)  # open states changed
    thresholds: list[tuple[str, int, int]] = field(default_factory=list)  # queue, seq, us
    teams: list[tuple[str, int, tuple[str, ...]]] = field(default_factory=list)  # agent, seq, teams
    cutoff_us: int | None = None  # forget quiet contacts before this


def contact_of(event: LogEvent) -> str | None:
    if event.type not in CONTACT_TYPES:
        return None
    if event.type == CALL_STATE and event.payload.get("state") not in ("held", "resumed"):
        return None
    contact_id = event.payload.get("contact_id")
    return str(contact_id) if contact_id else None


def process(records: Sequence[LogEvent], state: State, short_abandon_us: int) -> BatchResult:
    """Apply `records` (ascending seq, all after the cursor) to `state` and return what they
    add. `state.pending` must hold every pending contact the records name."""
    result = BatchResult()
    if not records:
        return result
    first = records[0].seq
    last_us: int | None = None
    for event in records:
        last_us = at_us(event.payload) or last_us
        if event.type == STATE_CHANGED:
            _agent(event, state, result)
        elif event.type in QUEUE_TYPES:
            _queue(event, state, result)
        elif event.type in TEAM_TYPES:
            _membership(event, state, result)
        elif (contact_id := contact_of(event)) is not None:
            entry = state.pending.get(contact_id)
            if entry is None and event.type == RECEIVED:
                entry = state.pending[contact_id] = PendingContact([])
            if entry is not None:
                entry.events.append(event)
                result.contacts.add(contact_id)
    for contact_id in result.contacts:
        _fold(contact_id, state, result, first, short_abandon_us)
    if last_us is not None:
        result.cutoff_us = last_us - GRACE_US
        for contact_id, entry in list(state.pending.items()):
            if entry.quiet_us is not None and entry.quiet_us < result.cutoff_us:
                del state.pending[contact_id]
                result.contacts.add(contact_id)
    return result


def _fold(
    contact_id: str, state: State, result: BatchResult, first: int, short_abandon_us: int
) -> None:
    entry = state.pending[contact_id]
    fold = fold_contact(
        contact_id, entry.events, short_abandon_us=short_abandon_us, threshold=state.threshold
    )
    for part in fold.contributions:
        if part.seq < first:
            continue  # added by an earlier batch
        key = QueueRowKey(
            floor_grain(part.arrived_us), part.queue_id, part.channel, part.agent_id or ""
        )
        result.queue_rows.setdefault(key, Sums()).add(part.sums)
        if part.agent_id is not None and part.answered_seq is not None:
            for team_id in state.teams_of(part.agent_id, part.answered_seq):
                team_key = TeamRowKey(key.interval_us, team_id)
                result.team_rows.setdefault(team_key, Sums()).add(part.sums)
    for moved in fold.dispositions:
        if moved.seq < first:
            continue
        disposition_key = DispositionRowKey(
            floor_grain(moved.arrived_us), moved.queue_id, moved.channel, moved.disposition
        )
        result.disposition_rows.setdefault(disposition_key, Sums()).add(moved.sums)
    entry.quiet_us = fold.last_us if fold.quiet else None


def _agent(event: LogEvent, state: State, result: BatchResult) -> None:
    agent_id = str(event.payload.get("agent_id"))
    opened, closed = state_change(agent_id, state.agents.get(agent_id), event)
    if opened is not None:
        state.agents[agent_id] = opened
        result.agents.add(agent_id)
    for part in closed:
        key = AgentRowKey(part.interval_us, agent_id, part.state, part.reason)
        result.agent_rows[key] = result.agent_rows.get(key, 0) + part.us


def _queue(event: LogEvent, state: State, result: BatchResult) -> None:
    queue = event.payload.get("queue")
    if not isinstance(queue, dict) or "id" not in queue:
        return
    us = seconds_to_us(queue.get("service_level_seconds", DEFAULT_SL_US / 1_000_000))
    queue_id = str(queue["id"])
    state.thresholds.setdefault(queue_id, []).append((event.seq, us))
    result.thresholds.append((queue_id, event.seq, us))


def _membership(event: LogEvent, state: State, result: BatchResult) -> None:
    """The directory's membership events: each changed agent's teams from this seq on. Every
    member counts (a supervisor who takes contacts too), whatever their role in the team."""
    data = event.payload
    team_id = str(data.get("team_id") or "")
    if not team_id:
        return
    if event.type == MEMBER_SET:
        user = data.get("user")
        agents = [str(user["id"])] if isinstance(user, dict) and user.get("id") else []
    elif event.type == MEMBER_REMOVED:
        agents = [str(data["user_id"])] if data.get("user_id") else []
    else:  # the team is gone: every member leaves it
        agents = [a for a, history in state.teams.items() if team_id in history[-1][1]]
    for agent_id in agents:
        history = state.teams.setdefault(agent_id, [])
        current = set(history[-1][1]) if history else set()
        if event.type == MEMBER_SET:
            current.add(team_id)
        else:
            current.discard(team_id)
        teams = tuple(sorted(current))
        if history and history[-1][1] == teams:
            continue  # a role change within the team: the same teams
        history.append((event.seq, teams))
        result.teams.append((agent_id, event.seq, teams))


def recompute(records: Sequence[LogEvent], short_abandon_us: int) -> BatchResult:
    """The rollups of a whole log at once: what incremental ingestion must equal."""
    return process(records, State(), short_abandon_us)
