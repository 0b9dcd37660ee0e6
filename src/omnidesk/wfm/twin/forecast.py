"""Arrival volumes from a forecast CSV, as Omnidesk's forecaster writes them.

Columns: interval_start (ISO 8601; without a UTC offset it is wall-clock time in the scenario's
time zone), queue_id, channel, volume and optionally aht (seconds); other columns are ignored.
A row's volume arrives during the scenario interval that starts at interval_start; rows outside
the scenario's intervals are skipped, so a week's forecast can drive a one-day scenario.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from omnidesk.wfm.twin.errors import fail

REQUIRED = ("interval_start", "queue_id", "channel", "volume")


@dataclass(frozen=True)
class ForecastCell:
    queue_id: str
    channel: str
    interval: int
    volume: float
    aht: float | None


def read_forecast(
    path: Path,
    *,
    start: datetime,
    interval: timedelta,
    intervals: int,
    channels: Mapping[str, tuple[str, ...]],
    timezone: str = "UTC",
    field: str = "forecast.path",
) -> list[ForecastCell]:
    """The rows inside the scenario; `channels` maps each queue id to the channels it serves."""
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise fail(field, f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    zone = ZoneInfo(timezone)
    cells: list[ForecastCell] = []
    seen: set[tuple[str, str, int]] = set()
    with handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            raise fail(field, f"{path.name}: missing column(s) {', '.join(missing)}")
        for row in reader:
            where = f"{path.name} line {reader.line_num}"
            try:
                at = datetime.fromisoformat(row["interval_start"] or "")
            except ValueError:
                raise fail(field, f"{where}: interval_start is not an ISO 8601 instant") from None
            if at.tzinfo is None:
                at = at.replace(tzinfo=zone)
            offset = at - start
            index, rest = divmod(offset, interval)
            if rest:
                raise fail(field, f"{where}: interval_start is not on an interval boundary")
            if not 0 <= index < intervals:
                continue
            queue_id, channel = row["queue_id"] or "", row["channel"] or ""
            if queue_id not in channels:
                raise fail(field, f"{where}: unknown queue {queue_id!r}")
            if channel not in channels[queue_id]:
                raise fail(field, f"{where}: queue {queue_id!r} does not serve {channel!r}")
            volume = _number(row["volume"], f"{where}: volume", field)
            aht_text = (row.get("aht") or "").strip()
            aht = _number(aht_text, f"{where}: aht", field) if aht_text else None
            if aht is not None and aht <= 0:
                raise fail(field, f"{where}: aht must be > 0")
            key = (queue_id, channel, index)
            if key in seen:
                raise fail(field, f"{where}: a second row for {queue_id}/{channel} at {at}")
            seen.add(key)
            cells.append(ForecastCell(queue_id, channel, index, volume, aht))
    return cells


def _number(text: str | None, what: str, field: str) -> float:
    try:
        value = float(text or "")
    except ValueError:
        raise fail(field, f"{what} is not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise fail(field, f"{what} must be a number >= 0")
    return value
