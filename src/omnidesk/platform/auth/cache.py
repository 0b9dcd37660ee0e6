"""Who a credential is, remembered for a few seconds (docs/adr/0023-principal-cache.md).

Every request and socket names its user by a session cookie or an API token; resolving one
reads the session (or token) row and the user with their teams. At a busy center that was the
largest single cost of a request (a fifth of the server's CPU in `omnidesk bench server`), and
it answers the same way for every request of the same user. So a resolved principal is kept
for `auth_cache_seconds`, keyed by a digest of the credential (the raw cookie or token is never
kept), and forgotten at once when this process commits a change to who may do what:

- a write to a table registered with `watch_tables` (sessions, tokens, users, teams and their
  members) marks its transaction; on commit, every cache of the process forgets the users it
  touched (a statement that changes rows without naming a user forgets the tenant, or every
  tenant on a system session);
- a change made elsewhere (another node, the `omnidesk` CLI in its own process) is seen when
  the entry runs out: at most `auth_cache_seconds` late. That bound is the price, and why the
  default is a few seconds.

Nothing here is trusted beyond what the database said: an entry never outlives its session's
or token's expiry, and the CSRF check still runs on every request.
"""

from __future__ import annotations

import hashlib
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from omnidesk.platform.auth.principal import Principal
from omnidesk.platform.database import SCOPE_KEY, SYSTEM, utcnow

# The transaction's marks: user ids to forget, tenant ids (all of a tenant's users) and
# `EVERYONE` (a system-wide statement).
_MARKS_KEY = "omnidesk.auth_changed"
EVERYONE = "*"
_WATCHED: set[str] = {"auth_sessions", "api_tokens"}
_CACHES: weakref.WeakSet[PrincipalCache] = weakref.WeakSet()


def watch_tables(*names: str) -> None:
    """Tables whose rows decide a principal (a user's role, active flag, teams): a committed
    write to one of them forgets the principals it may have changed. The directory registers
    its own; the platform does not know them."""
    _WATCHED.update(names)


@dataclass(frozen=True)
class _Entry:
    principal: Principal
    until: float  # monotonic
    expires_at: datetime | None


class PrincipalCache:
    """At most `size` principals, each for `seconds` (0: nothing is kept)."""

    def __init__(
        self, seconds: float, size: int = 20_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self.size = size
        self.clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self.hits = 0
        self.misses = 0
        _CACHES.add(self)

    @staticmethod
    def key(kind: str, credential: str) -> str:
        return hashlib.sha256(f"{kind}\0{credential}".encode()).hexdigest()

    def get(self, key: str) -> Principal | None:
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        if entry.until <= self.clock() or (
            entry.expires_at is not None and entry.expires_at <= utcnow()
        ):
            # Run out (the database decides again: an expired session is also removed there).
            del self._entries[key]
            self.misses += 1
            return None
        self.hits += 1
        return entry.principal

    def put(self, key: str, principal: Principal) -> None:
        if self.seconds <= 0:
            return
        self._entries[key] = _Entry(principal, self.clock() + self.seconds, principal.expires_at)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def forget(self, marks: set[Any]) -> None:
        if not self._entries:
            return
        if EVERYONE in marks:
            self._entries.clear()
            return
        stale = [
            key
            for key, entry in self._entries.items()
            if entry.principal.user_id in marks or entry.principal.tenant_id in marks
        ]
        for key in stale:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)


def _mark(session: Session, *ids: Any) -> None:
    session.info.setdefault(_MARKS_KEY, set()).update(ids)


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, flush_context: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__tablename__", None)
        if table not in _WATCHED:
            continue
        if table == "teams":
            # A team's removal or rename reaches each member: forget the tenant.
            _mark(session, obj.tenant_id)
        else:
            # Users are keyed by `id`; sessions, tokens and memberships by `user_id`.
            _mark(session, getattr(obj, "user_id", None) or obj.id)


@event.listens_for(Session, "do_orm_execute")
def _bulk_write(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) not in _WATCHED:
        return
    scope = state.session.info.get(SCOPE_KEY)
    _mark(state.session, EVERYONE if scope is SYSTEM or scope is None else scope)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    marks = session.info.pop(_MARKS_KEY, None)
    if marks:
        for cache in list(_CACHES):
            cache.forget(marks)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_MARKS_KEY, None)
