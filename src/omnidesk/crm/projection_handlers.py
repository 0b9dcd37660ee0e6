"""How each routing.* and voice.* event (and the CRM's `crm.contact_identified`) changes an
interaction record (interactions.py).

A handler gets the projection, the event record and its payload; `projection.fresh(row, rec)`
returns the row only if this event was not applied to it before. Events about contacts the CRM
never saw arrive (consult legs have offers but no contact_received) and are ignored.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from omnidesk.crm import timeline
from omnidesk.platform.eventlog import EventRecord

if TYPE_CHECKING:
    from omnidesk.crm.identities import Resolution
    from omnidesk.crm.interactions import Projection
    from omnidesk.crm.models import Interaction

Handler = Callable[["Projection", EventRecord, dict[str, Any]], Awaitable[None]]
HANDLERS: dict[str, Handler] = {}

# The voice channel's step that registers a callback (its detail names the callback contact).
CALLBACK_STEP = "callback"
_STEP_KEYS = (
    "queue_id",
    "agent_id",
    "offer_id",
    "reason",
    "target",
    "target_kind",
    "outcome",
    "detail",
)
# Steps that start or settle an offer (the last of them says whether one is pending).
_OFFER_STEPS = ("offered", "accepted", "offer_rejected", "offer_timed_out", "offer_revoked")


def on(*types: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for name in types:
            HANDLERS[name] = handler
        return handler

    return register


def at(record: EventRecord) -> datetime:
    """When it happened: the engine's instant for routing events, else the log's."""
    raw = record.payload.get("at")
    if isinstance(raw, str):
        try:
            return datetime.fromisoformat(raw)
        except ValueError:
            pass
    return record.occurred_at


def union(first: list[str], second: list[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))


def step(row: Interaction, record: EventRecord, name: str, payload: dict[str, Any]) -> None:
    entry: dict[str, Any] = {"at": at(record).isoformat(), "seq": record.seq, "step": name}
    entry.update({k: payload[k] for k in _STEP_KEYS if payload.get(k) not in (None, {}, "")})
    row.steps = [*row.steps, entry]


def add_agent(row: Interaction, agent: object) -> None:
    if agent and str(agent) not in row.agent_ids:
        row.agent_ids = [*row.agent_ids, str(agent)]


def add_queue(row: Interaction, queue: object) -> None:
    if queue and str(queue) not in row.queue_ids:
        row.queue_ids = [*row.queue_ids, str(queue)]


# --- routing ---------------------------------------------------------------------------------


@on("routing.contact_received")
async def _received(p: Projection, rec: EventRecord, data: dict[str, Any]) -> None:
    found = p.get_or_create(
        str(data["contact_id"]), rec, channel=str(data["channel"]), direction="inbound",
        kind="contact",
    )  # fmt: skip
    if (row := p.fresh(found, rec)) is not None:
        add_queue(row, data.get("queue_id"))
        step(row, rec, "received", data)


@on("routing.agent_contact_started")
async def _agent_started(p: Projection, rec: EventRecord, data: dict[str, Any]) -> None:
    found = p.get_or_create(
        str(data["contact_id"]), rec, channel=str(data["channel"]), direction="outbound",
        kind="contact",
    )  # fmt: skip
    if (row := p.fresh(found, rec)) is not None:
        add_agent(row, data.get("agent_id"))
        add_queue(row, data.get("queue_id"))
        step(row, rec, "started", data)


_ROUTING_STEPS = {
    "routing.contact_queued": "queued",
    "routing.offer_created": "offered",
    "routing.offer_rejected": "offer_rejected",
    "routing.offer_timed_out": "offer_timed_out",
    "routing.offer_revoked": "offer_revoked",
    "routing.contact_transferred": "transferred",
    "routing.contact_overflowed": "overflowed",
    "routing.consult_started": "consult_started",
    "routing.wrap_up_started": "wrap_up_started",
}


@on(*_ROUTING_STEPS)
async def _routing_step(p: Projection, rec: EventRecord, data: dict[str, Any]) -> None:
    if (row := p.fresh(p.by_contact.get(str(data.get("contact_id"))), rec)) is not None:
        add_queue(row, data.get("queue_id"))
        step(row, rec, _ROUTING_STEPS[rec.type], data)
        if rec.type == "routing.offer_created" and identified(row):
            p.offer_card(row, str(data["offer_id"]), str(data["agent_id"]))


def identified(row: Interaction) -> bool:
    """Whether the CRM's link (customer, open case, repeat) is on the record. Until it is, an
    offer's card waits for it (`_identified` sends it): a call's number may name the customer
    earlier, but the card would then lack the case."""
    return row.customer_id is not None and any(s["step"] == "identified" for s in row.steps)


def pending_offer(row: Interaction) -> tuple[str, str] | None:
    """(offer id, agent id) of the contact's offer still waiting for an answer, if any."""
    for entry in reversed(row.steps):
        if entry["step"] in _OFFER_STEPS:
            if entry["step"] == "offered" and entry.get("offer_id") and entry.get("agent_id"):
                return str(entry["offer_id"]), str(entry["agent_id"])
            return None
    return None


@on("routing.offer_accepted")
async def _accepted(p: Projection, rec: EventRecord, data: dict[str, Any]) -> None:
    if (row := p.fresh(p.by_contact.get(str(data.get("contact_id"))), rec)) is not None:
        add_agent(row, data.get("agent_id"))
        add_queue(row, data.get("queue_id"))
        step(row, rec, "accepted", {**data, "detail": {"waited_s": data.get("waited_seconds")}})


@on("routing.consult_ended")
async def _consult_ended(p: Projection, rec: EventRecord, data: dict[str, Any]) -> None:
    if (row := p.fresh(p.by_contact.get(str(data.get("contact_id"))), rec)) is not None:
        if data.get("outcome") == "transferred":
            add_agent(row, data.get("consultant_id"))
        step(row, rec, "consult_ended", data)


@on("routing.contact_ended")
async def _ended(p: Projection, rec: EventRecord, data: dict[str, Any]) -> None:
    if (row := p.fresh(p.by_contact.get(str(data.get("contact_id"))), rec)) is not None:
        row.state, row.ended_at, row.end_reason = "ended", at(rec), data.get("reason")
        add_agent(row, data.get("agent_id"))
        step(row, rec, "ended", data)


@on("routing.wrap_up_ended")
async def _wrapped_up(p: Projection, rec: EventRecord, data: dict[str, Any]) -> None:
    if (row := p.fresh(p.by_contact.get(str(data.get("contact_id"))), rec)) is None:
        return
    if data.get("note"):
        row.disposition_note = str(data["note"])
    if data.get("disposition"):
        code = str(data["disposition"])[:64]
        # The code's flags as they are now, kept with the record (a later edit of the code
        # does not rewrite history); a code unknown to the CRM has none.
        known = await p.disposition(code)
        row.disposition = code
        row.resolved = known.resolved if known is not None else None
        row.disposition_category = known.category if known is not None else None
        if row.customer_id is not None:
            await timeline.add(
                p.uow, row.customer_id, "disposition", "interaction", row.id, at=at(rec),
                code=code, resolved=row.resolved, category=row.disposition_category,
                agent_id=data.get("agent_id"),
            )  # fmt: skip
    step(row, rec, "wrap_up_ended", {"agent_id": data.get("agent_id"), "detail": _wrap(data)})


def _wrap(data: dict[str, Any]) -> dict[str, Any]:
    return {"disposition": data.get("disposition"), "automatic": data.get("automatic")}


# --- the CRM's own: whose a routed contact is (arrivals.py) -----------------------------------


@on("crm.contact_identified")
async def _identified(p: Projection, rec: EventRecord, data: dict[str, Any]) -> None:
    contact = str(data["contact_id"])
    found = p.by_contact.get(contact) or p.get_or_create(
        contact, rec, channel=str(data["channel"]), direction="inbound", kind="contact"
    )
    if (row := p.fresh(found, rec)) is None:
        return
    customer = uuid.UUID(str(data["customer_id"]))
    if row.customer_id is None:
        identity = data.get("identity_id")
        row.customer_id = customer
        row.identity_id = uuid.UUID(str(identity)) if identity else None
    if row.customer_id == customer:  # not when the call's number found someone else first
        if row.case_id is None and data.get("case_id"):
            row.case_id = uuid.UUID(str(data["case_id"]))
        if data.get("repeat_of"):
            row.repeat_of = uuid.UUID(str(data["repeat_of"]))
        row.reason = data.get("reason") or row.reason
    step(row, rec, "identified", {"detail": {"repeat": bool(data.get("repeat_of"))}})
    if (offer := pending_offer(row)) is not None:
        p.offer_card(row, *offer)  # offered in the same routing step as it arrived


@on("crm.channel_switched")
async def _switched(p: Projection, rec: EventRecord, data: dict[str, Any]) -> None:
    """The contact continues an earlier one on another channel (switches.py): recorded after
    the target channel created it, so its record usually exists (a callback's registration,
    a conversation's round); the switch's case wins over the open case found on arrival."""
    contact = str(data["to_contact_id"])
    kind = "callback" if data.get("kind") == "callback" else "contact"
    found = p.by_contact.get(contact) or p.get_or_create(
        contact, rec, channel=str(data["to_channel"]), direction="outbound", kind=kind
    )
    if (row := p.fresh(found, rec)) is None:
        return
    customer = uuid.UUID(str(data["customer_id"]))
    if row.customer_id is None:
        row.customer_id = customer
    if row.customer_id == customer:
        row.switched_from = uuid.UUID(str(data["from_interaction_id"]))
        if data.get("case_id"):
            row.case_id = uuid.UUID(str(data["case_id"]))
    step(row, rec, "switched_from", {
        "agent_id": data.get("preferred_agent_id"),
        "detail": {"contact_id": data.get("from_contact_id"), "channel": data.get("from_channel")},
    })  # fmt: skip


# --- digital channels ---------------------------------------------------------------------


@on("conversation.contact_opened")
async def _conversation_opened(p: Projection, rec: EventRecord, data: dict[str, Any]) -> None:
    """A conversation's round became a routing contact: the channel resolved its customer
    (CRM resolve, in the same transaction as the message) and says so here, before routing's
    contact_received (which then finds the record)."""
    found = p.get_or_create(
        str(data["contact_id"]), rec, channel=str(data["channel"]), direction="inbound",
        kind="contact",
    )  # fmt: skip
    if (row := p.fresh(found, rec)) is None:
        return
    if data.get("customer_id") and data.get("identity_id") and row.customer_id is None:
        row.customer_id = uuid.UUID(str(data["customer_id"]))
        row.identity_id = uuid.UUID(str(data["identity_id"]))
    step(
        row,
        rec,
        "conversation_opened",
        {"detail": {"conversation_id": data.get("conversation_id")}},
    )


# --- voice -----------------------------------------------------------------------------------


@on("voice.call_started")
async def _call_started(p: Projection, rec: EventRecord, data: dict[str, Any]) -> None:
    call = str(data["call_id"])
    found = p.for_call(data) or p.get_or_create(
        call, rec, channel="voice", direction=str(data.get("direction") or "inbound"), kind="call"
    )
    if (row := p.fresh(found, rec)) is None:
        return
    if row.call_id is None:
        row.call_id = call
        p.by_call[call] = row
    p.set_customer(row, _resolution(p, rec))
    add_agent(row, data.get("agent_id"))
    step(row, rec, "call_started", {"detail": {"direction": data.get("direction")}})


@on("voice.call_state_changed")
async def _call_step(p: Projection, rec: EventRecord, data: dict[str, Any]) -> None:
    row = p.for_call(data)
    call_row = p.by_call.get(str(data.get("call_id")))
    contact = data.get("contact_id")
    if row is not None and call_row is not None and row is not call_row and contact:
        p.fold(call_row, row)  # the call was this contact's all along
    if data.get("state") == CALLBACK_STEP:
        await _callback(p, rec, data, call_row or row)
    if (row := p.fresh(row, rec)) is None:
        return
    add_agent(row, data.get("agent_id"))
    step(row, rec, f"call_{data.get('state')}", {"agent_id": data.get("agent_id")})


async def _callback(
    p: Projection, rec: EventRecord, data: dict[str, Any], asking: Interaction | None
) -> None:
    """The caller asked to be called back: a contact of its own, the caller's customer's."""
    callback_id = (data.get("detail") or {}).get("callback_id")
    if not callback_id:
        return
    found = p.get_or_create(
        str(callback_id), rec, channel="voice", direction="outbound", kind="callback"
    )
    if (row := p.fresh(found, rec)) is None:
        return
    row.kind = "callback"
    p.set_customer(row, _resolution(p, rec))
    if asking is not None and row.customer_id is None:
        row.customer_id, row.identity_id = asking.customer_id, asking.identity_id
    step(row, rec, "callback_requested", {"detail": {"call_id": data.get("call_id")}})


@on("voice.recording_saved")
async def _recording(p: Projection, rec: EventRecord, data: dict[str, Any]) -> None:
    contact = str(data.get("contact_id") or "")
    call_row = p.by_call.get(str(data.get("call_id"))) or p.by_contact.get(str(data["call_id"]))
    row = p.by_contact.get(contact) if contact else call_row
    if row is None and contact:
        # A voicemail message: a new contact (routed next), left by the call's customer.
        row = p.get_or_create(contact, rec, channel="voice", direction="inbound", kind="voicemail")
        row.kind = "voicemail"
        if call_row is not None:
            row.customer_id, row.identity_id = call_row.customer_id, call_row.identity_id
    if (row := p.fresh(row, rec)) is None:
        return
    row.recording_ids = union(row.recording_ids, [str(data["recording_id"])])
    step(row, rec, "recording_saved", {"detail": {"recording_id": data["recording_id"]}})


@on("voice.call_ended")
async def _call_ended(p: Projection, rec: EventRecord, data: dict[str, Any]) -> None:
    if (row := p.fresh(p.for_call(data), rec)) is None:
        return
    row.recording_ids = union(row.recording_ids, [str(r) for r in data.get("recording_ids", [])])
    add_agent(row, data.get("agent_id"))
    if row.kind == "call":  # not a routing contact: the call's end is the record's end
        row.state, row.ended_at, row.end_reason = "ended", at(rec), data.get("reason") or None
    step(row, rec, "call_ended", {"reason": data.get("reason")})


def _resolution(p: Projection, rec: EventRecord) -> Resolution | None:
    raw = customer_number(rec)
    return p.resolved.get(raw) if raw else None


def customer_number(record: EventRecord) -> str | None:
    """The customer's side of a call event: inbound the caller, outbound the called number;
    a callback's number from its registration step."""
    payload = record.payload
    if record.type == "voice.call_started":
        direction = payload.get("direction")
        if direction == "inbound":
            return payload.get("caller")
        if direction == "outbound":
            return payload.get("callee")
    if record.type == "voice.call_state_changed" and payload.get("state") == CALLBACK_STEP:
        number = (payload.get("detail") or {}).get("number")
        return str(number) if number else None
    return None
