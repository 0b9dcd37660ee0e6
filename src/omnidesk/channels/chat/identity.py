"""Who a visitor is, as the conversation store's peer (docs/channels.md, "Web chat").

- A **signed user**: the embedding site passes its user id and `hex(HMAC-SHA256(widget secret,
  user id))`, computed on its server. The peer is `u:<user id>`: the same customer and
  conversation on any browser. The hash is compared in constant time.
- An **anonymous visitor**: a random token the server minted, kept in the browser's
  localStorage. The peer is `v:<sha256 of the token>` (the token itself is never stored), so
  history stays in that browser.

The two namespaces never meet: no token can name a `u:` peer, and a user id without a valid
hash is refused, so an unsigned id can never claim a signed customer.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from omnidesk.platform.errors import Forbidden, Unauthenticated

USER_ID = re.compile(r"^[\x21-\x7e]{1,180}$")  # printable ASCII without spaces (a CRM id)
TOKEN = re.compile(r"^[A-Za-z0-9_\-]{32,128}$")


@dataclass(frozen=True)
class Visitor:
    peer_id: str
    signed: bool
    user_id: str | None = None


def sign(secret: str, user_id: str) -> str:
    """What the embedding site computes on its server for a logged-in user."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def visitor_of(
    secret: str,
    *,
    token: str | None,
    user_id: str | None,
    user_hash: str | None,
    require_identity: bool = False,
) -> Visitor:
    """The visitor of a request, or 401/403 with the reason."""
    if user_id is not None:
        if not USER_ID.match(user_id):
            raise Unauthenticated("a user id is 1-180 printable characters without spaces")
        if not user_hash:
            raise Unauthenticated("a user id needs its hash (HMAC-SHA256 with the widget secret)")
        expected = sign(secret, user_id)
        if not secret or not hmac.compare_digest(expected.encode(), user_hash.lower().encode()):
            raise Unauthenticated("the user hash does not match the user id")
        return Visitor(f"u:{user_id}", True, user_id)
    if require_identity:
        raise Forbidden("this widget serves signed-in users only")
    if not token or not TOKEN.match(token):
        raise Unauthenticated("no visitor token: start a conversation first")
    return Visitor(f"v:{hashlib.sha256(token.encode()).hexdigest()[:40]}", False)
