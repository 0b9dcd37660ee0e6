"""Field types every API body shares, so alike inputs are validated alike (422 naming the field).

- `Id`: the one grammar of every id a user chooses (routing queues and contacts, the queues voice
  and WFM refer to, scenario agent ids): the routing core's ID_PATTERN. Every id it allows works
  as a URL path segment as it is; the API is where ids are refused (docs/adr/0010).
- `Name`: a human-readable name: not blank, no surrounding whitespace, one line.
- `Channel`: a channel name (voice, chat, email, ...), as a name.
"""

from __future__ import annotations

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
