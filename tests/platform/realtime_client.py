"""A minimal realtime client for tests: applies directory events to a snapshot like a browser."""

from __future__ import annotations

import copy
from typing import Any


class ViewClient:
    def __init__(self, ws: Any, viewer_id: str) -> None:
        self.ws = ws
        self.viewer = viewer_id
        self.state: dict[str, Any] = {}
        self.last_event_id: int | None = None
        self.events: list[dict[str, Any]] = []
        self.snapshots: list[dict[str, Any]] = []

    def register(self, last_event_id: int | None = None) -> dict[str, Any]:
        self.ws.send_json({"type": "register", "last_event_id": last_event_id})
        self.last_event_id = last_event_id
        if last_event_id is None:
            first = self.ws.receive_json()
            self.handle(first)
            return first
        return {}

    def handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "snapshot":
            self.snapshots.append(message)
            self.state = copy.deepcopy(message["state"]["directory"])
            self.last_event_id = message["last_event_id"]
        elif kind == "event":
            assert self.last_event_id is None or message["id"] > self.last_event_id, (
                f"event {message['id']} after {self.last_event_id}: duplicate or out of order"
            )
            self.events.append(message)
            self.last_event_id = message["id"]
            if self.state:
                apply(self.state, message, self.viewer)
        elif kind == "error":
            raise AssertionError(f"server error: {message}")

    def sync(self) -> int:
        """Ping and apply everything that arrives before the pong; returns the server cursor."""
        self.ws.send_json({"type": "ping"})
        while True:
            message = self.ws.receive_json()
            if message["type"] == "pong":
                return int(message["last_event_id"])
            self.handle(message)


def _is_admin(view: dict[str, Any], viewer: str) -> bool:
    return view["users"].get(viewer, {}).get("role") == "admin"


def _prune(view: dict[str, Any], viewer: str) -> None:
    if _is_admin(view, viewer):
        return
    keep = {viewer}
    if view["users"].get(viewer, {}).get("role") == "supervisor":
        for team in view["teams"].values():
            if team["members"].get(viewer) == "supervisor":
                keep.update(team["members"])
    view["users"] = {k: v for k, v in view["users"].items() if k in keep}


def apply(view: dict[str, Any], message: dict[str, Any], viewer: str) -> None:
    name, data = message["event"], message["data"]
    if name.startswith("analytics."):
        # The KPI ingester's figures (a team's whenever its members change, every team's on
        # its first batch of a tenant) update the snapshot's `analytics` section, which this
        # client does not keep; tests/analytics/test_live_figures.py checks that section.
        return
    if name in ("user.created", "user.updated"):
        view["users"][data["user"]["id"]] = data["user"]
    elif name == "team.created":
        view["teams"][data["team_id"]] = {
            "id": data["team_id"],
            "name": data["name"],
            "members": {},
        }
    elif name == "team.renamed":
        view["teams"][data["team_id"]]["name"] = data["name"]
    elif name == "team.deleted":
        view["teams"].pop(data["team_id"], None)
        _prune(view, viewer)
    elif name == "team.member_set":
        team = view["teams"].setdefault(
            data["team_id"], {"id": data["team_id"], "name": data["team_name"], "members": {}}
        )
        team["members"][data["user"]["id"]] = data["role"]
        view["users"][data["user"]["id"]] = data["user"]
    elif name == "team.member_removed":
        team = view["teams"][data["team_id"]]
        team["members"].pop(data["user_id"], None)
        if data["user_id"] == viewer and not _is_admin(view, viewer):
            view["teams"].pop(data["team_id"])
        _prune(view, viewer)
    else:
        raise AssertionError(f"unexpected event {name}")
