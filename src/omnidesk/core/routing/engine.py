"""The routing engine: commands in, typed events out; pure, deterministic, clock-injected.

    engine = Engine(EngineSettings(), compiler=compile_rule)  # or Engine.restore(snapshot)
    events = engine.handle(ContactArrived(...), now)         # now: timezone-aware datetime
    state = engine.snapshot()                                # JSON-serialisable dict

`handle(command, now)` first lets time pass up to `now` (timers fire, each at its own deadline),
then validates the command completely and applies it. If the command is refused, it raises a
`RoutingError` subclass and changes nothing; timers that were due have still fired, and their
events are on `error.events`. A service that must persist every event calls `advance(now)`
first and then `handle(command, now)`, which then has no timers left to fire.

Time never goes backwards: an instant earlier than the engine's clock is treated as now.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, cast

from omnidesk.core.routing import (
    admin,
    agents,
    consult,
    contacts,
    offers,
    snapshot,
    timers,
    views,
    work,
)
from omnidesk.core.routing.clock import Clock, from_us, to_us
from omnidesk.core.routing.commands import (
    AcceptOffer,
    AddAgent,
    AddQueue,
    AgentDisconnected,
    CancelContact,
    Command,
    Consult,
    ContactArrived,
    EndConsult,
    EndContact,
    EndWrapUp,
    ExtendWrapUp,
    OffersSent,
    RejectOffer,
    RemoveAgent,
    RemoveQueue,
    Requeue,
    RevokeOffers,
    SetAgentState,
    SetContactPriority,
    StartAgentContact,
    Tick,
    Transfer,
    UpdateAgent,
    UpdateQueue,
)
from omnidesk.core.routing.errors import InvalidDefinition, RoutingError
from omnidesk.core.routing.events import LEAN_MAKERS, MAKERS, Event, LeanEvent, Makers
from omnidesk.core.routing.expressions import RuleCompiler, default_compiler
from omnidesk.core.routing.model import EngineSettings, validate_settings
from omnidesk.core.routing.state import Core


def _tick(core: Core, cmd: Tick) -> None:
    if core.settings.rescan_on_tick:
        timers.rescan(core)


_HANDLERS: dict[type[Command], Callable[[Core, Any], None]] = {
    AddQueue: admin.add_queue,
    UpdateQueue: admin.update_queue,
    RemoveQueue: admin.remove_queue,
    AddAgent: admin.add_agent,
    UpdateAgent: admin.update_agent,
    RemoveAgent: admin.remove_agent,
    SetAgentState: agents.set_agent_state,
    AgentDisconnected: agents.agent_disconnected,
    ContactArrived: contacts.contact_arrived,
    StartAgentContact: work.start_agent_contact,
    CancelContact: contacts.cancel_contact,
    SetContactPriority: contacts.set_contact_priority,
    AcceptOffer: offers.accept_offer,
    RejectOffer: offers.reject_offer,
    EndContact: work.end_contact_cmd,
    EndWrapUp: work.end_wrap_up,
    ExtendWrapUp: work.extend_wrap_up,
    Transfer: work.transfer,
    Requeue: work.requeue,
    Consult: consult.consult,
    EndConsult: consult.end_consult,
    RevokeOffers: offers.revoke_offers,
    OffersSent: offers.offers_sent,
    Tick: _tick,
}


class Engine:
    def __init__(
        self,
        settings: EngineSettings | None = None,
        *,
        compiler: RuleCompiler | None = None,
        clock: Clock | None = None,
    ) -> None:
        settings = settings or EngineSettings()
        validate_settings(settings)
        self._core = Core(settings, compiler or default_compiler)
        self._clock = clock

    # --- commands ----------------------------------------------------------------------------

    def handle(self, command: Command, now: datetime | None = None) -> list[Event]:
        if now is None:
            now = self._clock_now()
        return self._handle(command, to_us(now), now)

    def handle_us(self, command: Command, now_us: int) -> list[Event]:
        """`handle` with the instant as microseconds since the Unix epoch (`clock.to_us`).
        For a caller that keeps time as integers (the digital twin): it saves building a
        datetime per command that the engine would only turn back into microseconds."""
        return self._handle(command, now_us, None)

    def handle_lean_us(self, command: Command, now_us: int) -> list[Event | LeanEvent]:
        """`handle_us` for a caller that reads each event once as it comes and keeps none (the
        digital twin): the most frequent events come lean, as `(class, fields)` tuples, which
        are much cheaper to make (see events.Makers); the others as usual."""
        return self._handle(command, now_us, None, LEAN_MAKERS)

    def _handle(
        self, command: Command, given: int, now: datetime | None, makers: Makers = MAKERS
    ) -> list[Any]:  # events, lean ones too with LEAN_MAKERS
        core = self._core
        core.make = makers
        core.events = []
        kind = type(command)
        late = given
        if kind is AcceptOffer or kind is RejectOffer:
            # An answer is judged at its arrival: time passes to it first, the rest after it.
            received = cast(AcceptOffer | RejectOffer, command).received_at
            if received is not None:
                given = min(given, to_us(received))
                now = None
        elif kind is OffersSent:
            # Likewise, offers are extended as of their sending: a deadline that fell between
            # the sending and this command does not time the offer out first.
            given = min(given, to_us(cast(OffersSent, command).sent_at))
            now = None
        if kind is RevokeOffers:
            self._catch_up_after_restart(cast(RevokeOffers, command), given)
        else:
            until = given if given > core.now else core.now
            pending = core.timers
            if pending and pending[0][0] <= until:
                timers.advance(core, until)
            else:
                core.now = until
        if now is not None and given == core.now and now.tzinfo is UTC:
            core.adopt_now_dt(now)  # saves building the same datetime again for events
        fired = core.events
        core.events = []
        handler = _HANDLERS.get(kind)
        try:
            if handler is None:
                raise InvalidDefinition(
                    f"not a routing command: {type(command).__name__}", field="type"
                )
            handler(core, command)
        except RoutingError as error:
            # Validation happens before any change, so only the timers' events stand.
            core.events = []
            error.events = fired
            raise
        events = fired + core.events if fired else core.events
        core.events = []
        if late > core.now:
            # What was due between the answer's arrival and its handling fires now.
            pending = core.timers
            if pending and pending[0][0] <= late:
                timers.advance(core, late)
                events += core.events
                core.events = []
            else:
                core.now = late
        return events

    def _catch_up_after_restart(self, command: RevokeOffers, given: int) -> None:
        """Let time pass for RevokeOffers: the offers of its agents whose deadline passes are
        revoked, not timed out (validated first: the catch-up depends on the command)."""
        core = self._core
        offers.check_revoke_offers(core, command)
        core.restart_all = command.agent_ids is None
        core.restart_agents = frozenset(command.agent_ids or ())
        try:
            timers.advance(core, max(given, core.now))
        finally:
            core.restart_all = False
            core.restart_agents = frozenset()

    def advance(self, now: datetime | None = None) -> list[Event]:
        """Let time pass to `now`: due timers fire. Same as handling `Tick` without the retry
        of time-of-day rules."""
        return self.advance_us(to_us(now or self._clock_now()))

    def advance_us(self, now_us: int) -> list[Event]:
        """`advance` with the instant in microseconds since the Unix epoch."""
        return self._advance(now_us, MAKERS)

    def advance_lean_us(self, now_us: int) -> list[Event | LeanEvent]:
        """`advance_us` with lean events, as `handle_lean_us`."""
        return self._advance(now_us, LEAN_MAKERS)

    def _advance(self, now_us: int, makers: Makers) -> list[Any]:  # as _handle
        core = self._core
        core.make = makers
        core.events = []
        timers.advance(core, max(now_us, core.now))
        events, core.events = core.events, []
        return events

    def _clock_now(self) -> datetime:
        if self._clock is None:
            raise InvalidDefinition("no time given and no clock injected", field="now")
        return self._clock.now()

    # --- snapshot / restore ---------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return snapshot.take(self._core)

    @classmethod
    def restore(
        cls,
        state: dict[str, Any],
        *,
        compiler: RuleCompiler | None = None,
        clock: Clock | None = None,
        settings: EngineSettings | None = None,
    ) -> Engine:
        """The engine of `state` (a snapshot), with the settings it was taken with or, given,
        with `settings` (the server's current ones: see docs/routing.md, "Durability")."""
        if settings is not None:
            validate_settings(settings)
        engine = cls.__new__(cls)
        engine._core = snapshot.restore(state, compiler or default_compiler, settings)
        engine._clock = clock
        return engine

    # --- queries ----------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return from_us(self._core.now)

    @property
    def settings(self) -> EngineSettings:
        return self._core.settings

    def next_deadline(self) -> datetime | None:
        """When the next timer is due (None: none pending). The simulator jumps there."""
        deadline = timers.next_deadline(self._core)
        return None if deadline is None else from_us(deadline)

    def next_deadline_us(self) -> int | None:
        """`next_deadline` in microseconds since the Unix epoch."""
        return timers.next_deadline(self._core)

    def earliest_timer_us(self) -> int | None:
        """A lower bound of `next_deadline_us` in O(1): the earliest timer pending, which may
        be stale (it will change nothing when it fires). For a loop that only needs to know
        whether a timer can be due before its own next action, and so needs the exact deadline
        (which may have to drop stale timers first) only when one can."""
        pending = self._core.timers
        return pending[0][0] if pending else None

    def contact(self, contact_id: str) -> views.ContactStatus:
        return views.contact_status(self._core, contact_id)

    def agent(self, agent_id: str) -> views.AgentStatus:
        return views.agent_status(self._core, agent_id)

    def queue(self, queue_id: str) -> views.QueueStatus:
        return views.queue_status(self._core, queue_id)

    def wait_estimate(self, contact_id: str) -> views.WaitEstimate:
        return views.wait_estimate(self._core, contact_id)

    def wait_estimates(self, contact_ids: Iterable[str]) -> dict[str, views.WaitEstimate]:
        """Many waiting contacts' estimates, each queue's free capacity summed once."""
        return views.wait_estimates(self._core, contact_ids)

    def contact_ids(self) -> list[str]:
        return sorted(self._core.contacts)

    def agent_ids(self) -> list[str]:
        return sorted(self._core.agents)

    def queue_ids(self) -> list[str]:
        return sorted(self._core.queues)

    def verify(self) -> None:
        """Recompute every index from the records and compare (AssertionError on a mismatch).
        For tests and for debugging a restored state; O(size of the state)."""
        from omnidesk.core.routing.verify import verify

        verify(self._core)
