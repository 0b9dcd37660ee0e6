"""Records real realtime sessions for the store's tests (src/realtime/store.test.ts).

For each viewer (admin, supervisor, agent1) of the demo tenant: the messages its socket got
while the routing flow of tests/routing/test_routing_realtime.py ran (the first snapshot, then
every event), and a fresh snapshot taken afterwards. The store must turn the first into the
second. Run from the repository root after a protocol change, and commit the output:

    PYTHONPATH=src:tests:tests/routing .venv/bin/python web/scripts/record_realtime.py \
        web/src/realtime/fixtures/sessions.json
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from test_routing_realtime import first_part, second_part, setup_routing  # type: ignore

from conftest import login  # type: ignore
from omnidesk.app import create_app
from omnidesk.directory.demo import load_demo
from omnidesk.platform.settings import load_settings

VIEWERS = ("admin", "supervisor", "agent1")


def receive_until_pong(ws: Any, into: list[dict[str, Any]]) -> None:
    ws.send_json({"type": "ping"})
    while (message := ws.receive_json())["type"] != "pong":
        into.append(message)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            None,
            database_url=f"sqlite:///{Path(tmp) / 'omnidesk.db'}",
            data_dir=Path(tmp) / "data",
            argon2_time_cost=1,
            argon2_memory_kib=8,
            argon2_parallelism=1,
        )
        with TestClient(create_app(settings)) as client:
            app: Any = client.app
            logins = client.portal.call(load_demo, app.state.services.db, "demo")  # type: ignore[union-attr]
            passwords = {entry.username: entry.password for entry in logins}
            users: dict[str, Any] = {}

            def as_user(name: str) -> Any:
                if name not in users:
                    users[name] = login(client, "demo", name, passwords[name])
                return users[name]

            ids = {u["username"]: u["id"] for u in as_user("admin").get("/api/v1/users").json()}
            sockets = {v: as_user(v).websocket().__enter__() for v in VIEWERS}
            recorded: dict[str, list[dict[str, Any]]] = {v: [] for v in VIEWERS}
            for viewer, ws in sockets.items():
                ws.send_json({"type": "register", "last_event_id": None})
                recorded[viewer].append(ws.receive_json())
            world = setup_routing(as_user, client, ids)
            first_part(as_user, world)
            second_part(as_user, world)
            sessions = []
            for viewer, ws in sockets.items():
                receive_until_pong(ws, recorded[viewer])
                ws.__exit__(None, None, None)
                with as_user(viewer).websocket() as fresh_ws:
                    fresh_ws.send_json({"type": "register", "last_event_id": None})
                    fresh = fresh_ws.receive_json()
                sessions.append(
                    {
                        "viewer": viewer,
                        "viewer_id": world["ids"][viewer],
                        "messages": recorded[viewer],
                        "fresh": fresh,
                    }
                )
    # Logs go to stdout: the recording goes to the file named on the command line.
    Path(sys.argv[1]).write_text(json.dumps(sessions, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
