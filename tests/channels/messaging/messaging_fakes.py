"""Local stand-ins for messaging providers, speaking their documented request/response format
over real HTTP on 127.0.0.1 (uvicorn in a thread), and the helpers the channel tests share."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from omnidesk.channels.messaging.signature import sign

TOKEN = "EAAG-test-access-token"
APP_SECRET = "whatsapp-app-secret"
VERIFY_TOKEN = "verify-me-please"
PHONE_NUMBER_ID = "106540352242922"
VERSION = "v21.0"


@dataclass
class FakeWhatsApp:
    """The Cloud API's message, media and media-upload endpoints, recording what it is sent."""

    base: str = ""
    sent: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[bytes] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    # Media id -> how many more lookups fail (a provider hiccup) before it is served.
    failures: dict[str, int] = field(default_factory=dict)
    refuse_to: set[str] = field(default_factory=set)
    media_gets: int = 0
    arrived: threading.Event = field(default_factory=threading.Event)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(f"/{VERSION}/{{number}}/messages", self._message, methods=["POST"]),
                Route(f"/{VERSION}/{{number}}/media", self._upload, methods=["POST"]),
                Route(f"/{VERSION}/{{media_id}}", self._media_info, methods=["GET"]),
                Route("/files/{media_id}", self._media_bytes, methods=["GET"]),
            ]
        )

    @staticmethod
    def _unauthorised(request: Request) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            error = {
                "message": "Invalid OAuth access token.",
                "type": "OAuthException",
                "code": 190,
            }
            return JSONResponse({"error": error}, status_code=401)
        return None

    async def _message(self, request: Request) -> Response:
        if (refused := self._unauthorised(request)) is not None:
            return refused
        body = await request.json()
        if request.path_params["number"] != PHONE_NUMBER_ID:
            return JSONResponse({"error": {"message": "Unknown phone number", "code": 100}}, 400)
        if body.get("to") in self.refuse_to:
            error = {
                "message": "Message failed to send because more than 24 hours have passed",
                "type": "OAuthException",
                "code": 131047,
            }
            return JSONResponse({"error": error}, status_code=400)
        self.sent.append(body)
        self.arrived.set()
        wamid = f"wamid.OUT{len(self.sent)}"
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": wamid}],
            }
        )

    async def _upload(self, request: Request) -> Response:
        if (refused := self._unauthorised(request)) is not None:
            return refused
        self.uploads.append(await request.body())
        return JSONResponse({"id": f"up-{len(self.uploads)}"})

    async def _media_info(self, request: Request) -> Response:
        if (refused := self._unauthorised(request)) is not None:
            return refused
        media_id = request.path_params["media_id"]
        self.media_gets += 1
        if self.failures.get(media_id, 0) > 0:
            self.failures[media_id] -= 1
            return JSONResponse({"error": {"message": "Service unavailable", "code": 2}}, 503)
        if media_id not in self.media:
            return JSONResponse({"error": {"message": "Unknown media", "code": 100}}, 404)
        data, mime = self.media[media_id]
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.base}/files/{media_id}",
                "mime_type": mime,
                "sha256": hashlib.sha256(data).hexdigest(),
                "file_size": len(data),
                "id": media_id,
            }
        )

    async def _media_bytes(self, request: Request) -> Response:
        if (refused := self._unauthorised(request)) is not None:
            return refused
        data, mime = self.media[request.path_params["media_id"]]
        return Response(data, media_type=mime)


@dataclass
class FakeGateway:
    """A generic provider's endpoint for the signed outbound webhook."""

    secret: str
    base: str = ""
    sent: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/outbound", self._outbound, methods=["POST"])])

    async def _outbound(self, request: Request) -> Response:
        raw = await request.body()
        if request.headers.get("x-omnidesk-signature") != sign(self.secret, raw):
            self.bad_signatures += 1
            return JSONResponse({"error": "bad signature"}, status_code=401)
        self.sent.append(json.loads(raw))
        return JSONResponse({"id": f"gw-{len(self.sent)}"})


@contextmanager
def serve(app: Starlette) -> Iterator[str]:
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    started = threading.Event()
    try:
        for _ in range(500):
            if server.started or not thread.is_alive():
                break
            started.wait(0.01)
        assert server.started, "the fake provider did not start"
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def whatsapp_delivery(
    *,
    messages: list[dict[str, Any]] = (),
    statuses: list[dict[str, Any]] = (),  # type: ignore[assignment]
    contacts: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE_NUMBER_ID},
    }
    if contacts:
        value["contacts"] = list(contacts)
    if messages:
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA-1", "changes": [{"value": value, "field": "messages"}]}],
    }


def text_message(wamid: str, sender: str, body: str, ts: int = 1_765_000_000) -> dict[str, Any]:
    return {
        "from": sender,
        "id": wamid,
        "timestamp": str(ts),
        "type": "text",
        "text": {"body": body},
    }


def signed(body: dict[str, Any], secret: str = APP_SECRET) -> tuple[bytes, str]:
    raw = json.dumps(body).encode()
    return raw, sign(secret, raw)
