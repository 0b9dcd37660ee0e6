"""The voice channel's part of a customer's erasure (platform/redaction.py): their recordings
(rows and WAV files), the customer's side of their call records (the number they called from
or were called on) and the same numbers in the calls' events.

The CRM (a domain) may not import a channel; it declares what it needs (a PersonalDataHolder)
and the app root hands it this. The call records stay, with times, direction, the dialled
business number and the agent: the calls still count.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.channels.voice.models import Call, Recording
from omnidesk.platform.redaction import (
    CHUNK,
    ERASED,
    Erasure,
    Expiry,
    redact_events,
    rows_of_any,
)


class VoicePersonalData:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    async def erase(self, session: AsyncSession, erasure: Erasure) -> dict[str, int]:
        calls = await self._calls(session, erasure)
        # The customer's side of each call, as the events name it too ("+4930…" in
        # "sip:+4930…@trunk"): their number even where no identity of theirs had it.
        numbers = [_user_part(c.from_uri if c.direction == "inbound" else c.to_uri) for c in calls]
        redaction = erasure.redaction.with_values(numbers)
        for call in calls:
            customer_side = "from_uri" if call.direction == "inbound" else "to_uri"
            await session.execute(
                update(Call).where(Call.id == call.id).values({customer_side: ERASED})
            )
        # Any other column of theirs naming one of the customer's values (a forwarded call).
        for call in calls:
            for column in ("from_uri", "to_uri"):
                value = getattr(call, column)
                if value != ERASED and redaction.scrub(value)[1]:
                    await session.execute(
                        update(Call).where(Call.id == call.id).values({column: ERASED})
                    )
        call_ids = sorted({*erasure.call_ids, *(c.call_id for c in calls)})
        events = await redact_events(session, {"call": call_ids}, redaction)
        recordings = await self.erase_recordings(
            session,
            [
                *erasure.recording_ids,
                *(r for c in calls for r in c.recording_ids),
                *await _recordings_of(session, erasure.contact_ids),
            ],
        )
        return {"recordings": recordings, "calls": len(calls), "events": events}

    async def expire(self, session: AsyncSession, expiry: Expiry) -> dict[str, int]:
        """Recordings are content: past retention they go; the call records (metadata) stay."""
        calls = await self._calls(session, expiry)
        recordings = [
            *expiry.recording_ids,
            *(r for c in calls for r in c.recording_ids),
            *await _recordings_of(session, expiry.contact_ids),
        ]
        return {"recordings": await self.erase_recordings(session, recordings)}

    async def _calls(self, session: AsyncSession, erasure: Erasure | Expiry) -> list[Call]:
        wanted = [
            (Call.call_id, list(erasure.call_ids)),
            (Call.contact_id, list(erasure.contact_ids)),
        ]
        return await rows_of_any(session, Call, lambda call: call.id, wanted)

    async def erase_recordings(self, session: AsyncSession, recording_ids: Sequence[str]) -> int:
        ids = []
        for value in recording_ids:
            try:
                ids.append(uuid.UUID(value))
            except ValueError:
                continue
        if not ids:
            return 0
        rows = list(await session.scalars(select(Recording).where(Recording.id.in_(ids))))
        await session.execute(delete(Recording).where(Recording.id.in_([r.id for r in rows])))
        await asyncio.to_thread(self._unlink, [r.path for r in rows])
        return len(rows)

    def _unlink(self, relative: list[str]) -> None:
        root = self.data_dir.resolve()
        for path in relative:
            target = (root / path).resolve()
            if target.is_relative_to(root):  # a row never points outside data_dir
                target.unlink(missing_ok=True)


async def _recordings_of(session: AsyncSession, contact_ids: Sequence[str]) -> list[str]:
    contacts = sorted(set(contact_ids))
    found: list[str] = []
    for start in range(0, len(contacts), CHUNK):
        rows = await session.scalars(
            select(Recording.id).where(Recording.contact_id.in_(contacts[start : start + CHUNK]))
        )
        found += [str(r) for r in rows]
    return found


def _user_part(uri: str) -> str:
    """The user of a SIP URI ("sip:+4930123@host" → "+4930123"), or the value itself."""
    user = uri.split(":", 1)[-1] if uri.startswith(("sip:", "sips:", "tel:")) else uri
    return user.split("@", 1)[0].split(";", 1)[0]
