"""The event bus: publishes committed events to subscribers.

An interface, so a multi-node install can put NATS JetStream behind it; the default is in-process.
Subscribers must not block: they typically put the event on their own queue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from omnidesk.platform.events import PublishedEvent
from omnidesk.platform.logging import get_logger

Handler = Callable[[PublishedEvent], None]
log = get_logger(__name__)


class Subscription(Protocol):
    def close(self) -> None: ...


class EventBus(Protocol):
    async def publish(self, events: Sequence[PublishedEvent]) -> None: ...

    def subscribe(self, handler: Handler) -> Subscription: ...


class _InProcessSubscription:
    def __init__(self, bus: InProcessBus, handler: Handler) -> None:
        self._bus = bus
        self._handler = handler

    def close(self) -> None:
        self._bus._handlers.discard(self._handler)


class InProcessBus:
    def __init__(self) -> None:
        self._handlers: set[Handler] = set()
        self.published = 0

    async def publish(self, events: Sequence[PublishedEvent]) -> None:
        for published in events:
            self.published += 1
            for handler in list(self._handlers):
                try:
                    handler(published)
                except Exception:  # one broken subscriber must not starve the others
                    log.exception("event subscriber failed", event_type=published.type)

    def subscribe(self, handler: Handler) -> Subscription:
        self._handlers.add(handler)
        return _InProcessSubscription(self, handler)
