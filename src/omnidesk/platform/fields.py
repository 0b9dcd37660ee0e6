"""Field types every API body shares, so alike inputs are validated alike (422 naming the field).

- `Id`: the one grammar of every id a user chooses (routing queues and contacts, the queues voice
  and WFM refer to, scenario agent ids): the routing core's ID_PATTERN. Every id it allows works
  as a URL path segment as it is; the API is where ids are refused (docs/adr/0010).
- `Name`: a human-readable name: not blank, no surrounding whitespace, one line.
- `Channel`: a channel name (voice, chat, email, ...), as a name.
- `as_utc`: an instant from a query in UTC, the one rule for times without an offset and for
  ISO 8601 times no datetime can hold in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import Field

from omnidesk.core.routing.model import ID_PATTERN, ID_RULE

NAME_PATTERN = r"^\S(?:.*\S)?$"
NAME_RULE = "a name: not blank, no leading or trailing spaces, one line"

Id = Annotated[str, Field(pattern=ID_PATTERN, description=ID_RULE, examples=["support"])]
Name = Annotated[
    str, Field(min_length=1, max_length=200, pattern=NAME_PATTERN, description=NAME_RULE)
]
ShortName = Annotated[
    str, Field(min_length=1, max_length=100, pattern=NAME_PATTERN, description=NAME_RULE)
]
Channel = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=NAME_PATTERN, examples=["voice", "chat", "email"]),
]


def as_utc(value: datetime | None) -> datetime | None:
    """In UTC; a time without an offset is UTC (the server's clock). A valid ISO 8601 time whose
    UTC instant a datetime cannot hold (0001-01-01T00:00+05:00) raises ValueError, which a
    validator turns into a 422 on its field, instead of an OverflowError deeper down."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range once converted to UTC") from None
