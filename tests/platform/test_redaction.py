"""The two rules an erasure scrubs stored JSON by (platform/redaction.py)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from omnidesk.platform import redaction as redaction_module
from omnidesk.platform.database import SCOPE_KEY, SYSTEM
from omnidesk.platform.redaction import ERASED, Redaction, rows_of_any


def test_keys_go_whatever_they_hold_and_values_wherever_they_appear() -> None:
    redaction = Redaction.of(keys={"note"}, values=["+49305550199", "Zeb Quaxley", "ab", None])
    payload = {
        "contact_id": "c1",
        "queue_id": "support",
        "note": {"text": "anything"},
        "attributes": {"caller": "sip:+49305550199@trunk", "who": "ZEB QUAXLEY called"},
        "steps": [{"state": "ended", "by": "agent"}, "no +49305550199 here?"],
        "seconds": 12,
        "flag": None,
    }
    scrubbed, changed = redaction.scrub(payload)
    assert changed
    assert scrubbed == {
        "contact_id": "c1",
        "queue_id": "support",
        "note": ERASED,
        "attributes": {"caller": ERASED, "who": ERASED},
        "steps": [{"state": "ended", "by": "agent"}, ERASED],
        "seconds": 12,
        "flag": None,
    }
    # Short values never match ("ab" would hit "tab", ids, states); nothing to do: unchanged.
    assert redaction.scrub({"state": "tabled", "note": None}) == (
        {"state": "tabled", "note": None},
        False,
    )
    # Scrubbing again changes nothing: an erasure asked for twice reports nothing new.
    assert redaction.scrub(scrubbed) == (scrubbed, False)


class _Base(DeclarativeBase):
    pass


class _Row(_Base):
    __tablename__ = "redaction_rows"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str]
    contact_id: Mapped[str]


async def test_rows_of_any_reads_in_chunks_and_finds_each_row_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(redaction_module, "CHUNK", 2)  # five ids: three reads
    engine = create_async_engine("sqlite+aiosqlite://")
    async with engine.begin() as conn:
        await conn.run_sync(_Base.metadata.create_all)
    # A table of no tenant, so the system scope (the session guard refuses an unscoped session).
    async with AsyncSession(engine, info={SCOPE_KEY: SYSTEM}) as session:
        session.add_all(
            _Row(id=n, call_id=f"call-{n}", contact_id=f"contact-{n % 3}") for n in range(10)
        )
        await session.flush()
        found = await rows_of_any(
            session,
            _Row,
            lambda row: row.id,
            [
                (_Row.call_id, ["call-1", "call-2", "call-3", "call-4", "call-9"]),
                (_Row.contact_id, ["contact-0"]),  # rows 0, 3, 6, 9: 3 and 9 by both columns
            ],
        )
        assert sorted(row.id for row in found) == [0, 1, 2, 3, 4, 6, 9]
        assert await rows_of_any(session, _Row, lambda row: row.id, [(_Row.call_id, [])]) == []
    await engine.dispose()
