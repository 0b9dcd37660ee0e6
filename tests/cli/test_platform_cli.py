"""`omnidesk serve|migrate|create-tenant|create-user|demo` through typer's CliRunner.

Commands that touch a database run on every backend (the `database_url` fixture), and what they
create is then used through the HTTP API, as an operator would.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from omnidesk.cli import platform_cmds
from omnidesk.directory.models import User
from omnidesk.platform import migrate
from omnidesk.platform.app import create_app
from omnidesk.platform.database import SCOPE_KEY, SYSTEM, Database
from omnidesk.platform.settings import load_settings
from omnidesk.platform.tenancy import tenant_by_slug

# Cheap password hashing for the commands (they read OMNIDESK_* like in production).
ENV = {
    "OMNIDESK_ARGON2_TIME_COST": "1",
    "OMNIDESK_ARGON2_MEMORY_KIB": "8",
    "OMNIDESK_ARGON2_PARALLELISM": "1",
}
runner = CliRunner()


@pytest.fixture(scope="module")
def cli() -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """Stand-in for the omnidesk main app."""

    platform_cmds.register(root)
    return root


def run(cli: typer.Typer, *args: str, env: dict[str, str] | None = None) -> Any:
    result = runner.invoke(cli, list(args), env={**ENV, **(env or {})})
    # Exit codes are ours, never an unhandled exception's traceback.
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result


def flat(text: str) -> str:
    """rich wraps long lines at the terminal width; compare with whitespace collapsed."""
    return " ".join(text.split())


def _usernames(url: str, slug: str) -> list[str] | None:
    async def go() -> list[str] | None:
        db = Database(url)
        session = db.session(SYSTEM)
        try:
            tenant = await tenant_by_slug(session, slug)
            if tenant is None:
                return None
            session.info[SCOPE_KEY] = tenant.id
            return sorted((await session.scalars(select(User.username))).all())
        finally:
            await session.close()
            await db.dispose()

    return asyncio.run(go())


def _login(url: str, tenant: str, username: str, password: str) -> Any:
    app = create_app(load_settings(None, database_url=url, auto_migrate=False))
    with TestClient(app) as client:
        return client.post(
            "/api/v1/auth/login",
            json={"tenant": tenant, "username": username, "password": password},
        )


def test_help(cli) -> None:
    result = run(cli, "--help")
    assert result.exit_code == 0
    for command in ("serve", "migrate", "create-tenant", "create-user", "demo"):
        assert command in result.stdout
        assert run(cli, command, "--help").exit_code == 0
    serve = flat(run(cli, "serve", "--help").stdout)
    for option in ("--host", "--port", "--database-url", "--config", "--demo"):
        assert option in serve


def test_migrate_creates_and_upgrades_a_sqlite_database(cli, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/new/omnidesk.db"
    for _ in range(2):  # idempotent
        result = run(cli, "migrate", "--database-url", url)
        assert result.exit_code == 0, result.output
        assert f"revision {migrate.head_revision()}" in result.stdout
    assert migrate.current_revision(url) == migrate.head_revision()


def test_migrate_bad_database_exits_nonzero_without_leaking_the_password(cli) -> None:
    result = run(cli, "migrate", "--database-url", "mysql://root@localhost/omnidesk")
    assert result.exit_code == 1
    assert "unsupported database" in flat(result.stderr)
    result = run(
        cli, "migrate", "--database-url", "postgresql://omnidesk:s3cret-pw@127.0.0.1:1/omnidesk"
    )
    assert result.exit_code == 1
    assert "cannot migrate" in flat(result.stderr)
    assert "s3cret-pw" not in result.output


def test_bad_settings_exit_2(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("port: [8000\n")
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("prot: 8000\n")
    for config, message in [
        (bad, "not valid YAML"),
        (unknown, "prot"),
        (tmp_path / "missing.yaml", "cannot read"),
    ]:
        result = run(cli, "migrate", "--config", str(config))
        assert result.exit_code == 2, result.output
        assert message in flat(result.stderr)
    result = run(cli, "migrate", env={"OMNIDESK_PORT": "not-a-port"})
    assert result.exit_code == 2 and "port" in flat(result.stderr)


def test_create_tenant_and_users_who_can_log_in(cli, database_url: str) -> None:
    db = ["--database-url", database_url]
    result = run(cli, "create-tenant", "--slug", "acme", "--name", "Acme Inc.", *db)
    assert result.exit_code == 0, result.output
    assert "tenant acme created" in result.stdout
    result = run(
        cli,
        "create-user",
        "--tenant",
        "acme",
        "--username",
        "boss",
        "--role",
        "admin",
        "--display-name",
        "The Boss",
        "--password",
        "boss-password-1",
        *db,
    )
    assert result.exit_code == 0, result.output
    assert "user boss (admin) created in acme" in result.stdout
    # The password can come from the environment (not the process list); the role defaults to agent.
    result = run(
        cli,
        "create-user",
        "--tenant",
        "acme",
        "--username",
        "ann",
        *db,
        env={"OMNIDESK_PASSWORD": "ann-password-1"},
    )
    assert result.exit_code == 0, result.output
    assert "user ann (agent) created" in result.stdout
    assert _usernames(database_url, "acme") == ["ann", "boss"]

    response = _login(database_url, "acme", "boss", "boss-password-1")
    assert response.status_code == 200, response.text
    assert response.json()["user"]["role"] == "admin"
    assert response.json()["user"]["display_name"] == "The Boss"
    assert _login(database_url, "acme", "ann", "ann-password-1").json()["user"]["role"] == "agent"


def test_create_tenant_bad_input(cli, database_url: str) -> None:
    db = ["--database-url", database_url]
    assert run(cli, "create-tenant", "--slug", "acme", "--name", "Acme", *db).exit_code == 0
    cases = [
        (["--slug", "acme", "--name", "Again"], "already exists"),
        (["--slug", "Not A Slug", "--name", "X"], "slug"),
        (["--slug", "[/x]", "--name", "X"], "[/x]"),  # quoted as-is, not parsed as markup
        (["--slug", "blank", "--name", "   "], "name"),
    ]
    for args, message in cases:
        result = run(cli, "create-tenant", *args, *db)
        assert result.exit_code != 0, result.output
        assert message in flat(result.stderr), result.stderr
    assert _usernames(database_url, "blank") is None
    missing = run(cli, "create-tenant", "--name", "No slug", *db)
    assert missing.exit_code == 2 and "--slug" in flat(missing.output)


def test_create_user_bad_input(cli, database_url: str) -> None:
    db = ["--database-url", database_url]
    assert run(cli, "create-tenant", "--slug", "acme", "--name", "Acme", *db).exit_code == 0
    ok = ["--tenant", "acme", "--username", "ann", "--password", "ann-password-1"]
    assert run(cli, "create-user", *ok, *db).exit_code == 0
    cases = [
        (
            ["--tenant", "nowhere", "--username", "bob", "--password", "bob-password-1"],
            1,
            "no tenant 'nowhere'",
        ),
        (["--tenant", "acme", "--username", "ann", "--password", "other-password"], 1, "taken"),
        (
            [
                "--tenant",
                "acme",
                "--username",
                "bob",
                "--role",
                "boss",
                "--password",
                "bob-password-1",
            ],
            2,
            "role",
        ),
        (["--tenant", "acme", "--username", "bob", "--password", "short"], 2, "password"),
        (
            ["--tenant", "acme", "--username", "Bob Smith", "--password", "bob-password-1"],
            2,
            "username",
        ),
    ]
    for args, code, message in cases:
        result = run(cli, "create-user", *args, *db)
        assert result.exit_code == code, result.output
        assert message in flat(result.stderr), result.stderr
    assert _usernames(database_url, "acme") == ["ann"]


def test_demo_prints_logins_that_work_and_refuses_a_second_load(cli, database_url: str) -> None:
    result = run(cli, "demo", "--database-url", database_url)
    assert result.exit_code == 0, result.output
    rows = {}
    for line in result.stdout.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if len(cells) == 4 and cells[0] == "demo":
            rows[cells[1]] = (cells[2], cells[3])
    assert {u: role for u, (role, _) in rows.items()} == {
        "admin": "admin",
        "supervisor": "supervisor",
        "agent1": "agent",
        "agent2": "agent",
    }
    response = _login(database_url, "demo", "admin", rows["admin"][1])
    assert response.status_code == 200, response.text
    again = run(cli, "demo", "--database-url", database_url)
    assert again.exit_code == 1
    assert "already exists" in flat(again.stderr)
    assert rows["admin"][1] not in again.output
