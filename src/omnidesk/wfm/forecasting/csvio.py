"""The forecasting CSV: `interval_start,queue_id,channel,volume,aht`, one row per interval.

Pure parsing; every error names the line (1 = the header) and the column. Used by the CLI and
the API alike.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from omnidesk.wfm.forecasting.series import ForecastInputError, Series, regular_series

COLUMNS: Final = ("interval_start", "queue_id", "channel", "volume", "aht")


@dataclass(frozen=True)
class Row:
    line: int
    start: datetime
    queue_id: str
    channel: str
    volume: float
    aht: float  # NaN: no handle time known


def _number(line: int, column: str, text: str, *, blank_ok: bool) -> float:
    text = text.strip()
    if not text and blank_ok:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise ForecastInputError(column, f"line {line}: {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ForecastInputError(column, f"line {line}: must be a number >= 0, got {text!r}")
    return value


def read_rows(text: str) -> list[Row]:
    """Parse the CSV. Extra columns are ignored; `aht` may be empty (or 0) where no contact was
    handled: such intervals do not count towards the AHT."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader)
    except StopIteration:
        raise ForecastInputError("csv", "the CSV is empty (expected a header line)") from None
    names = [h.strip().lower() for h in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise ForecastInputError(
            missing[0],
            f"line 1: the header lacks column(s) {', '.join(missing)} "
            f"(expected {','.join(COLUMNS)})",
        )
    at = {c: names.index(c) for c in COLUMNS}
    rows: list[Row] = []
    for line, record in enumerate(reader, start=2):
        if not record or all(not cell.strip() for cell in record):
            continue
        if len(record) < len(names):
            raise ForecastInputError(
                "csv", f"line {line}: {len(record)} fields, the header has {len(names)}"
            )
        raw = record[at["interval_start"]].strip()
        try:
            start = datetime.fromisoformat(raw)
        except ValueError:
            raise ForecastInputError(
                "interval_start",
                f"line {line}: {raw!r} is not an ISO 8601 time like 2025-03-03T08:30",
            ) from None
        queue_id = record[at["queue_id"]].strip()
        channel = record[at["channel"]].strip()
        if not queue_id or not channel:
            column = "queue_id" if not queue_id else "channel"
            raise ForecastInputError(column, f"line {line}: must not be empty")
        volume = _number(line, "volume", record[at["volume"]], blank_ok=False)
        aht = _number(line, "aht", record[at["aht"]], blank_ok=True)
        rows.append(Row(line, start, queue_id, channel, volume, math.nan if aht == 0 else aht))
    if not rows:
        raise ForecastInputError("csv", "the CSV has a header but no data rows")
    return rows


def pairs(rows: Sequence[Row]) -> list[tuple[str, str]]:
    return sorted({(r.queue_id, r.channel) for r in rows})


def select(
    rows: Sequence[Row], queue_id: str | None, channel: str | None
) -> tuple[str, str, list[Row]]:
    """The rows of one (queue, channel); either may be omitted when the CSV holds only one."""
    matching = [
        r
        for r in rows
        if (queue_id is None or r.queue_id == queue_id)
        and (channel is None or r.channel == channel)
    ]
    found = pairs(matching)
    listed = ", ".join(f"{q}/{c}" for q, c in pairs(rows))
    if not found:
        field = "queue_id" if queue_id is not None else "channel"
        raise ForecastInputError(
            field,
            f"no rows for queue {queue_id or '*'} / channel {channel or '*'}; the CSV has {listed}",
        )
    if len(found) > 1:
        field = "queue_id" if queue_id is None else "channel"
        raise ForecastInputError(
            field, f"the CSV holds several queue/channel pairs ({listed}); choose one"
        )
    return found[0][0], found[0][1], matching


def to_series(
    rows: Sequence[Row], *, interval_minutes: int | None = None, naive_as_utc: bool = False
) -> tuple[Series, list[str]]:
    """`naive_as_utc`: read times without an offset as UTC (the server stores UTC); otherwise
    they stay the series' own wall clock."""
    starts = [
        r.start.replace(tzinfo=UTC) if naive_as_utc and r.start.tzinfo is None else r.start
        for r in rows
    ]
    return regular_series(
        starts,
        [r.volume for r in rows],
        [r.aht for r in rows],
        interval_minutes=interval_minutes,
        labels=[f"line {r.line}" for r in rows],
    )
