"""The web chat widget as a channel adapter. Its "provider" is our own server: an agent's reply
is stored by the conversation service and reaches the visitor's socket through the event bus
(chat/hub.py), so `send` has nothing to call; the visitor's browser reports `delivered` and
`read` back as statuses of the message (its own id is its external id)."""

from __future__ import annotations

from typing import Any

from omnidesk.channels.chat.config import is_open
from omnidesk.channels.conversations.adapter import Account, FetchedMedia, OutboundMessage
from omnidesk.platform.database import utcnow


class ChatAdapter:
    kind = "chat"
    channel = "chat"
    identity_kind = "webchat"

    def reply_window_hours(self, account: Account) -> float | None:
        return None

    async def send(self, account: Account, message: OutboundMessage) -> str | None:
        # Stored and published already: the visitor's socket picks it up from the event.
        return str(message.message_id)

    async def fetch_media(self, account: Account, media_id: str) -> FetchedMedia:
        raise ValueError("the widget uploads files inline; there is nothing to fetch")

    def contact_attributes(self, account: Account) -> dict[str, Any]:
        """A contact that arrives outside the widget's business hours is marked `offline`
        (it came from the offline form, or from a visitor who wrote anyway): rules and the
        desk can tell it will be answered later."""
        return {
            "widget": True,
            "offline": not is_open(account.config.get("business_hours"), utcnow()),
        }

    async def close(self) -> None:
        return None
