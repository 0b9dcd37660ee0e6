"""Random but well-formed event logs for the property tests: contacts that are abandoned,
answered, put on hold, transferred, overflowed or left waiting, agents changing state, a queue
whose threshold changes; merged in time order as the engine would log them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import strategies as st
from kpi_events import T0, Log

from omnidesk.analytics.facts import LogEvent

AGENTS = ("a1", "a2", "a3")
STATES = ("available", "busy", "wrap_up", "away", "offline")
# Waits include the 5 s short-abandon and 20 s service-level thresholds exactly.
waits = st.sampled_from([0.0, 1.5, 5.0, 5.5, 12.0, 20.0, 20.25, 45.0, 300.0])
durations = st.integers(min_value=0, max_value=1200).map(float)


@st.composite
def contact_script(draw: st.DrawFn, index: int) -> list[tuple[float, str, dict[str, Any]]]:
    """One contact's events as (seconds after T0, type, fields)."""
    c = f"c{index}"
    queue = draw(st.sampled_from(["q1", "q2"]))
    channel = draw(st.sampled_from(["chat", "voice"]))
    t = float(draw(st.integers(min_value=0, max_value=4 * 3600)))
    log = Log()
    log.received(t, c, queue, channel)
    kind = draw(st.sampled_from(["abandon", "answer", "overflow", "transfer", "wait"]))
    wait = draw(waits)
    if kind == "wait":
        return _raw(log)
    if kind == "overflow":
        t += wait
        log.add("routing.contact_overflowed", t, contact_id=c, queue_id=queue, reason="full",
                action={"kind": "queue"})  # fmt: skip
        queue = "q2" if queue == "q1" else "q1"
        log.queued(t, c, queue, channel, "overflow")
        wait = draw(waits)
        kind = draw(st.sampled_from(["abandon", "answer"]))
    if kind == "abandon":
        log.ended(t + wait, c, reason="cancelled", queue=queue)
        return _raw(log)
    agent = draw(st.sampled_from(AGENTS))
    t += wait
    log.accepted(t, c, agent, wait, wait <= 20, queue, channel)
    if draw(st.booleans()):
        held = t + draw(durations)
        log.add("voice.call_state_changed", held, call_id=c, state="held", contact_id=c)
        t = held + draw(durations)
        if draw(st.booleans()):
            log.add("voice.call_state_changed", t, call_id=c, state="resumed", contact_id=c)
    t += draw(durations)
    wrap = draw(st.one_of(st.none(), durations))
    if kind == "transfer":
        target = "q2" if queue == "q1" else "q1"
        log.add("routing.contact_transferred", t, contact_id=c, agent_id=agent,
                target_kind="queue", target=target)  # fmt: skip
        if wrap is not None:
            log.add("routing.wrap_up_started", t, agent_id=agent, contact_id=c, ends_at=None)
        log.queued(t, c, target, channel, "transfer")
        first_wrap_end = t + (wrap or 0)
        queue, previous, agent = target, agent, draw(st.sampled_from(AGENTS))
        wait = draw(waits)
        t += wait
        log.accepted(t, c, agent, wait, wait <= 20, queue, channel)
        if wrap is not None:
            log.add("routing.wrap_up_ended", first_wrap_end, agent_id=previous, contact_id=c,
                    disposition="moved", automatic=False)  # fmt: skip
        t = max(t, first_wrap_end) + draw(durations)
        wrap = draw(st.one_of(st.none(), durations))
    log.ended(t, c, agent=agent, queue=queue)
    if wrap is not None:
        log.wrap(t, t + wrap, c, agent, draw(st.sampled_from([None, "resolved", "sale"])))
    return _raw(log)


@st.composite
def agent_script(draw: st.DrawFn, agent: str) -> list[tuple[float, str, dict[str, Any]]]:
    log = Log()
    t = 0.0
    previous = "offline"
    for _ in range(draw(st.integers(min_value=0, max_value=8))):
        t += draw(st.integers(min_value=1, max_value=3600))
        state = draw(st.sampled_from(STATES))
        reason = draw(st.sampled_from(["break", "training"])) if state == "away" else None
        log.state(t, agent, state, previous, reason)
        previous = state
    return _raw(log)


@st.composite
def membership_script(draw: st.DrawFn) -> list[tuple[float, str, dict[str, Any]]]:
    """Agents joining and leaving two teams (a role change, a deleted team) over the hours
    the contacts come: a visit counts for its agent's teams when they accepted it."""
    log = Log()
    t = 0.0
    for _ in range(draw(st.integers(min_value=0, max_value=8))):
        t += draw(st.integers(min_value=0, max_value=3600))
        team = draw(st.sampled_from(["t1", "t2"]))
        kind = draw(st.sampled_from(["set", "set", "supervisor", "removed", "deleted"]))
        agent = draw(st.sampled_from(AGENTS))
        if kind == "set":
            log.member_set(t, team, agent)
        elif kind == "supervisor":
            log.member_set(t, team, agent, "supervisor")
        elif kind == "removed":
            log.member_removed(t, team, agent)
        else:
            log.team_deleted(t, team)
    return _raw(log)


def _raw(log: Log) -> list[tuple[float, str, dict[str, Any]]]:
    out = []
    for event in log.events:
        payload = dict(event.payload)
        seconds = (_parse(payload["at"]) - T0) / timedelta(seconds=1)
        out.append((seconds, event.type, payload))
    return out


def _parse(value: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value)


@st.composite
def event_logs(draw: st.DrawFn) -> list[LogEvent]:
    """A whole log: every script merged by instant (each script's own order kept)."""
    scripts = [draw(contact_script(i)) for i in range(draw(st.integers(1, 25)))]
    scripts += [draw(agent_script(a)) for a in AGENTS]
    scripts.append(draw(membership_script()))
    if draw(st.booleans()):
        log = Log().queue(float(draw(st.integers(0, 4 * 3600))), "q1", 10.0)
        scripts.append(_raw(log))
    merged = sorted(
        ((seconds, n, i, kind, payload) for n, script in enumerate(scripts)
         for i, (seconds, kind, payload) in enumerate(script)),
        key=lambda row: (row[0], row[1], row[2]),
    )  # fmt: skip
    return [LogEvent(seq, kind, payload) for seq, (_, _, _, kind, payload) in enumerate(merged, 1)]
