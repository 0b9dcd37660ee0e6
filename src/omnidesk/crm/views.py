"""Records as the API shows them (rows -> response models)."""

from __future__ import annotations

from omnidesk.crm.models import Case, CaseLine, Customer, Identity, Interaction, Note
from omnidesk.crm.record_schemas import (
    CaseLineOut,
    CaseOut,
    InteractionOut,
    NoteOut,
    RecordingLink,
)
from omnidesk.crm.schemas import ConsentOut, CustomerOut, IdentityOut

# The voice channel serves recordings and voicemail messages here (its recording endpoints).
RECORDING_URL = "/api/v1/voice/recordings/{id}/audio"


def identity_out(row: Identity) -> IdentityOut:
    return IdentityOut(
        id=row.id, kind=row.kind, provider=row.provider, value=row.value, created_at=row.created_at
    )


def customer_out(row: Customer, ids: list[Identity]) -> CustomerOut:
    return CustomerOut(
        id=row.id,
        display_name=row.display_name,
        language=row.language,
        timezone=row.timezone,
        tier=row.tier,
        vip=row.vip,
        tags=list(row.tags),
        fields=dict(row.fields),
        consent=ConsentOut.model_validate(row.consent or {}),
        status=row.status,
        merged_into=row.merged_into,
        identities=[identity_out(i) for i in ids],
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def recording_link(recording_id: str) -> RecordingLink:
    return RecordingLink(id=recording_id, url=RECORDING_URL.format(id=recording_id))


def interaction_out(row: Interaction) -> InteractionOut:
    return InteractionOut(
        id=row.id,
        contact_id=row.contact_id,
        call_id=row.call_id,
        kind=row.kind,
        channel=row.channel,
        direction=row.direction,
        customer_id=row.customer_id,
        case_id=row.case_id,
        queue_ids=list(row.queue_ids),
        agent_ids=list(row.agent_ids),
        steps=list(row.steps),
        state=row.state,
        started_at=row.started_at,
        ended_at=row.ended_at,
        end_reason=row.end_reason,
        disposition=row.disposition,
        disposition_note=row.disposition_note,
        resolved=row.resolved,
        disposition_category=row.disposition_category,
        reason=row.reason,
        repeat=row.repeat_of is not None,
        repeat_of=row.repeat_of,
        switched_from=row.switched_from,
        recordings=[recording_link(r) for r in row.recording_ids],
        transcript=row.transcript,
        content_purged_at=row.content_purged_at,
    )


def note_out(row: Note) -> NoteOut:
    return NoteOut(
        id=row.id,
        customer_id=row.customer_id,
        interaction_id=row.interaction_id,
        case_id=row.case_id,
        author_id=row.author_id,
        body=row.body,
        created_at=row.created_at,
        purged_at=row.purged_at,
    )


def case_number(prefix: str, number: int) -> str:
    return f"{prefix}{number}"


def case_out(row: Case, lines: list[CaseLine], prefix: str) -> CaseOut:
    return CaseOut(
        id=row.id,
        number=case_number(prefix, row.number),
        customer_id=row.customer_id,
        type=row.type,
        title=row.title,
        status=row.status,
        priority=row.priority,
        owner_id=row.owner_id,
        due_at=row.due_at,
        fields=dict(row.fields),
        order_status=row.order_status,
        lines=[
            CaseLineOut(
                id=line.id,
                position=line.position,
                sku=line.sku,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                currency=line.currency,
                status=line.status,
            )
            for line in lines
        ],
        reopened_count=row.reopened_count,
        created_at=row.created_at,
        updated_at=row.updated_at,
        closed_at=row.closed_at,
    )
