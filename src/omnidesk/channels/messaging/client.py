"""What the messaging adapters share: one HTTP client each, closed with the app."""

from __future__ import annotations

import httpx2


class HttpChannel:
    channel = "messaging"
    identity_kind = "messaging"

    def __init__(self, client: httpx2.AsyncClient | None = None) -> None:
        self.client = client or httpx2.AsyncClient(timeout=15.0)

    async def close(self) -> None:
        await self.client.aclose()
