"""What routing asks of the domain that knows customers, without importing it.

Routing must not depend on the CRM (nor the CRM on routing's insides): routing defines these
small ports, the composition root (omnidesk/app.py) plugs the CRM's implementation in, and
routing works without one (no customer attributes, any disposition code).

- `arriving`: before a contact enters routing, who is it from? The hook resolves the customer
  and returns the command with the customer's attributes added (and, for a returning
  customer with an open case, the agent who last worked it as the preferred agent);
  `arrived` is told once routing accepted the contact (the CRM records the link then, so a
  refused contact leaves no record).
- `check_disposition`: a wrap-up's disposition must be one of the tenant's codes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from omnidesk.core.routing import ContactArrived


@dataclass(frozen=True, slots=True)
class CustomerRef:
    """Who a contact is from, as its channel knows it: an identity (`kind` phone, email,
    messaging or webchat, with its `value`, and `provider` for messaging) or a customer id."""

    kind: str | None = None
    value: str | None = None
    provider: str | None = None
    customer_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Arrival:
    """The command to run, and what the hook wants to be given back once it ran."""

    command: ContactArrived
    token: object = None


class ContactHooks(Protocol):
    async def arriving(
        self, tenant_id: uuid.UUID, command: ContactArrived, customer: CustomerRef
    ) -> Arrival:
        """The command with the customer's attributes; raises a 4xx domain error for an
        identity that is not valid (the caller decides whether that refuses the contact)."""
        ...

    async def arrived(self, tenant_id: uuid.UUID, arrival: Arrival) -> None:
        """Routing accepted the contact of `arrival`."""
        ...

    async def check_disposition(self, tenant_id: uuid.UUID, code: str) -> None:
        """Raises a 422 domain error when `code` is not one of the tenant's active codes."""
        ...
