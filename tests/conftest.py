"""Test fixtures: every database test runs once per backend, each on a fresh, migrated database.

SQLite: a copy of a migrated template file. PostgreSQL: `CREATE DATABASE … TEMPLATE` from a
migrated template database (OMNIDESK_TEST_POSTGRES_URL, default the local `test` database's
server). OMNIDESK_TEST_BACKENDS=sqlite runs SQLite only.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import make_url

from omnidesk.app import create_app
from omnidesk.directory.demo import load_demo
from omnidesk.platform import migrate
from omnidesk.platform.database import SYSTEM, Database
from omnidesk.platform.settings import Settings, load_settings
from omnidesk.platform.tenancy import Tenant as TenantRow

BACKENDS = [
    b.strip()
    for b in os.environ.get("OMNIDESK_TEST_BACKENDS", "sqlite,postgresql").split(",")
    if b.strip()
]
PG_URL = os.environ.get("OMNIDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
_counter = itertools.count()
_RUN = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"


def _pg_admin() -> psycopg.Connection[Any]:
    url = make_url(PG_URL)
    return psycopg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        dbname=url.database,
        autocommit=True,
    )


def _pg_url(dbname: str) -> str:
    return make_url(PG_URL).set(database=dbname).render_as_string(False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    name = f"omnidesk_tpl_{_RUN}"
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    migrate.upgrade(_pg_url(name))
    yield name
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        target = tmp_path / "omnidesk.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    if request.param != "postgresql":
        raise pytest.UsageError(f"unknown backend {request.param}")
    template = request.getfixturevalue("pg_template")
    name = f"omnidesk_t_{_RUN}_{next(_counter)}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield _pg_url(name)
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """The test's database, for tests below the app (e.g. a routing host on its own)."""
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # The cheapest argon2 cost keeps the suite fast; production cost is the default.
    return load_settings(
        None,
        database_url=database_url,
        data_dir=tmp_path / "data",
        auto_migrate=False,
        login_max_failures=5,
        argon2_time_cost=1,
        argon2_memory_kib=8,
        argon2_parallelism=1,
    )


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@dataclass
class Tenant:
    slug: str
    passwords: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def tenants(client: TestClient, app: FastAPI) -> dict[str, Tenant]:
    """Two demo tenants, 'demo' and 'other', each with admin, supervisor, agent1, agent2."""
    db = app.state.services.db
    result = {}
    for slug in ("demo", "other"):
        logins = client.portal.call(load_demo, db, slug)  # type: ignore[union-attr]
        result[slug] = Tenant(slug, {login.username: login.password for login in logins})
    for tenant in result.values():
        admin = login(client, tenant.slug, "admin", tenant.passwords["admin"])
        for user in admin.get("/api/v1/users").json():
            tenant.ids[user["username"]] = user["id"]
        tenant.ids["team"] = admin.get("/api/v1/teams").json()[0]["id"]
    return result


async def _tenant_id(db: Database, slug: str) -> uuid.UUID:
    async with db.session(SYSTEM) as session:
        found = await session.scalar(select(TenantRow.id).where(TenantRow.slug == slug))
    assert found is not None, slug
    return found


@pytest.fixture
def overloaded(client: TestClient, app: FastAPI, tenants: dict[str, Tenant]) -> Any:
    """`with overloaded():` the demo tenant's routing has more commands in line than
    `routing_max_backlog` allows (as if a burst were waiting), so new contacts are shed."""

    @contextlib.contextmanager
    def busy(slug: str = "demo") -> Iterator[None]:
        routing = app.state.routing
        tenant_id = client.portal.call(_tenant_id, app.state.services.db, slug)  # type: ignore[union-attr]
        host = routing.loaded_host(tenant_id)
        extra = routing.max_backlog + 1
        host.backlog += extra
        try:
            yield
        finally:
            host.backlog -= extra

    return busy


class As:
    """Requests as one logged-in user (explicit cookie + CSRF header, nothing shared)."""

    def __init__(self, client: TestClient, cookie: str, csrf: str, name: str) -> None:
        self.client = client
        self.cookie = cookie
        self.csrf = csrf
        self.name = name

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"cookie": f"omnidesk_session={self.cookie}", "X-CSRF-Token": self.csrf}
        headers.update(extra or {})
        return headers

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        headers = self.headers(kwargs.pop("headers", None))
        self.client.cookies.clear()
        return self.client.request(method, url, headers=headers, **kwargs)

    def get(self, url: str, **kw: Any) -> Any:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> Any:
        return self.request("POST", url, **kw)

    def patch(self, url: str, **kw: Any) -> Any:
        return self.request("PATCH", url, **kw)

    def put(self, url: str, **kw: Any) -> Any:
        return self.request("PUT", url, **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        return self.request("DELETE", url, **kw)

    def websocket(self, path: str = "/api/v1/realtime") -> Any:
        self.client.cookies.clear()
        return self.client.websocket_connect(
            path, headers={"cookie": f"omnidesk_session={self.cookie}"}
        )


def login(client: TestClient, tenant: str, username: str, password: str) -> As:
    client.cookies.clear()
    response = client.post(
        "/api/v1/auth/login", json={"tenant": tenant, "username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    cookie = response.cookies["omnidesk_session"]
    client.cookies.clear()
    return As(client, cookie, response.json()["csrf_token"], f"{tenant}/{username}")


@pytest.fixture
def as_user(client: TestClient, tenants: dict[str, Tenant]):  # type: ignore[no-untyped-def]
    cache: dict[tuple[str, str], As] = {}

    def get(username: str, tenant: str = "demo") -> As:
        key = (tenant, username)
        if key not in cache:
            cache[key] = login(client, tenant, username, tenants[tenant].passwords[username])
        return cache[key]

    return get
