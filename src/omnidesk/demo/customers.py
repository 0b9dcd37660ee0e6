"""The demo's CRM: wrap-up codes (the ones the demo's agents pick) and a few customers with
some history — cases open and resolved, an order, notes, consent — whose numbers the demo's
callers use, so a demo call from them brings their card, their open case and their last agent.
Everything through the CRM's services, in one transaction, as an administrator would."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omnidesk.crm import cases, dispositions, service
from omnidesk.crm.record_schemas import CaseCreate, CaseLineIn, CaseUpdate
from omnidesk.crm.schemas import (
    ConsentIn,
    CustomerCreate,
    DispositionIn,
    IdentityIn,
    SettingsIn,
)
from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.uow import UnitOfWork

# (code, label, resolved, category): the codes the demo's agents choose from (agents.py).
DISPOSITIONS = (
    ("resolved", "Resolved", True, "support"),
    ("follow_up", "Follow-up needed", False, "support"),
    ("sale", "Sale made", True, "sales"),
    ("callback", "Call back later", False, None),
)


@dataclass(frozen=True)
class Sample:
    name: str
    phone: str
    email: str
    language: str
    tier: str | None = None
    vip: bool = False
    recording_consent: bool | None = None
    cases: tuple[dict[str, Any], ...] = ()
    notes: tuple[str, ...] = field(default=())


# Fictional numbers (+1 202 555-01xx), which the demo's callers call from.
CUSTOMERS = (
    Sample(
        "Maria Schneider", "+12025550111", "maria.schneider@example.com", "de", "gold", True,
        recording_consent=True,
        cases=({"type": "repair", "title": "Router keeps dropping the line",
                "priority": "high"},),
        notes=("Prefers a call in the morning; speaks German.",),
    ),
    Sample(
        "James Carter", "+12025550122", "james.carter@example.com", "en", "silver",
        cases=({"type": "order", "title": "Order 4567", "order_status": "shipped",
                "lines": [{"sku": "RT-200", "description": "Router RT-200", "quantity": 1,
                           "unit_price": "89.00", "currency": "USD", "status": "shipped"}],
                "resolve": True},),
        notes=("Asked about delivery times twice last month.",),
    ),
    Sample(
        "Aiko Tanaka", "+12025550133", "aiko.tanaka@example.com", "en", "gold",
        cases=({"type": "sales_opportunity", "title": "Upgrade to the business plan"},),
    ),
    Sample(
        "Lucía Fernández", "+12025550144", "lucia.fernandez@example.com", "en",
        recording_consent=False,
        cases=({"type": "complaint", "title": "Billed twice in October", "resolve": True},),
    ),
)  # fmt: skip
CALLER_NUMBERS = tuple(c.phone for c in CUSTOMERS)


async def load_crm(uow: UnitOfWork, admin: Principal) -> None:
    settings = SettingsIn(default_region="US", repeat_window_days=7, prefer_last_agent_seconds=20)
    await service.put_settings(uow, admin, settings)
    for code, label, resolved, category in DISPOSITIONS:
        body = DispositionIn(code=code, label=label, resolved=resolved, category=category)
        await dispositions.create(uow, admin, body)
    for sample in CUSTOMERS:
        await _customer(uow, admin, sample)


async def _customer(uow: UnitOfWork, admin: Principal, sample: Sample) -> None:
    data = CustomerCreate(
        display_name=sample.name,
        language=sample.language,
        tier=sample.tier,
        vip=sample.vip,
        identities=[
            IdentityIn(kind="phone", value=sample.phone),
            IdentityIn(kind="email", value=sample.email),
        ],
    )
    row = await service.create(uow, admin, data)
    if sample.recording_consent is not None:
        consent = ConsentIn(recording=sample.recording_consent, source="demo")
        await service.set_consent(uow, admin, row.id, consent)
    for spec in sample.cases:
        given = {k: v for k, v in spec.items() if k != "resolve"}
        lines = [CaseLineIn.model_validate(line) for line in given.pop("lines", [])]
        case = await cases.create(uow, admin, CaseCreate(customer_id=row.id, lines=lines, **given))
        if spec.get("resolve"):
            await cases.update(uow, admin, case.id, CaseUpdate(status="resolved"))
    for body in sample.notes:
        await service.add_note(uow, admin, row.id, body)
