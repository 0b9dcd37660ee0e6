"""The lean event path (what the digital twin runs on) gives the same events as the normal one.

`Engine.handle_lean_us` / `advance_lean_us` hand the most frequent events over as `(class,
values)` tuples with instants as integer microseconds (events.Makers); the server uses
`handle` / `advance` and gets event objects. The routing property machine
(test_engine_properties.py) drives random command sequences — agents available, away, offline
and redefined; contacts arriving on several queues and channels; offers accepted, rejected,
timed out and revoked as time passes; ends, wrap-ups (by the agent and by the queue's timer),
abandons, transfers, requeues, consults, overflows, ticks, restarts and refused commands — into
two engines and checks after every command that both give the same events. Here its second
engine runs every command the twin's way, and each lean event is read the way the twin reads
it: every field at the position `field_positions` gives for its name. So both paths must give
the same events, in the same order, field by field.

Every event is also checked for sense, field by field (a contact id where a contact id belongs,
an agent id where an agent id does): an event class whose fields were reordered without its
positional builders fails here, on both paths, instead of silently corrupting simulations.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from test_engine_properties import AGENTS, QUEUES, RoutingMachine, _state

from omnidesk.core.routing import Command, Engine, RevokeOffers, RoutingError
from omnidesk.core.routing.clock import from_us, to_us
from omnidesk.core.routing.events import Event, LeanEvent, OfferCreated, field_positions

_INSTANTS = {"at", "expires_at", "ends_at"}  # integer microseconds in a lean event
_CHANNELS = {c for q in QUEUES for c in q.channels}
_AGENT_STATES = {"offline", "available", "busy", "wrap_up", "away"}


def _contact(value: Any) -> bool:  # customers' contacts "c…", agents' own "o…", consults "k…"
    return isinstance(value, str) and value[:1] in ("c", "o", "k")


def _agent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value in {a.id for a in AGENTS})


# What each field must hold, by its name: a field that got another's value stands out.
SENSE = {
    "contact_id": _contact,
    "consult_id": _contact,
    "agent_id": _agent,
    "consultant_id": _agent,
    "reserved_for": _agent,
    "queue_id": lambda v: v is None or v in {q.id for q in QUEUES},
    "offer_id": lambda v: isinstance(v, str) and "#" in v and _contact(v.split("#")[0]),
    "channel": lambda v: v in _CHANNELS,
    "state": lambda v: v in _AGENT_STATES,
    "previous_state": lambda v: v in _AGENT_STATES,
    "priority": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "emergency": lambda v: isinstance(v, bool),
    "within_service_level": lambda v: isinstance(v, bool),
    "waited_seconds": lambda v: isinstance(v, float) and v >= 0,
    "step": lambda v: isinstance(v, int) and not isinstance(v, bool),
}


def read(event: Event | LeanEvent) -> Event:
    """The event as the twin reads it: a lean one field by field, by name, at the position
    `field_positions` gives, its instants turned back into datetimes; an object as it is."""
    if not isinstance(event, tuple):
        return event
    cls, values = event
    read_values: dict[str, Any] = {}
    for f in fields(cls):
        (position,) = field_positions(cls, f.name)
        value = values[position]
        if f.name in _INSTANTS and value is not None:
            assert isinstance(value, int) and not isinstance(value, bool), (cls, f.name, value)
            value = from_us(value)
        read_values[f.name] = value
    return cls(**read_values)


def check_sense(event: Event) -> None:
    for f in fields(event):
        sensible = SENSE.get(f.name)
        value = getattr(event, f.name)
        assert sensible is None or sensible(value), f"{event.type}.{f.name} = {value!r}"


def as_dicts(events: list[Event | LeanEvent]) -> list[dict[str, Any]]:
    out = []
    for event in events:
        built = read(event)
        check_sense(built)
        out.append(built.to_dict())
    return out


def run_lean(engine: Engine, command: Command, now: datetime) -> tuple[Any, ...]:
    """test_engine_properties.run, the twin's way: `advance_lean_us`, then `handle_lean_us`."""
    now_us = to_us(now)
    restart = isinstance(command, RevokeOffers)
    fired = [] if restart else as_dicts(engine.advance_lean_us(now_us))
    before = engine.snapshot() if restart else _state(engine)
    try:
        events = as_dicts(engine.handle_lean_us(command, now_us))
    except RoutingError as error:
        assert not error.events  # timers fired in advance_lean_us()
        after = engine.snapshot() if restart else _state(engine)
        assert after == before, f"{command} was refused but changed the state"
        return ("refused", error.code, fired)
    return ("ok", fired + events)


class LeanPathMachine(RoutingMachine):
    """RoutingMachine with its second engine on the lean path: same events, or it fails."""

    def run_twin(self, command: Command, now: datetime) -> tuple[Any, ...]:
        return run_lean(self.twin, command, now)


TestLeanPath = LeanPathMachine.TestCase
TestLeanPath.settings = settings(
    max_examples=60,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_field_positions_are_the_declared_order_and_unknown_names_fail() -> None:
    declared = [f.name for f in fields(OfferCreated)]
    assert field_positions(OfferCreated, "contact_id", "at") == (
        declared.index("contact_id"),
        0,
    )
    with pytest.raises(KeyError, match="OfferCreated has no field"):
        field_positions(OfferCreated, "customer_id")
