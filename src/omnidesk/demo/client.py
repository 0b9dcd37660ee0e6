"""A logged-in user of a running Omnidesk, as a browser would be: the session cookie, the CSRF
header on changes, and the realtime socket (docs/realtime.md). What `omnidesk demo traffic`'s
simulated agents and its watcher use; nothing here knows the server's insides."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
from websockets.asyncio.client import ClientConnection, connect


class ApiError(RuntimeError):
    """The server refused a request (the message has the method, path, status and body)."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path}: {status} {body[:300]}")
        self.status = status


@dataclass
class ApiUser:
    http: httpx2.AsyncClient
    username: str
    user_id: str
    cookie: str
    csrf: str

    @classmethod
    async def login(
        cls, http: httpx2.AsyncClient, tenant: str, username: str, password: str
    ) -> ApiUser:
        body = {"tenant": tenant, "username": username, "password": password}
        r = await http.post("/api/v1/auth/login", json=body)
        if r.status_code != 200:
            raise ApiError("POST", "/api/v1/auth/login", r.status_code, r.text)
        cookie = r.cookies.get("omnidesk_session") or ""
        # Each user sends its own cookie: the shared client must not mix sessions.
        http.cookies.clear()
        data = r.json()
        return cls(http, username, str(data["user"]["id"]), cookie, data["csrf_token"])

    def _headers(self) -> dict[str, str]:
        return {"cookie": f"omnidesk_session={self.cookie}", "X-CSRF-Token": self.csrf}

    async def request(self, method: str, path: str, json_body: Any = None) -> Any:
        r = await self.http.request(method, path, json=json_body, headers=self._headers())
        self.http.cookies.clear()
        if r.status_code >= 400:
            raise ApiError(method, path, r.status_code, r.text)
        return r.json() if r.content else None

    async def get(self, path: str) -> Any:
        return await self.request("GET", path)

    async def post(self, path: str, body: Any = None) -> Any:
        return await self.request("POST", path, body)

    @asynccontextmanager
    async def realtime(self) -> AsyncIterator[Realtime]:
        """The realtime socket, registered: `.snapshot` holds the snapshot message."""
        url = str(self.http.base_url).rstrip("/").replace("http", "ws", 1) + "/api/v1/realtime"
        headers = {"cookie": f"omnidesk_session={self.cookie}"}
        async with connect(url, additional_headers=headers, max_size=2**24) as ws:
            await ws.send(json.dumps({"type": "register", "last_event_id": None}))
            snapshot = json.loads(await ws.recv())
            if snapshot.get("type") != "snapshot":
                raise ApiError("WS", "/api/v1/realtime", 0, json.dumps(snapshot))
            yield Realtime(ws, snapshot)


@dataclass
class Realtime:
    ws: ClientConnection
    snapshot: dict[str, Any]

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Events as they come (a fresh snapshot on a scope change replaces `snapshot`)."""
        async for raw in self.ws:
            message = json.loads(raw)
            if message.get("type") == "event":
                yield message
            elif message.get("type") == "snapshot":
                self.snapshot = message
            elif message.get("type") == "error":
                status = int(message.get("status", 0))
                raise ApiError("WS", "/api/v1/realtime", status, json.dumps(message))
