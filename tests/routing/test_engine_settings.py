"""One set of routing engine settings for the server and the digital twin.

The server's engine is built as production builds it (settings loaded from the environment,
the app's routing service, a tenant's host); the twin's as `omnidesk simulate` builds it (a
scenario without an `engine:` section). They must run with the same settings, so that a
simulation behaves like the server unless its scenario says otherwise.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from omnidesk.app import create_app
from omnidesk.core.routing import EngineSettings
from omnidesk.directory.demo import load_demo
from omnidesk.platform.database import SYSTEM
from omnidesk.platform.settings import Settings, load_settings
from omnidesk.platform.tenancy import Tenant
from omnidesk.wfm.twin import study_from_data

# A scenario as small as the twin takes: no `engine:` section, so the twin's defaults apply.
SCENARIO: dict[str, Any] = {
    "start": "2025-01-06T08:00:00+00:00",
    "intervals": 1,
    "queues": [{"id": "q", "channels": ["voice"]}],
    "agents": [{"id": "a", "capacity": {"voice": 1}, "queues": ["q"]}],
    "contacts": [
        {"queue": "q", "channel": "voice", "rates": 1, "handle": {"kind": "fixed", "value": 60}}
    ],
}
# What the test fixture sets (tests/conftest.py): the rest comes from the environment.
_FIXTURE_FIELDS = {
    "database_url",
    "data_dir",
    "auto_migrate",
    "argon2_time_cost",
    "argon2_memory_kib",
    "argon2_parallelism",
}


def server_settings(client: TestClient, app: FastAPI) -> EngineSettings:
    """The settings of the demo tenant's engine, as the running server holds it."""
    routing = app.state.routing

    async def find() -> EngineSettings:
        session = app.state.services.db.session(SYSTEM)
        try:
            tenant_id: uuid.UUID | None = await session.scalar(
                select(Tenant.id).where(Tenant.slug == "demo")
            )
        finally:
            await session.close()
        assert tenant_id is not None
        host = await routing.host(tenant_id)
        settings: EngineSettings = host.engine.settings
        return settings

    result: EngineSettings = client.portal.call(find)  # type: ignore[union-attr]
    return result


def test_the_twin_runs_with_the_servers_engine_settings(
    client: TestClient, app: FastAPI, tenants: dict[str, Any]
) -> None:
    server = server_settings(client, app)
    twin = study_from_data(SCENARIO).baseline.engine_settings
    assert twin == server
    # And both are the engine's documented defaults (production's).
    assert server == EngineSettings()


def test_the_server_takes_its_engine_settings_from_the_product_settings(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNIDESK_ROUTING_MISSED_STATE", "available")
    monkeypatch.setenv("OMNIDESK_ROUTING_TICK_SECONDS", "5")
    changed = load_settings(None, **settings.model_dump(include=_FIXTURE_FIELDS))
    app = create_app(changed)
    with TestClient(app) as client:
        client.portal.call(load_demo, app.state.services.db, "demo")  # type: ignore[union-attr]
        engine_settings = server_settings(client, app)
    assert engine_settings == EngineSettings(missed_state="available", tick_seconds=5.0)
